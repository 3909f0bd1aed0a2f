"""Find and mask secrets in text, in the forms they leak in.

A password can reach a notebook as itself, percent-encoded inside a URL,
form-encoded, JSON-escaped, HTML-escaped, LaTeX-escaped (``to_latex``), hex-encoded, or base64-encoded
inside a saved attachment or widget state. `secret_forms` lists those
spellings; `Redactor` masks them. The text spellings are also masked in part:
any run of `PARTIAL_RUN` or more consecutive characters of one (pandas cuts a
long string to its first characters, a stream may be flushed mid-password),
unless that run is a plain word such as "password".

`known_redactor()` is the process-wide registry of every secret alien_nb has
handled: each `Redactor` shares what it is given with it, and the places that
materialise a password (binding parsing, secret-store reads, the resolver,
local metadata) call `remember_secret`. The notebook extension masks with it,
so a password handled before ``%load_ext alien_nb`` is still known.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:
    from pydantic import SecretStr

MASK = "********"
# Shorter strings are too likely to occur by chance to be worth masking.
MIN_SECRET_LENGTH = 4
# A run of this many characters of a password is as good as the password to
# someone guessing the rest, and rare enough by chance (62**8 for a random one).
PARTIAL_RUN = 8
# ...unless the run is a plain word (one case, maybe capitalised, punctuation
# at its ends): "password" from "first-password" is no evidence of a leak, and
# masking it would garble every error message that says "password".
_WORD = re.compile(r"[\W_]*(?:[a-z]+|[A-Z][a-z]+|[A-Z]+)[\W_]*")


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


# LaTeX escapes of the ten special characters. pandas (``Styler.to_latex``,
# ``format(escape="latex")``) ends the word commands with a space, and adds
# ``\space`` before a space that follows; older pandas and most other escapers end them
# with ``{}``; some write the accents ``\~{}`` and ``\^{}``.
_LATEX_SIMPLE = {c: "\\" + c for c in "&%$#_{}"}
_LATEX_WORDS = {"~": "\\textasciitilde", "^": "\\textasciicircum", "\\": "\\textbackslash"}
_LATEX_ACCENTS = {"~": "\\~{}", "^": "\\^{}", "\\": "\\textbackslash{}"}


def _latex_forms(secret: str) -> set[str]:
    if not any(c in secret for c in "&%$#_{}~^\\"):
        return set()
    pandas, braces, accents = [], [], []
    for i, c in enumerate(secret):
        if c in _LATEX_SIMPLE:
            pandas.append(_LATEX_SIMPLE[c])
            braces.append(_LATEX_SIMPLE[c])
            accents.append(_LATEX_SIMPLE[c])
        elif c in _LATEX_WORDS:
            gobbled = i + 1 < len(secret) and secret[i + 1] == " "
            pandas.append(_LATEX_WORDS[c] + (" \\space" if gobbled else " "))  # the space follows
            braces.append(_LATEX_WORDS[c] + "{}")
            accents.append(_LATEX_ACCENTS[c])
        else:
            pandas.append(c)
            braces.append(c)
            accents.append(c)
    forms = {"".join(pandas), "".join(braces), "".join(accents)}
    # ...and as the repr of the string that holds it (a cell's value, doubled backslashes).
    return forms | {f.replace("\\", "\\\\") for f in forms}


def _text_forms(secret: str) -> set[str]:
    # Spellings that keep the secret's characters in order: masked in part too.
    return _latex_forms(secret) | {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret, quote=False),
        html.escape(secret, quote=True),
        secret.replace("'", "''"),  # inside an SQL string literal
        secret.replace("\\", "\\\\").replace("'", "\\'"),  # inside a Python repr
    }


def _encoded_forms(secret: str) -> set[str]:
    # Spellings that scramble the characters: masked only whole.
    raw = secret.encode("utf-8", "surrogatepass")
    return _base64_forms(raw) | {raw.hex(), raw.hex().upper()}


def secret_forms(secret: str) -> set[str]:
    """The spellings in which ``secret`` may appear in saved text."""
    if len(secret) < MIN_SECRET_LENGTH:
        return set()
    forms = _text_forms(secret) | _encoded_forms(secret)
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


def _unwrap(secret: str | SecretStr) -> str:
    # Duck-typed, so the notebook extension loads without pydantic.
    value = secret.get_secret_value() if hasattr(secret, "get_secret_value") else secret
    return str(value)


_Pieces = tuple[tuple[str, ...], tuple[str, ...]]
_GRAM = PARTIAL_RUN // 2  # anchors of partial forms; every anchor has at least this many characters


class _Matcher:
    """Finds whole forms and runs of `PARTIAL_RUN`+ characters of partial forms.

    Each form is found through anchors: a whole form is its own anchor; a
    partial form has anchors of half a run at every half-run offset, so any
    run of `PARTIAL_RUN` characters contains one. A hit is extended both ways
    along the form to the maximal run, which counts unless it is a plain word.
    Anchors are searched with ``str.find`` (fast C scans, even over megabytes)
    or, when there are many anchors for the text's length, by sliding over the
    text once and looking its 4-character pieces up.
    """

    def __init__(self, pieces: Iterable[_Pieces] = (), *, base: _Matcher | None = None) -> None:
        # Copied, never changed in place: a reader in another thread keeps a consistent snapshot.
        # anchor -> (form, offset of the anchor in the form, shortest run that counts)
        self.anchors: dict[str, tuple[tuple[str, int, int], ...]] = dict(base.anchors) if base else {}
        self.by_prefix: dict[str, tuple[str, ...]] = dict(base.by_prefix) if base else {}
        self.count: int = base.count if base else 0
        for whole, partial in pieces:
            for form in partial:
                for k in range(0, len(form) - _GRAM + 1, _GRAM):
                    self._add(form[k : k + _GRAM], (form, k, PARTIAL_RUN))
            for form in whole:
                self._add(form, (form, 0, len(form)))
            self.count += len(whole) + len(partial)

    def _add(self, anchor: str, target: tuple[str, int, int]) -> None:
        known = self.anchors.get(anchor)
        if known is None:
            self.by_prefix[anchor[:_GRAM]] = (*self.by_prefix.get(anchor[:_GRAM], ()), anchor)
        self.anchors[anchor] = (*(known or ()), target)

    def spans(self, text: str, *, first: bool = False, slide: bool | None = None) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        n, count = len(text), len(self.anchors)
        if n < _GRAM or not count:
            return found
        if slide is None:
            # Rough costs: ~80 ns a position to slide; ~150 ns a call and ~0.6 ns a character to find.
            slide = 80 * n < count * (150 + 0.6 * n)
        if slide:
            for pos in range(n - _GRAM + 1):
                for anchor in self.by_prefix.get(text[pos : pos + _GRAM], ()):
                    if text.startswith(anchor, pos) and self._hit(text, pos, anchor, found) and first:
                        return found
        else:
            for anchor in self.anchors:
                pos = text.find(anchor)
                while pos != -1:
                    if self._hit(text, pos, anchor, found) and first:
                        return found
                    pos = text.find(anchor, pos + 1)
        return _merge(found)

    def _hit(self, text: str, pos: int, anchor: str, found: list[tuple[int, int]]) -> bool:
        hit = False
        for form, offset, shortest in self.anchors[anchor]:
            start, fo = pos, offset
            while start > 0 and fo > 0 and text[start - 1] == form[fo - 1]:
                start -= 1
                fo -= 1
            end, fe = pos + len(anchor), offset + len(anchor)
            while end < len(text) and fe < len(form) and text[end] == form[fe]:
                end += 1
                fe += 1
            partial = end - start < len(form)
            if end - start >= shortest and not (partial and _WORD.fullmatch(text, start, end)):
                found.append((start, end))
                hit = True
        return hit


_PERCENT_ESCAPE = re.compile(rb"%[0-9A-Fa-f]{2}")


def _unescape(match: re.Match[bytes]) -> bytes:
    return bytes((int(match[0][1:], 16),))


_PERCENT_TOKEN = re.compile(r"[^\s\"'<>]*%[0-9A-Fa-f]{2}[^\s\"'<>]*")


def _percent_decoded(token: str) -> tuple[str, list[int], list[int]]:
    """``token`` percent-decoded, as latin-1 text of its bytes, with each byte's
    start and end offset in ``token``."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i = 0
    while i < len(token):
        if token[i] == "%" and _is_hex(token[i + 1 : i + 3]):
            chars.append(chr(int(token[i + 1 : i + 3], 16)))
            starts.append(i)
            ends.append(i + 3)
            i += 3
            continue
        for byte in token[i].encode("utf-8", "surrogatepass"):
            chars.append(chr(byte))
            starts.append(i)
            ends.append(i + 1)
        i += 1
    return "".join(chars), starts, ends


