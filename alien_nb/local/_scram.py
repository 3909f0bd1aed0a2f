"""SCRAM-SHA-256 verifiers (RFC 5802 / 7677), as Postgres stores them in pg_authid.

initdb is handed a verifier rather than the password: Postgres stores a
pre-hashed password as it is, so no file but metadata.json ever holds the
password itself, even for the moment a ``kill -9`` could freeze.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import stringprep
import unicodedata

from pydantic import SecretStr

ITERATIONS = 4096  # Postgres's scram_iterations default


def _saslprep(password: str) -> str:
    """RFC 4013 as Postgres applies it (pg_saslprep); the raw text when it does not apply."""
    if password.isascii():
        return password
    mapped = "".join(
        " " if stringprep.in_table_c12(ch) else ch for ch in password if not stringprep.in_table_b1(ch)
    )
    normal = unicodedata.normalize("NFKC", mapped)
    prohibited = (
        stringprep.in_table_c12, stringprep.in_table_c21_c22, stringprep.in_table_c3, stringprep.in_table_c4,
        stringprep.in_table_c5, stringprep.in_table_c6, stringprep.in_table_c7, stringprep.in_table_c8,
        stringprep.in_table_c9, stringprep.in_table_a1,
    )  # fmt: skip
    if not normal or any(check(ch) for ch in normal for check in prohibited):
        return password  # Postgres then uses the password as given
    bidi = any(stringprep.in_table_d1(ch) for ch in normal)
    if bidi and (
        not (stringprep.in_table_d1(normal[0]) and stringprep.in_table_d1(normal[-1]))
        or any(stringprep.in_table_d2(ch) for ch in normal)
    ):
        return password
    return normal


def scram_verifier(password: SecretStr, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`` for ``password``."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac(
        "sha256", _saslprep(password.get_secret_value()).encode("utf-8"), salt, iterations
    )
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"
