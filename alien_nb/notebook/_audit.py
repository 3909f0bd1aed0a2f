"""Find secrets in saved notebooks: the engine of ``alien-nb audit`` and ``%alien_postgres audit``.

Looks at every string in the file (cell sources, every output mimetype,
tracebacks, cell and notebook metadata, saved widget state) for the passwords
this process knows (`known_redactor`, in every spelling: plain, percent, JSON,
HTML, hex, base64, and runs of 8+ characters, so a 10-character prefix too),
then at what may hide one:

* base64 payloads, decoded, and decompressed when they are gzip or zlib data:
  a whole string, or every run of 16+ base64 characters inside one (a printed
  ``b'...'``, a labelled blob, a ``data:`` URI in HTML or Markdown);
* text chunks of PNG images (tEXt, zTXt, iTXt, compressed or not);
* a password split across two adjacent outputs of a cell;
* and, whether or not the password is known: a ``postgres://user:pw@`` URL,
  a libpq keyword string (``host=... password=...``), a JDBC URL or an ODBC
  connection string with an inline password that is not a mask or template.

A finding names the place (``cells[3].outputs[0].data.text/plain``) and the
kind, never the secret or any part of it. The payloads are unpacked in
`_payloads`, connection strings recognised in `_inline`.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

from ..core import AlienError, Redactor
from ._inline import inline_password_kinds
from ._payloads import payload_findings

__all__ = ["MAX_NOTEBOOK_BYTES", "AuditReport", "Finding", "NotebookUnreadable", "audit_notebook",
           "audit_text", "notebook_files"]  # fmt: skip

# A notebook is read whole (and parsed); bigger files are reported unreadable
# rather than exhausting memory (`/dev/zero`, a stray dump named *.ipynb).
MAX_NOTEBOOK_BYTES = 512 << 20
_TOO_LARGE = f"too large (over {MAX_NOTEBOOK_BYTES >> 20} MiB) to be a notebook"


class NotebookUnreadable(AlienError):
    """A file given to the audit is missing or not a notebook."""

    def __init__(self, path: Path, reason: str, *, hint: str | None = None) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"Cannot audit {path}: {reason}.", hint=hint)


@dataclass(frozen=True)
class Finding:
    location: str  # a JSON path such as cells[3].outputs[0].data.text/html
    kind: str  # what was found: "secret", "secret (gzip+base64 payload)", "url with password", ...

    def __str__(self) -> str:
        return f"{self.location}: {self.kind}"


@dataclass(frozen=True)
class AuditReport:
    path: Path
    findings: tuple[Finding, ...]

    @property
    def clean(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "clean": self.clean,
                "findings": [{"location": f.location, "kind": f.kind} for f in self.findings]}  # fmt: skip

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


def _output_text(output: Any) -> str:
    if not isinstance(output, dict):
        return ""
    if output.get("output_type") == "stream":
        text = output.get("text", "")
    else:
        data = output.get("data") if isinstance(output.get("data"), dict) else {}
        text = data.get("text/plain", "") if data else output.get("evalue", "")
    return "".join(text) if isinstance(text, list) else text if isinstance(text, str) else ""


def _split_findings(notebook: Any, redactor: Redactor) -> Iterator[Finding]:
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    for c, cell in enumerate(cells if isinstance(cells, list) else []):
        outputs = cell.get("outputs") if isinstance(cell, dict) else None
        if not isinstance(outputs, list):
            continue
        texts = [_output_text(o) for o in outputs]
        groups = [(i, i + 1) for i in range(len(texts) - 1)]  # any two neighbours
        # A run of stream outputs of one name is shown (and saved by JupyterLab) as one text.
        for name, run in groupby(range(len(outputs)), key=lambda i: _stream_name(outputs[i])):
            members = list(run)
            if name is not None and len(members) > 2:
                groups.append((members[0], members[-1]))
        for first, last in dict.fromkeys(groups):
            parts = texts[first : last + 1]
            joined = all(parts) and redactor.contains_secret("".join(parts))
            if joined and not any(redactor.contains_secret(p) for p in parts):
                yield Finding(f"cells[{c}].outputs[{first}..{last}]", "secret split across outputs")


def _stream_name(output: Any) -> str | None:
    if isinstance(output, dict) and output.get("output_type") == "stream":
        return str(output.get("name"))
    return None


def audit_text(text: str, redactor: Redactor, location: str = "(text)") -> list[Finding]:
    """Findings in one string: known secrets, hidden payloads, inline-password strings."""
    findings = []
    if redactor.contains_secret(text):
        findings.append(Finding(location, "secret"))
    findings += [Finding(location, kind) for kind in payload_findings(text, redactor)]
    findings += [Finding(location, kind) for kind in dict.fromkeys(inline_password_kinds(text))]
    return findings


def _read_notebook(path: Path) -> bytes:
    """The bytes of a regular file, never blocking; symlinks followed (non-blocking
    too: a link to a FIFO or a device is refused, not opened for reading)."""
    try:
        before = os.stat(path)
        if stat.S_ISDIR(before.st_mode):
            raise NotebookUnreadable(path, "it is a directory")
        if not stat.S_ISREG(before.st_mode):
            # A FIFO would block the read forever, a device (`/dev/zero`) never end.
            raise NotebookUnreadable(path, "not a regular file (a FIFO, socket or device)")
        if before.st_size > MAX_NOTEBOOK_BYTES:
            raise NotebookUnreadable(path, _TOO_LARGE)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        hint = "Save the notebook first, or give its path."
        raise NotebookUnreadable(path, "no such file", hint=hint) from None
    except OSError as exc:
        raise NotebookUnreadable(path, exc.strerror or type(exc).__name__) from None
    with os.fdopen(fd, "rb") as handle:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):  # replaced between the stat and the open
            raise NotebookUnreadable(path, "not a regular file (a FIFO, socket or device)")
        try:
            raw = handle.read(MAX_NOTEBOOK_BYTES + 1)
        except OSError as exc:
            raise NotebookUnreadable(path, exc.strerror or type(exc).__name__) from None
    if len(raw) > MAX_NOTEBOOK_BYTES:  # grew after the stat
        raise NotebookUnreadable(path, _TOO_LARGE)
    return raw


def _is_notebook(data: Any) -> bool:
    # nbformat 4 keeps the cells at the top; nbformat 3 (still found in old repositories) in worksheets.
    return isinstance(data, dict) and (
        isinstance(data.get("cells"), list) or isinstance(data.get("worksheets"), list)
    )


def audit_notebook(path: str | Path, redactor: Redactor) -> AuditReport:
    """Scan a notebook file; raise `NotebookUnreadable` if it is not a readable notebook.

    Only a regular file (or a symlink to one) of at most `MAX_NOTEBOOK_BYTES`
    holding a JSON object with ``cells`` (``worksheets`` for nbformat 3) is a
    notebook; anything else is reported unreadable, never hangs the audit.
    """
    path = Path(path)
    raw = _read_notebook(path)
    try:
        notebook = json.loads(raw)
    except (ValueError, RecursionError):
        raise NotebookUnreadable(path, "not JSON", hint="Give a .ipynb file.") from None
    if not _is_notebook(notebook):
        hint = "Give a .ipynb file (a JSON object with cells)."
        raise NotebookUnreadable(path, "not a notebook (JSON without cells)", hint=hint)
    findings: list[Finding] = []
    try:
        for location, text in _walk(notebook, ""):
            findings += audit_text(text, redactor, location)
    except RecursionError:
        raise NotebookUnreadable(path, "nested too deeply to be a notebook") from None
    findings += _split_findings(notebook, redactor)
    if not findings and redactor.contains_secret(raw):
        findings.append(Finding("(file bytes)", "secret (raw bytes)"))
    return AuditReport(path, tuple(dict.fromkeys(findings)))


def notebook_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Each path; a directory stands for every ``*.ipynb`` below it.

    ``.ipynb_checkpoints`` copies are included: they hold the previous save,
    which is exactly where a password the current save no longer shows
    survives (and they get committed). Symlinked folders are not entered (no
    loops); a symlinked ``*.ipynb`` file is audited (`audit_notebook` never
    blocks on what it points to).
    """
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = []
            for root, _dirs, files in os.walk(path):
                found += [Path(root, name) for name in files if name.endswith(".ipynb")]
            yield from sorted(found)
        else:
            yield path
