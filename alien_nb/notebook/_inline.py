"""Connection strings with an inline, real-looking password, known or not: URLs, libpq
keyword strings, JDBC URLs and ODBC connection strings (masks and templates do not count)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..core import MASK
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
