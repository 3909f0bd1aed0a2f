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
kind, never the secret or any part of it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import stat
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ..core import MASK, AlienError, Redactor
from ..core._redact import MIN_SECRET_LENGTH

_URL_WITH_PASSWORD = re.compile(
    r"postgres(?:ql)?(?:\+\w+)?://[^\s:/@'\"]*:(?P<pw>[^\s@/'\"]+)@", re.IGNORECASE
)
# libpq: whitespace-separated key=value pairs; Python keyword arguments (comma
# separated) are not conninfo, so another key must be followed by a space.
_LIBPQ_PASSWORD = re.compile(
    r"(?<![\w.])password\s*=\s*(?:'(?P<q>(?:[^'\\]|\\.)*)'|(?P<pw>[^\s'\",;&)(<>]+))(?=[\s'\"]|$)",
    re.IGNORECASE,
)
_LIBPQ_OTHER_KEY = re.compile(
    r"(?<![\w.])(?:host|hostaddr|port|dbname|user|sslmode)\s*=\s*(?:'[^']*'|[^\s'\",;&)(]+)\s", re.IGNORECASE
)
_JDBC_PASSWORD = re.compile(r"jdbc:[\w:]+//[^\s\"']*?[?&;]password=(?P<pw>[^&;\s\"']+)", re.IGNORECASE)
_ODBC_PASSWORD = re.compile(r"(?<![\w.])(?:pwd|password)\s*=\s*(?P<pw>\{[^}]*\}|[^;\s\"']+)", re.IGNORECASE)
_ODBC_CONTEXT = re.compile(r"(?<![\w.])(?:driver|dsn|server|uid|data source)\s*=[^;]*;", re.IGNORECASE)
_MASKS = {"****", "***", MASK, "<redacted>", "redacted", "%2A%2A%2A%2A", "hidden", "..."}
# f-strings, format strings and shell variables name a password without holding one.
# ({a;b} with a semicolon or a space is ODBC quoting a real value, not a template.)
_TEMPLATE = re.compile(r"\{[^{};\s]*\}|\$\{?\w+\}?|%s|%\(\w+\)s|<[\w-]+>|\{\{.*\}\}")
_PNG = b"\x89PNG\r\n\x1a\n"
_GZIP = b"\x1f\x8b"
# Decompressed data is looked at up to this size: enough for any real output,
# and a zip bomb costs nothing.
_MAX_INFLATED = 64 << 20
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


def _b64_payload(text: str) -> bytes | None:
    compact = "".join(text.split())
    if len(compact) < 16 or not re.fullmatch(r"[A-Za-z0-9+/=_-]+", compact):
        return None
    compact = compact.replace("-", "+").replace("_", "/").rstrip("=")
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _inflate(data: bytes) -> bytes | None:
    """``data`` decompressed if it is gzip or zlib (headers detected), else None."""
    is_gzip = data[:2] == _GZIP
    is_zlib = len(data) > 1 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
    if not (is_gzip or is_zlib):
        return None
    try:
        inflater = zlib.decompressobj(wbits=47)  # 32 + 15: either header
        return inflater.decompress(data, _MAX_INFLATED)
    except zlib.error:
        return None


def _png_texts(data: bytes) -> Iterator[tuple[str, bytes]]:
    """The text chunks of a PNG image: (chunk type, text bytes, decompressed)."""
    pos = len(_PNG)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"tEXt":
            yield "tEXt", body.partition(b"\0")[2]
        elif kind == b"zTXt":
            text = _inflate(body.partition(b"\0")[2][1:])
            if text is not None:
                yield "zTXt", text
        elif kind == b"iTXt":
            _keyword, _, rest = body.partition(b"\0")
            compressed, rest = rest[:1] == b"\1", rest[2:]
            _lang, _, rest = rest.partition(b"\0")
            _translated, _, text = rest.partition(b"\0")
            inflated = _inflate(text) if compressed else text
            if inflated is not None:
                yield "iTXt", inflated
        elif kind == b"IEND":
            return


