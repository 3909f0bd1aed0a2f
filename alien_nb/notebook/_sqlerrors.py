"""Errors of SQL from a notebook, and the hints that fix the ones people hit.

The server's message is kept (scrubbed of secrets); its position is shown as
the line of the *cell* (not of the ``$1`` text that was sent), and a hint is
added where the fix is known: a cast for an untyped ``:x``, ``= ANY(:list)``
for ``IN :list``, the nearest table names for a table that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..core import AlienError
from ..core._errors import show_as_public
from ..core._sql import Placeholder, Rendered, Statement

if TYPE_CHECKING:
    import psycopg

    from ..core import Redactor


class SqlError(AlienError):
    """A SQL statement failed; the message is the server's, scrubbed of secrets."""

    sqlstate: str | None = None


class StatementInterrupted(SqlError):
    """The connection broke after a statement was sent: it may or may not have taken effect."""

    def __init__(self, name: str, what: str) -> None:
        self.name, self.what = name, what
        super().__init__(
            f"The connection to {name!r} broke while {what} ran (the server stopped or restarted?), so it "
            "may or may not have taken effect on the server. alien_nb did not run it again.",
            hint="Check whether it took effect (look at the rows it changes) before running it again; "
            "the next statement opens a new connection.",
        )


class TransactionLost(SqlError):
    """The server closed the connection while a transaction of the user's was open."""

    def __init__(self, name: str, why: str = "the server stopped or restarted?") -> None:
        self.name = name
        super().__init__(
            f"The connection to {name!r} was closed ({why}) while a transaction "
            "was open: the server rolled back everything since its BEGIN. Nothing more was sent.",
            hint="Run the transaction again from BEGIN; the next statement opens a new connection.",
        )


class SqlArgumentInvalid(AlienError):
    """`Database.sql` / `run` was called with a query or params of the wrong kind."""


class ParameterMissing(AlienError):
    def __init__(self, names: list[str]) -> None:
        self.names = names
        listed = ", ".join(f":{n}" for n in names)
        super().__init__(
            f"No Python variable for the SQL parameter(s) {listed}.",
            hint="Define them in the notebook first, or write a literal colon as \\:name.",
        )


class CopyNeedsData(AlienError):
    """A ``COPY`` was written without the file it reads or needs to write."""


def check_arguments(query: object, namespace: object) -> None:
    # Checked before anything parses them: a list or str "params" would otherwise fail deep inside
    # with "list indices must be integers", a bytes query with "expected string".
    if not isinstance(query, str):
        hint = (
            "Decode it first: db.sql(query.decode())."
            if isinstance(query, (bytes, bytearray, memoryview))
            else "Pass the SQL text, e.g. db.sql('SELECT * FROM items WHERE id = :n', {'n': 10})."
        )
        raise SqlArgumentInvalid(f"The SQL must be a str, not {type(query).__name__}.", hint=hint)
    if not isinstance(namespace, Mapping):
        raise SqlArgumentInvalid(
            f"params must be a mapping of names to values, not {type(namespace).__name__}.",
            hint="Pass a mapping like {'n': 10} and write :n in the SQL.",
        )


def sql_error(
    exc: Exception,
    redactor: Redactor,
    *,
    cell: str | None = None,
    statement: Statement | None = None,
    rendered: Rendered | None = None,
    params: Mapping[str, Any] | None = None,
    tables: Sequence[str] = (),
) -> SqlError:
    """`SqlError` for the driver's ``exc``: the server's words, the cell line, and a fixing hint."""
    diag = getattr(exc, "diag", None)
    sqlstate = getattr(exc, "sqlstate", None)
    primary = getattr(diag, "message_primary", None) or str(exc).strip()
    lines = [primary]
    # As libpq writes them (two spaces), so a message reads as it does in psql.
    detail = getattr(diag, "message_detail", None)
    if detail:
        lines.append(f"DETAIL:  {detail}")
    context = getattr(diag, "context", None)
    if context:
        lines.append(f"CONTEXT:  {context}")
    where = _cell_line(diag, cell, statement, rendered)
    if where:
        lines.append(where)
    hint = getattr(diag, "message_hint", None)
    fix = _fix(sqlstate, primary, statement, rendered, params or {}, tables)
    if fix:
        hint = fix if not hint else f"{fix} (The server adds: {hint})"
    if "cannot run inside a transaction block" in primary:
        hint = "Run it in its own cell, or with --autocommit."
    text = redactor.redact("\n".join(lines))
    error = SqlError(f"{type(exc).__name__}: {text}", hint=redactor.redact(hint) if hint else None)
    error.sqlstate = sqlstate
    return error


