"""Attacks on the kernel scrubber: every way a password handled by alien_nb could reach iopub.

Each cell below is one attempt, in a real kernel driven by nbclient, with the
widget state saved. Four passwords are handled four ways, three of them
before ``%load_ext alien_nb`` (the registry predates the extension):

* ``a`` through ``alien_nb.get_postgres_connection`` (a binding in the environment),
* ``b`` through ``alien_nb.parse_binding``, ``c`` through ``Resolver().resolve``,
* ``d`` only in a local database's ``metadata.json`` (read at ``%load_ext``).

Documented limits, not asserted as masked: a reversed (or otherwise
transformed) password, such as ``repr(pw)[::-1]``; fd-level writes
(``os.write(1, ...)``, ``sys.__stdout__``) reach iopub masked but ipykernel
also echoes them to the kernel's own terminal (the Jupyter server log) as
they were; compressed forms inside images are found by the audit, not
masked on the wire.
"""

from __future__ import annotations

import json
import secrets
import string
from pathlib import Path
from typing import Any

import pytest

from alien_nb.core import MASK
from tests.adversarial.scrub_kit import RecordingClient, assert_nowhere, leaks, message_text, run


def token(n: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))


def external(password: str) -> dict[str, Any]:
    return {"service": "external", "host": "db.example.com", "port": 5432, "database": "d", "username": "u",
            "password": password}  # fmt: skip


SETUP = [
    # The raw values arrive through a plain file: reading it registers nothing.
    "import json, os, sys\nraw = json.load(open(os.environ['SCRUB_RAW']))",
    "import alien_nb\nfrom alien_nb.resolver import Resolver\n"
    "a = alien_nb.get_postgres_connection('ext').password.get_secret_value()\n"
    "b = alien_nb.parse_binding(raw['b_binding']).runtime_json().get_secret_value()\n"
    "b = json.loads(b)['password']\n"
    "c = Resolver().resolve(raw['c_binding']).password.get_secret_value()\n"
    "d = json.load(open(os.path.join(os.environ['ALIEN_NB_HOME'], 'postgres', 'planted', 'metadata.json')))"
    "['password']\nPWS = [a, b, c, d]",
    # A widget made before any password was known, and before the extension.
    "import ipywidgets as w\nearly = w.Textarea()\nearly",
    "%load_ext alien_nb",
]

ATTACKS = [
    "for pw in PWS:\n    print(pw); print(repr(pw)); print(pw.encode()); print(bytearray(pw.encode()))",
    "PWS",
    "display(*PWS)",
    "import base64\nfrom urllib.parse import quote, quote_plus\nfor pw in PWS:\n"
    "    raw_pw = pw.encode()\n"
    "    print(quote(pw, safe=''), quote_plus(pw), base64.b64encode(raw_pw).decode(),\n"
    "          base64.b64encode(b'x' + raw_pw).decode(), base64.b64encode(b'xy' + raw_pw).decode(),\n"
    "          base64.urlsafe_b64encode(raw_pw).decode(), raw_pw.hex(), raw_pw.hex().upper())",
    "display({'text/plain': a, 'text/html': f'<b>{b}</b>', 'application/json': {'k': c, d: 1}}, raw=True)",
    "from IPython.display import publish_display_data\n"
    "publish_display_data({'text/plain': d, 'text/markdown': a}, metadata={'note': b})",
    "from IPython.display import HTML, JSON, Javascript, Markdown, display, update_display\n"
    "display(Markdown(f'**{a}**'), HTML(f'<i>{b}</i>'), JSON({'pw': c}), Javascript(f'console.log({d!r})'))",
    "h = display('placeholder', display_id=True)\nh.update(a)\n"
    "update_display({'text/plain': b}, raw=True, display_id=h.display_id)",
    # A user's own widgets: every synced trait, Output captures, and the early widget.
    "url = f\"postgres://u:{quote(a, safe='')}@h/db\"\ntext = w.Text(value=url)\nout = w.Output()\n"
    "display(text, out, w.HTML(value=b), w.Label(c), w.Dropdown(options=[d, 'x']))\n"
    "out.append_stdout(url)\nout.append_display_data({'text/plain': b}) if hasattr(out, 'append_display_data') "
    "else None\nearly.value = a\nearly.description = c",
    "with out:\n    print(d)",
    # A raw comm with binary buffers.
    "from comm import create_comm\ncm = create_comm(target_name='alien-attack', data={'pw': a}, "
    "buffers=[b.encode()])\ncm.send({'again': c}, buffers=[memoryview(d.encode())])",
    # A thread that prints after its cell is over, between cells.
    "import threading\ngo, done = threading.Event(), threading.Event()\n"
    "def later():\n    go.wait(30)\n    print('later', a, flush=True)\n    sys.stderr.write(b + '\\n')\n"
    "    sys.stderr.flush()\n    done.set()\n"
    "threading.Thread(target=later, daemon=True).start()\n"
    "get_ipython().events.register('post_run_cell', lambda result: go.set())",
    "assert done.wait(30)",
    "import logging, warnings\nlogging.getLogger('attack').warning('connecting with %s', a)\n"
    "warnings.warn(f'pw {b}')",
    "os.write(1, f'fd-marker {a}\\n'.encode())\nos.write(2, f'{b}\\n'.encode())\n"
    "sys.__stdout__.write(c + '\\n')\nsys.__stdout__.flush()",
    "raise ValueError(a)",
    "err = RuntimeError('boom')\nerr.add_note(b)\nraise err",
    "raise ExceptionGroup('group', [KeyError(c), OSError(d)])",
    "raise Exception(a.encode())",
    # Partial forms: a cut-off string, a pandas frame that truncates, a stream split in two.
    "print(a[:17] + '...')",
    "print(''.join(f'%{x:02x}' for x in a.encode()), quote(b, safe='@/+ '), __import__('re').sub('%[0-9A-F]{2}', lambda m: m.group().lower(), quote(a, safe='')))",
    "import pandas as pd\npd.set_option('display.max_colwidth', 20)\npd.DataFrame({'p': PWS})",
    "print(b[:12], end='', flush=True)\nprint(b[12:], flush=True)",
    # A PNG whose text chunk holds the password, shown as an image (base64 on the wire).
    "import struct, zlib\nfrom IPython.display import Image\n"
    "def chunk(kind, body):\n"
    "    return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body))\n"
    "png = (b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 1, 1, 8, 0, 0, 0, 0))\n"
    "       + chunk(b'tEXt', b'Comment\\0' + c.encode()) + chunk(b'IDAT', zlib.compress(b'\\0\\0'))\n"
    "       + chunk(b'IEND', b''))\ndisplay(Image(data=png))",
    # One character per flush: each message alone holds no run of 8.
    "for ch in c:\n    print(ch, end='', flush=True)\nprint(flush=True)",
    # A child process writes to the kernel's fd 1, which ipykernel captures.
    "import subprocess\nsubprocess.run(['printf', '%s\\n', d], check=True)",
    # A progress bar (an ipywidget in a notebook) and a Password widget.
    "from tqdm.auto import tqdm\nfor _ in tqdm(range(2), desc=a):\n    pass\nw.Password(value=b)",
    "get_ipython().set_next_input(a)",  # a payload of the execute reply
    "%env",  # every variable, ALIEN_EXT_BINDING (with a's JSON) among them
    "print('reversed:', repr(a)[::-1])",  # out of scope, see the module docstring
    "print('round trip:', text.value == url, text.value.count('********'))",
    "sys.stdout.flush(); sys.stderr.flush()",
]