def _payload_findings(text: str, redactor: Redactor) -> Iterator[str]:
    payloads = list(_payloads(text))
    if not payloads:
        return
    # One scan for all: a string of many short runs must not cost a scan each.
    if redactor.contains_secret(b"\0\n\0".join(payloads)):
        yield "secret (base64 payload)"
    for payload in payloads:
        inflated = _inflate(payload)
        if inflated is not None and redactor.contains_secret(inflated):
            yield "secret (gzip+base64 payload)" if payload[:2] == _GZIP else "secret (zlib+base64 payload)"
        if payload.startswith(_PNG):
            for chunk, chunk_text in _png_texts(payload):
                if redactor.contains_secret(chunk_text):
                    yield f"secret (PNG {chunk} chunk)"


# A base64 run inside larger text (``b'H4sI...'``, ``state: eJy...``, ``<img
# src="data:image/png;base64,...">``, ``![](data:...)``), lines of a wrapped
# blob included (lines of 8+ characters each). 16+ characters in all: shorter
# ones hold no compressed secret.
_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}(?:[ \t]*\r?\n[ \t]*[A-Za-z0-9+/_-]{8,}={0,2})*")
_MIN_RUN = 16
# A data: URI whose base64 is percent-encoded (inside a URL or an attribute).
_DATA_URI = re.compile(r"data:[\w.+/-]*(?:;[\w.+-]+=[\w.+-]+)*;base64,(?P<b64>[A-Za-z0-9+/=_%-]{16,})", re.I)
# Where a payload starts inside a run glued to other base64-alphabet text: gzip, PNG.
_SIGNATURES = ("H4sI", "iVBORw0KGgo")
_MAX_STARTS = 8


def _payloads(text: str) -> Iterator[bytes]:
    """Every base64 payload in ``text``: the whole string, or each run inside it."""
    whole = _b64_payload(text)
    if whole is not None:
        yield whole
        return
    for match in _B64_RUN.finditer(text):
        run = "".join(match.group().split())
        if len(run) < _MIN_RUN:
            continue
        starts = {0}
        for signature in _SIGNATURES:
            pos = run.find(signature, 1)
            # A few: each decodes the rest of the run, and a repeated pattern is no payload.
            while pos != -1 and len(starts) <= _MAX_STARTS:
                starts.add(pos)
                pos = run.find(signature, pos + 1)
        for start in sorted(starts):
            decoded = _b64_decode(run[start:])
            if decoded:
                yield decoded
    if "%" in text:
        for match in _DATA_URI.finditer(text):
            if "%" in match.group("b64"):
                decoded = _b64_decode(unquote(match.group("b64")))
                if decoded:
                    yield decoded


def _b64_decode(run: str) -> bytes | None:
    run = run.replace("-", "+").replace("_", "/").rstrip("=")
    if len(run) % 4 == 1:
        run = run[:-1]  # one character past a whole group: a run that went one too far
    try:
        return base64.b64decode(run + "=" * (-len(run) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _is_placeholder(value: str) -> bool:
    value = value.strip()
    return (
        len(value) < MIN_SECRET_LENGTH  # `postgres://u:p@host` in docs: an example, too short to be real
        or value in _MASKS
        or set(value) <= set("*x.•…#")
        or bool(_TEMPLATE.fullmatch(value))
        or value.lower() in {"password", "<password>", "your_password", "yourpassword"}
    )


def inline_password_kinds(text: str) -> Iterator[str]:
    """The kinds of connection strings with an inline, real-looking password in ``text``."""
    for match in _URL_WITH_PASSWORD.finditer(text):
        if not _is_placeholder(match.group("pw")):
            yield "url with password"
            break
    for line in text.splitlines():
        if "=" not in line:
            continue
        for match in _LIBPQ_PASSWORD.finditer(line):
            value = match.group("q") if match.group("q") is not None else match.group("pw")
            if not _is_placeholder(value) and _LIBPQ_OTHER_KEY.search(line + " "):
                yield "libpq conninfo with password"
                break
        for match in _JDBC_PASSWORD.finditer(line):
            if not _is_placeholder(match.group("pw")):
                yield "jdbc url with password"
                break
        if _ODBC_CONTEXT.search(line):
            for match in _ODBC_PASSWORD.finditer(line):
                value = match.group("pw")
                if not (_is_placeholder(value) or _is_placeholder(value.strip("{}"))):
                    yield "odbc connection string with password"
                    break


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
    findings += [Finding(location, kind) for kind in _payload_findings(text, redactor)]
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
