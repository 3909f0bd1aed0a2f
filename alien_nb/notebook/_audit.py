"""``%alien_postgres audit``: find secrets in a saved notebook file.

Looks at every string in the file (cell sources, every output mimetype,
tracebacks, cell and notebook metadata, saved widget state), at base64
payloads decoded, and at the raw bytes, for the passwords this kernel has
handled (in every spelling) and for connection URLs with an inline password.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import MASK, AlienError, Redactor

_URL_WITH_PASSWORD = re.compile(
    r"postgres(?:ql)?(?:\+\w+)?://[^\s:/@'\"]*:(?P<pw>[^\s@/'\"]+)@", re.IGNORECASE
)
_MASKS = {"****", "***", MASK, "<redacted>", "%2A%2A%2A%2A"}
# f-strings, format strings and shell variables name a password without holding one.
_TEMPLATE = re.compile(r"\{[^{}]*\}|\$\{?\w+\}?|%s|%\(\w+\)s|<[\w-]+>")


@dataclass(frozen=True)
class Finding:
    location: str  # a JSON path such as cells[3].outputs[0].data.text/html
    kind: str  # "secret", "secret (base64 payload)", "url with password", "secret (raw bytes)"

    def __str__(self) -> str:
        return f"{self.location}: {self.kind}"


@dataclass(frozen=True)
class AuditReport:
    path: Path
    findings: tuple[Finding, ...]

    @property
    def clean(self) -> bool:
        return not self.findings

    def __repr__(self) -> str:
        if self.clean:
            return f"{self.path}: no secrets or inline-password URLs found"
        lines = [f"{self.path}: {len(self.findings)} finding(s)"]
        lines += [f"  {finding}" for finding in self.findings]
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


def _walk(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, list):
        if node and all(isinstance(x, str) for x in node):
            yield path, "".join(node)  # multi-line sources and outputs are lists of lines
            return
        for i, item in enumerate(node):
            yield from _walk(item, f"{path}[{i}]")
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}" if path else str(key))


def _b64_payload(text: str) -> bytes | None:
    compact = "".join(text.split())
    if len(compact) < 16 or len(compact) % 4 or not re.fullmatch(r"[A-Za-z0-9+/=]+", compact):
        return None
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None


def audit_notebook(path: str | Path, redactor: Redactor) -> AuditReport:
    """Scan a notebook file; raise `AlienError` if it is not a readable notebook."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        notebook = json.loads(raw)
    except FileNotFoundError:
        raise AlienError(
            f"No notebook at {path}.", hint="Save the notebook first, or give its path."
        ) from None
    except (OSError, ValueError) as exc:
        raise AlienError(f"Cannot read {path} as a notebook: {type(exc).__name__}.") from None
    findings: list[Finding] = []
    for location, text in _walk(notebook, ""):
        if redactor.contains_secret(text):
            findings.append(Finding(location, "secret"))
        payload = _b64_payload(text)
        if payload is not None and redactor.contains_secret(payload):
            findings.append(Finding(location, "secret (base64 payload)"))
        for match in _URL_WITH_PASSWORD.finditer(text):
            password = match.group("pw")
            if password not in _MASKS and not _TEMPLATE.fullmatch(password):
                findings.append(Finding(location, "url with password"))
                break
    if not findings and redactor.contains_secret(raw):
        findings.append(Finding("(file bytes)", "secret (raw bytes)"))
    return AuditReport(path, tuple(dict.fromkeys(findings)))
