from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from alien_nb.core import MASK, Redactor, secret_forms

SECRET = "Xk3Pq9Lm2Nb7Vc4Zr8Tw1Ys6"


def test_masks_every_spelling() -> None:
    secret = "p@ss word/ü+1"
    redactor = Redactor([SecretStr(secret), "Tr0ub4dor&3<x>"])
    for text in (
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps({"pw": secret}),
        base64.b64encode(secret.encode()).decode(),
        "<td>Tr0ub4dor&amp;3&lt;x&gt;</td>",
    ):
        assert redactor.contains_secret(text)
        assert secret not in redactor.redact(f"before {text} after")
        assert MASK in redactor.redact(text)


@settings(deadline=None)
@given(prefix=st.binary(max_size=10), suffix=st.binary(max_size=10))
def test_finds_a_secret_inside_a_larger_base64_blob(prefix: bytes, suffix: bytes) -> None:
    blob = base64.b64encode(prefix + SECRET.encode() + suffix).decode()
    assert Redactor([SECRET]).contains_secret(blob)


def test_short_strings_are_not_secrets() -> None:
    assert secret_forms("abc") == set()
    assert len(Redactor(["", None, "abc"])) == 0  # type: ignore[list-item]


def test_repr_shows_no_secret() -> None:
    redactor = Redactor([SECRET])
    assert SECRET not in repr(redactor)


def test_bytes_input() -> None:
    assert Redactor([SECRET]).contains_secret(("x" + SECRET).encode())