@pytest.fixture
def four_passwords(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    pws = {
        "a": f"{token(6)}@{token(5)}/{token(4)} {token(4)}+{token(3)}",
        "b": token(24),
        "c": token(24),
        "d": token(24),
    }
    home = tmp_path / "home"
    planted = home / "postgres" / "planted"
    planted.mkdir(parents=True)
    meta = planted / "metadata.json"
    meta.write_text(json.dumps({"resourceId": "planted", "version": "18", "port": 5999, "username": "postgres",
                                "password": pws["d"], "database": "planted", "dataDir": str(planted / "data")}))  # fmt: skip
    meta.chmod(0o600)
    raw = tmp_path / "raw.json"
    raw.write_text(json.dumps({"b_binding": json.dumps(external(pws["b"])), "c_binding": external(pws["c"])}))
    monkeypatch.setenv("ALIEN_NB_HOME", str(home))
    monkeypatch.setenv("ALIEN_EXT_BINDING", json.dumps(external(pws["a"])))
    monkeypatch.setenv("SCRUB_RAW", str(raw))
    return pws


def test_no_way_out_of_the_kernel(four_passwords: dict[str, str], tmp_path: Path) -> None:
    cells = SETUP + ATTACKS
    text_cell = cells.index(next(c for c in cells if c.startswith("url = ")))

    def frontend_echo(client: RecordingClient, cell_index: int) -> None:
        assert client.kc is not None
        if cell_index == len(SETUP):
            client.kc.inspect("a")  # the frontend's inspector (Shift+Tab): its reply shows the value
        # The frontend saw the masked URL; send it back as a user edit would.
        if cell_index != text_cell:
            return
        opened = [m for m in client.iopub if m["msg_type"] == "comm_open"
                  and m["content"]["data"]["state"].get("_model_name") == "TextModel"]  # fmt: skip
        comm_id = opened[-1]["content"]["comm_id"]
        masked = opened[-1]["content"]["data"]["state"]["value"]
        assert MASK in masked
        update = {"method": "update", "state": {"value": masked}, "buffer_paths": []}
        client.kc.shell_channel.send(client.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": update}))

    client, path = run(cells, tmp_path / "attacks.ipynb", after_cell=frontend_echo)
    saved = json.loads(path.read_text())
    outputs = [o for c in saved["cells"] for o in c.get("outputs", [])]
    names = {o.get("ename") for o in outputs if o["output_type"] == "error"}
    assert {"ValueError", "RuntimeError", "ExceptionGroup", "Exception"} <= names
    setup_errors = [
        o for c in saved["cells"][: len(SETUP)] for o in c.get("outputs", []) if o["output_type"] == "error"
    ]
    assert not setup_errors, setup_errors
    everything = "\n".join(message_text(m) for m in client.iopub)
    assert "fd-marker" in everything, "the fd-level write did not reach iopub"
    assert "later" in everything, "the background thread's output was not seen"
    assert "round trip: False 1" in everything, "the kernel did not survive the masked widget round trip"
    (inspected,) = [m for m in client.iopub if m["msg_type"] == "inspect_reply"]
    assert inspected["content"]["found"] and MASK in inspected["content"]["data"]["text/plain"]
    # The documented limit is what it says: a reversal is not recognised.
    assert leaks(everything, four_passwords["a"][::-1])
    assert_nowhere(client, path, four_passwords)
