"""Review of issue 11, section 4: the audit's compressed forms in other containers.

The audit decodes a base64 payload only when a whole string is base64. The same gzip/zlib
blobs and PNG text chunks it finds on their own are missed when the string holds anything
else: the ``b'...'`` a print of bytes shows, a label before the blob, an HTML ``<img>``
or a Markdown image with a ``data:`` URI. The scrubber cannot mask these on the wire, so a
real kernel saves them and a fresh ``alien-nb audit`` reports the notebook clean.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.adversarial.scrub_kit import run
from tests.adversarial.test_scrub_kernel import token

SETUP = [
    "%load_ext alien_nb",
    "import base64, gzip, json, os, struct, zlib\nfrom IPython.display import HTML, Markdown, display\n"
    "pw = json.load(open(os.path.join(os.environ['ALIEN_NB_HOME'], 'postgres', 'vault', 'metadata.json')))"
    "['password']\n"
    "def chunk(kind, body):\n"
    "    return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body))\n"
    "png = (b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 1, 1, 8, 0, 0, 0, 0))\n"
    "       + chunk(b'zTXt', b'Comment\\0\\0' + zlib.compress(pw.encode())) + chunk(b'IDAT', zlib.compress(b'\\0\\0'))"
    " + chunk(b'IEND', b''))\nuri = 'data:image/png;base64,' + base64.b64encode(png).decode()",
]
LEAKS = {
    "bytes repr": "print(base64.b64encode(gzip.compress(pw.encode())))",
    "labelled": "print('state:', base64.b64encode(zlib.compress(pw.encode())).decode())",
    "html img": "display(HTML(f'<img src=\"{uri}\"/>'))",
    "markdown image": "display(Markdown(f'![plot]({uri})'))",
}


@pytest.mark.parametrize("case", sorted(LEAKS))
def test_the_audit_finds_compressed_forms_inside_larger_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    home = tmp_path / "home"
    vault = home / "postgres" / "vault"
    vault.mkdir(parents=True)
    (vault / "metadata.json").write_text(json.dumps({"password": token(24)}))
    (vault / "metadata.json").chmod(0o600)
    monkeypatch.setenv("ALIEN_NB_HOME", str(home))
    (tmp_path / "work").mkdir()
    run([*SETUP, LEAKS[case]], tmp_path / "work" / "saved.ipynb")
    done = subprocess.run([sys.executable, "-m", "alien_nb.cli", "--home", str(home), "audit",
                           str(tmp_path / "work")], capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 1, f"audit reported the notebook clean: {done.stdout}{done.stderr}"
