"""The audit finds what the scrubber cannot mask: compressed forms, in a notebook a real kernel saved.

The kernel has the extension loaded; the cells leak the password of a local
database (known from its ``metadata.json``) in forms no output filter can
recognise on the wire (gzip or zlib, then base64; compressed PNG text
chunks), next to forms it does mask. A fresh ``alien-nb audit`` process then
finds each leak, by place, without printing it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.adversarial.scrub_kit import leaks, run
from tests.adversarial.test_scrub_kernel import token

CELLS = [
    "%load_ext alien_nb",
    "import base64, gzip, json, os, struct, zlib\nfrom IPython.display import Image, display\n"
    "pw = json.load(open(os.path.join(os.environ['ALIEN_NB_HOME'], 'postgres', 'vault', 'metadata.json')))"
    "['password']",
    "print(base64.b64encode(gzip.compress(pw.encode())).decode())",
    "display({'application/json': {'blob': base64.b64encode(zlib.compress(b'pad' * 9 + pw.encode())).decode()}},"
    " raw=True)",
    "def chunk(kind, body):\n"
    "    return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body))\n"
    "def png(*chunks):\n"
    "    return (b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 1, 1, 8, 0, 0, 0, 0))\n"
    "            + b''.join(chunks) + chunk(b'IDAT', zlib.compress(b'\\0\\0')) + chunk(b'IEND', b''))\n"
    "display(Image(data=png(chunk(b'zTXt', b'Comment\\0\\0' + zlib.compress(pw.encode())))))",
    "display(Image(data=png(chunk(b'iTXt', b'Comment\\0\\1\\0en\\0\\0' + zlib.compress(pw.encode())))))",
    # Masked on the wire, so nothing for the audit to find here:
    "print(pw, pw.encode().hex(), pw[:10])\nprint(f'host=db user=app password={pw} dbname=x')",
]


def test_the_audit_finds_what_the_scrubber_cannot_mask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = token(24)
    home = tmp_path / "home"
    vault = home / "postgres" / "vault"
    vault.mkdir(parents=True)
    (vault / "metadata.json").write_text(json.dumps({"password": password}))
    (vault / "metadata.json").chmod(0o600)
    monkeypatch.setenv("ALIEN_NB_HOME", str(home))
    (tmp_path / "work").mkdir()
    _client, path = run(CELLS, tmp_path / "work" / "saved.ipynb")
    assert not leaks(path.read_text(), password)  # the plain forms were masked...
    done = subprocess.run([sys.executable, "-m", "alien_nb.cli", "--home", str(home), "audit", "--json",
                           str(tmp_path / "work")], capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert not leaks(done.stdout + done.stderr, password)
    (notebook,) = json.loads(done.stdout)["notebooks"]
    found = {(f["location"], f["kind"]) for f in notebook["findings"]}
    assert found == {  # ...and the compressed ones are found, each where it is
        ("cells[2].outputs[0].text", "secret (gzip+base64 payload)"),
        ("cells[3].outputs[0].data.application/json.blob", "secret (zlib+base64 payload)"),
        ("cells[4].outputs[0].data.image/png", "secret (PNG zTXt chunk)"),
        ("cells[5].outputs[0].data.image/png", "secret (PNG iTXt chunk)"),
    }