def _cell_line(diag: Any, cell: str | None, statement: Statement | None, rendered: Rendered | None) -> str:
    position = getattr(diag, "statement_position", None)
    if not position or cell is None or statement is None or rendered is None:
        return ""
    try:
        offset = rendered.source_offset(int(position) - 1)
    except ValueError:
        return ""
    offset = min(max(offset, 0), len(cell))
    start = cell.rfind("\n", 0, offset) + 1
    end = cell.find("\n", offset)
    line = cell[start : end if end >= 0 else len(cell)]
    number = cell.count("\n", 0, offset) + 1
    prefix = f"line {number} of the cell: "
    return f"{prefix}{line}\n{' ' * (len(prefix) + offset - start)}^"


_IN_BEFORE = re.compile(r"\bin\s*\(?\s*$", re.IGNORECASE)
_PARAM_NUMBER = re.compile(r"\$(\d+)")


def _fix(
    sqlstate: str | None,
    primary: str,
    statement: Statement | None,
    rendered: Rendered | None,
    params: Mapping[str, Any],
    tables: Sequence[str],
) -> str | None:
    if statement is None or rendered is None:
        return None
    if sqlstate in ("42601", "42883"):
        for name in _in_list_names(statement):
            value = params.get(name)
            if isinstance(value, (list, tuple, set, frozenset)) or _is_array(value):
                return (
                    f"To match any value of the list :{name}, write  = ANY(:{name})  instead of  IN :{name}  "
                    f"(a list binds as one Postgres array)."
                )
    if sqlstate in ("42P18", "42P08"):  # could not determine / inconsistent type of parameter $n
        match = _PARAM_NUMBER.search(primary)
        if match and 0 < int(match.group(1)) <= len(rendered.names):
            name = rendered.names[int(match.group(1)) - 1]
            return (
                f"Postgres cannot tell the type of :{name} here (as in  :{name} IS NULL): cast it, e.g. "
                f":{name}::text, :{name}::int or :{name}::date."
            )
    if sqlstate == "42P01" and tables:
        import difflib

        match = re.search(r'relation "([^"]+)"', primary)
        missing = match.group(1) if match else ""
        close = difflib.get_close_matches(missing.lower(), [t.lower() for t in tables], n=3, cutoff=0.6)
        if close:
            found = [t for t in tables if t.lower() in close]
            return "Did you mean " + " or ".join(repr(t) for t in found) + "?"
        return "No such table here; list them with  SELECT * FROM pg_tables WHERE schemaname = 'public'."
    return None


def _in_list_names(statement: Statement) -> list[str]:
    names, previous = [], ""
    for part in statement.parts:
        if isinstance(part, Placeholder):
            if _IN_BEFORE.search(previous):
                names.append(part.name)
            previous = ""
        elif isinstance(part, str):
            previous = part
    return names


def _is_array(value: object) -> bool:
    return type(value).__module__ == "numpy" and getattr(value, "ndim", 0) == 1 and value.dtype.kind in "iub"  # type: ignore[attr-defined]


def visible_tables(conn: psycopg.Connection[Any]) -> list[str]:
    """Tables and views the session can name unqualified; none unless the connection is idle.

    Inside a transaction (aborted by the error being explained) nothing is sent.
    """
    import psycopg

    if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        return []
    try:
        rows = conn.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') "
            "AND pg_table_is_visible(c.oid) AND c.relname NOT LIKE '\\_alien\\_nb\\_%' LIMIT 5000"
        ).fetchall()
    except psycopg.Error:
        return []
    return [r[0] for r in rows]


show_as_public(globals())  # alien_nb.SqlError, alien_nb.ParameterMissing, ...