def _is_hex(pair: str) -> bool:
    return len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair)


def mask_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each of the (sorted, disjoint) ``spans`` replaced by `MASK`."""
    if not spans:
        return text
    parts, last = [], 0
    for start, end in spans:
        parts += [text[last:start], MASK]
        last = end
    parts.append(text[last:])
    return "".join(parts)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _pieces(secret: str, *, encode: bool) -> _Pieces:
    """One secret's (whole forms, partial forms); computed once per secret."""
    text = {f for f in _text_forms(secret) if len(f) >= MIN_SECRET_LENGTH}
    if encode:  # bytes are searched as latin-1 text: one char per byte
        text = {f.encode("utf-8", "surrogatepass").decode("latin-1") for f in text}
    whole = {f for f in _encoded_forms(secret) if len(f) >= MIN_SECRET_LENGTH}
    whole |= {f for f in text if len(f) < PARTIAL_RUN}
    partial = tuple(f for f in text if len(f) >= PARTIAL_RUN)
    # A whole form holding a shorter one is found (and masked, all but a few
    # edge characters) through it: one scan less per secret.
    ordered = sorted(whole, key=len)
    kept = tuple(f for i, f in enumerate(ordered) if not any(shorter in f for shorter in ordered[:i]))
    return kept, partial


class Redactor:
    """Masks every known secret, in every form, in a piece of text.

    Thread-safe; secrets are added as they are handled and never removed.
    Each secret is also shared with `known_redactor()`, unless ``share=False``.
    """

    def __init__(self, secrets: Iterable[str | SecretStr | None] = (), *, share: bool = True) -> None:
        self._lock = threading.Lock()
        self._share = share
        self._secrets: dict[str, _Pieces] = {}
        # Immutable snapshots, swapped whole: readers in other threads never lock.
        self._text = _Matcher(())
        self._bytes: _Matcher | None = None
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | SecretStr | None) -> None:
        if secret is None:
            return
        raw = _unwrap(secret)
        if len(raw) < MIN_SECRET_LENGTH:
            return
        if self._share and self is not _KNOWN:
            _KNOWN.add(raw)
        with self._lock:
            if raw in self._secrets:
                return
            pieces = self._secrets[raw] = _pieces(raw, encode=False)
            self._text = _Matcher([pieces], base=self._text)
            self._bytes = None

    def __len__(self) -> int:
        return self._text.count

    def __repr__(self) -> str:
        return f"<Redactor with {len(self._secrets)} secrets>"

    def _bytes_matcher(self) -> _Matcher:
        matcher = self._bytes
        if matcher is None:
            with self._lock:
                matcher = self._bytes = _Matcher(_pieces(raw, encode=True) for raw in self._secrets)
        return matcher

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where secrets are in ``text``: sorted, merged ``(start, end)`` pairs."""
        found = self._text.spans(text)
        if "%" in text:
            found = _merge(found + self._percent_spans(text))
        return found

    def _percent_spans(self, text: str, *, first: bool = False) -> list[tuple[int, int]]:
        # Any percent-encoding (another safe set, lower-case hex, every character
        # encoded) decodes to the secret's bytes. First the whole text decoded at
        # once (C speed); only if that holds a secret, each token, to know where.
        whole = _PERCENT_ESCAPE.sub(_unescape, text.encode("utf-8", "surrogatepass"))
        if not self._bytes_matcher().spans(whole.decode("latin-1"), first=True):
            return []
        found: list[tuple[int, int]] = []
        for match in _PERCENT_TOKEN.finditer(text):
            decoded, starts, ends = _percent_decoded(match.group())
            for start, end in self._bytes_matcher().spans(decoded, first=first):
                found.append((match.start() + starts[start], match.start() + ends[end - 1]))
                if first:
                    return found
        return found

    def redact(self, text: str) -> str:
        """``text`` with every secret, whole or a run of 8+ characters of it, as `MASK`."""
        return mask_spans(text, self.spans(text))

    def redact_bytes(self, data: bytes) -> bytes:
        """``data`` with each secret's bytes overwritten by ``*``: the length stays,
        so binary layouts (widget buffers, images) keep their offsets."""
        view = data.decode("latin-1")
        spans = self._bytes_matcher().spans(view)
        if not spans:
            return data
        out = bytearray(data)
        for start, end in spans:
            out[start:end] = b"*" * (end - start)
        return bytes(out)

    def contains_secret(self, text: str | bytes) -> bool:
        if isinstance(text, (bytes, bytearray, memoryview)):
            return bool(self._bytes_matcher().spans(bytes(text).decode("latin-1"), first=True))
        if self._text.spans(text, first=True):
            return True
        return "%" in text and bool(self._percent_spans(text, first=True))

    def clean(self, value: Any) -> Any:
        """``value`` with every string and bytes in it redacted, recursively through
        dicts (keys too), lists and tuples; the same object when nothing changed."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
            clean = self.redact_bytes(data)
            return value if clean == data else clean
        if isinstance(value, dict):
            items = [(self.clean(k), self.clean(v)) for k, v in value.items()]
            if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(items, value.items(), strict=True)):
                return value
            return dict(items)
        if isinstance(value, (list, tuple)):
            cleaned = [self.clean(v) for v in value]
            if all(c is v for c, v in zip(cleaned, value, strict=True)):
                return value
            return tuple(cleaned) if isinstance(value, tuple) else cleaned
        return value


_KNOWN = Redactor(share=False)


def known_redactor() -> Redactor:
    """The process-wide registry: every secret alien_nb has handled in this process."""
    return _KNOWN


def remember_secret(secret: str | SecretStr | None) -> None:
    """Record a password as it is materialised, before anything can show it."""
    _KNOWN.add(secret)
