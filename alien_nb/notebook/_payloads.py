"""Secrets hidden in payloads: base64 (whole strings, or runs inside text and ``data:`` URIs),
gzip or zlib data inside it, and the text chunks of PNG images."""

from __future__ import annotations

import base64
import binascii
import re
import struct
import zlib
from collections.abc import Iterator
from urllib.parse import unquote

from ..core import Redactor

_PNG = b"\x89PNG\r\n\x1a\n"
_GZIP = b"\x1f\x8b"
# Decompressed data is looked at up to this size: enough for any real output,
# and a zip bomb costs nothing.
_MAX_INFLATED = 64 << 20


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


def payload_findings(text: str, redactor: Redactor) -> Iterator[str]:
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
