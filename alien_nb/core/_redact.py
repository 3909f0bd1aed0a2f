"""Find and mask secrets in text, in the forms they leak in.

A password can reach a notebook as itself, percent-encoded inside a URL,
form-encoded, JSON-escaped, or base64-encoded inside a saved attachment or
widget state. `secret_forms` lists those spellings; `Redactor` masks them.
"""

from __future__ import annotations

import base64
import html
import json
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:
    from pydantic import SecretStr

MASK = "********"
# Shorter strings are too likely to occur by chance to be worth masking.
MIN_SECRET_LENGTH = 4


def _base64_forms(raw: bytes) -> set[str]:
    # A secret inside a larger base64 blob is encoded at one of three byte
    # offsets; keep only the characters that depend on the secret alone.
    forms = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        start = -(-4 * offset // 3)  # first character made of secret bits only
        end = 4 * (offset + len(raw)) // 3  # one past the last such character
        core = encoded[start:end] if end > start else ""
        for text in (core, core.replace("+", "-").replace("/", "_")):
            if len(text) >= MIN_SECRET_LENGTH:
                forms.add(text)
    whole = base64.b64encode(raw).decode("ascii")
    forms.update({whole, whole.rstrip("="), base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")})
    return forms


def secret_forms(secret: str) -> set[str]:
    """The spellings in which ``secret`` may appear in saved text."""
    if len(secret) < MIN_SECRET_LENGTH:
        return set()
    raw = secret.encode("utf-8", "surrogatepass")
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret, quote=False),
        html.escape(secret, quote=True),
        secret.replace("'", "''"),  # inside an SQL string literal
    }
    forms |= _base64_forms(raw)
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


class Redactor:
    """Masks every known secret, in every form, in a piece of text.

    Thread-safe; secrets are added as they are handled and never removed.
    """

    def __init__(self, secrets: Iterable[str | SecretStr] = ()) -> None:
        self._lock = threading.Lock()
        self._forms: tuple[str, ...] = ()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | SecretStr | None) -> None:
        if secret is None:
            return
        # Duck-typed, so the notebook extension loads without pydantic.
        raw = secret.get_secret_value() if hasattr(secret, "get_secret_value") else secret
        new = secret_forms(raw)
        with self._lock:
            # Longest first, so a form is masked before any part of it is.
            self._forms = tuple(sorted(set(self._forms) | new, key=len, reverse=True))

    def __len__(self) -> int:
        return len(self._forms)

    def __repr__(self) -> str:
        return f"<Redactor with {len(self._forms)} secret forms>"

    def redact(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def contains_secret(self, text: str | bytes) -> bool:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return any(form in text for form in self._forms)
