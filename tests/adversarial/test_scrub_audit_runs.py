"""Compressed forms of a password inside larger text, past the review's four containers.

Pure: `audit_text` with a redactor that knows the password (the kernel path is
test_review_audit_containers.py).
"""

from __future__ import annotations

import base64
import gzip
import zlib
from urllib.parse import quote

import pytest

from alien_nb.core import Redactor
from alien_nb.notebook._audit import audit_text

PASSWORD = "Wm4kTq9zLp2XvB7nRc5hYd8G"
GZ = base64.b64encode(gzip.compress(PASSWORD.encode())).decode()
ZL = base64.b64encode(zlib.compress(PASSWORD.encode())).decode()
CASES = {
    "glued to other base64 text": f"id=abcDEF{GZ}",
    "urlsafe, unpadded, in JSON": '{"blob": "'
    + base64.urlsafe_b64encode(zlib.compress(PASSWORD.encode() * 9)).decode().rstrip("=")
    + '"}',
    "wrapped lines in a log": "payload:\n"
    + "\n".join(GZ[i : i + 12] for i in range(0, len(GZ), 12))
    + "\nend",
    "percent-encoded data URI": f'<a href="data:application/gzip;base64,{quote(GZ, safe="")}">x</a>',
    "two blobs, the second leaks": f"a={base64.b64encode(zlib.compress(b'harmless text here')).decode()} b={ZL}",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_compressed_password_inside_text_is_found(case: str) -> None:
    kinds = [f.kind for f in audit_text(CASES[case], Redactor([PASSWORD], share=False))]
    assert any("gzip" in k or "zlib" in k for k in kinds), kinds


def test_base64_runs_of_other_text_are_no_finding() -> None:
    text = " ".join(
        [GZ.replace("H4sI", "Ab1x"), "/usr/lib/python3.11/site-packages/x.py", "0123456789abcdef" * 4]
    )
    assert audit_text(text, Redactor([PASSWORD], share=False)) == []
