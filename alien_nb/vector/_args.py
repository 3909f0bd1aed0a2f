"""Argument checks shared by every vector helper, and the server's refusals as vector errors.

Each check runs before anything is sent, names the argument and its allowed range, and never
echoes a value that is not a plain number (an argument may be a user's data).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from ..core._sql import parse_condition
from ._errors import InvalidArgument, ServerRefused, VectorError

BIGINT_MAX = 2**63 - 1


def _type_name(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def integer(name: str, value: Any, low: int = 1, high: int = BIGINT_MAX, hint: str | None = None) -> int:
    """``value`` as an int in [low, high]; bools, strings, floats and None are refused."""
    if isinstance(value, (bool, str, bytes, float)):
        index = None
    else:
        try:
            index = operator.index(value)  # int and numpy integers, never a float truncated
        except TypeError:
            index = None
    span = f"from {low:,} to {high:,}"
    if index is None:
        raise InvalidArgument(
            f"{name} must be an integer {span}, not {_type_name(value)}.",
            hint=hint or f"Pass a whole number, e.g. {name}={max(low, min(10, high))}.",
        )
    if not low <= index <= high:
        raise InvalidArgument(f"{name} must be {span}; got {index:,}.", hint=hint or f"Pass {name} {span}.")
    return index


def optional_integer(
    name: str, value: Any, low: int = 1, high: int = BIGINT_MAX, hint: str | None = None
) -> int | None:
    return None if value is None else integer(name, value, low, high, hint)


def fraction(name: str, value: Any, hint: str | None = None) -> float:
    """A finite float in (0, 1]."""
    if isinstance(value, bool) or (not isinstance(value, (int, float)) and not hasattr(value, "__float__")):
        raise InvalidArgument(f"{name} must be a number above 0 and at most 1, not {_type_name(value)}.",
                              hint=hint or f"For example {name}=0.5.")  # fmt: skip
    number = float(value)
    if not (math.isfinite(number) and 0 < number <= 1):
        raise InvalidArgument(f"{name} must be above 0 and at most 1; got {number}.",
                              hint=hint or f"For example {name}=0.5.")  # fmt: skip
    return number


def name(what: str, value: Any) -> str:
    """A column name: a non-empty str."""
    if not isinstance(value, str) or not value:
        raise InvalidArgument(f"{what} must be a column name (a non-empty str), not {_type_name(value)}.",
                              hint=f"For example {what}='id'.")  # fmt: skip
    return value


def names(what: str, values: Any) -> tuple[str, ...]:
    """Column names: a list or tuple of str (a bare str would be read letter by letter)."""
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise InvalidArgument(f"{what} must be a list of column names, not {_type_name(values)}.",
                              hint=f"For example {what}=['title'].")  # fmt: skip
    return tuple(name(f"each of {what}", v) for v in values)


def choice(what: str, param: str, value: Any, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        listed = " or ".join(f"{param}={a!r}" for a in allowed)
        shown = repr(value) if isinstance(value, str) and len(value) <= 40 else _type_name(value)
        raise VectorError(f"Unknown {what} {shown}.", hint=f"Use {listed}.")
    return value


#: Bind names the helpers use themselves (the query vector is ``_alien_q``).
RESERVED_PREFIX = "_alien"


def condition(where: Any, params: Any) -> tuple[str, dict[str, Any]]:
    """A ``where=`` condition with ``:name`` placeholders as psycopg text, and the values it binds.

    ``""`` for no condition. Raise `SqlTextInvalid` for another placeholder style or several
    statements, `InvalidArgument` for a name missing from ``params`` or a reserved one.
    """
    if params is not None and not isinstance(params, Mapping):
        raise InvalidArgument("params must be a mapping.", hint='For example params={"lang": "en"}.')
    given = dict(params or {})
    reserved = sorted(str(key) for key in given if str(key).startswith(RESERVED_PREFIX))
    if reserved:
        raise InvalidArgument(
            f"params names starting with {RESERVED_PREFIX!r} are reserved for the helper's own values "
            f"({', '.join(reserved)}).",
            hint="Rename them, in params= and as :name in where=.",
        )
    if where is None:
        return "", {}
    if not isinstance(where, str):
        raise InvalidArgument(
            f"where must be an SQL condition (a str), not {_type_name(where)}.",
            hint='For example where="lang = :lang", with params={"lang": "en"}.',
        )
    if not where.strip():
        return "", {}
    statement = parse_condition(where)  # SqlTextInvalid, with the :name form, passes through
    names = statement.names
    bad = [n for n in names if n.startswith(RESERVED_PREFIX)]
    if bad:
        raise InvalidArgument(
            f"where= uses {', '.join(':' + n for n in bad)}; names starting with {RESERVED_PREFIX!r} "
            "are reserved for the helper's own values.",
            hint="Rename the placeholder, e.g. :lang, and pass its value in params=.",
        )
    missing = [n for n in names if n not in given]
    if missing:
        shown = ", ".join(":" + n for n in missing)
        example = ", ".join(f"{n!r}: ..." for n in missing)
        raise InvalidArgument(
            f"where= uses {shown}, but params= has no value for {'it' if len(missing) == 1 else 'them'}.",
            hint=f"Add {'it' if len(missing) == 1 else 'them'} to params=, e.g. params={{{example}}}.",
        )
    return statement.for_psycopg(), {n: given[n] for n in names}


@contextmanager
def server_errors(what: str) -> Iterator[None]:
    """A psycopg error from the helper's statements as `ServerRefused`: the server's own message
    and hint, never the statement or its parameters (``where=`` params may be a user's data)."""
    try:
        yield
    except VectorError:
        raise
    except psycopg.Error as exc:
        diag = getattr(exc, "diag", None)
        primary = getattr(diag, "message_primary", None) or type(exc).__name__
        hint = getattr(diag, "message_hint", None)
        raise ServerRefused(
            f"The server refused {what}: {primary}",
            hint=hint or "Check the table and the arguments; the server's message says what it could not do.",
        ) from None
