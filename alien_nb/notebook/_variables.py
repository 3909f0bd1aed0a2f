"""The notebook variables that hold handles and results: their names, and binding one."""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import MutableMapping
from typing import Any

from ._parsers import usage_error

# Names a handle or result must not take: Python keywords cannot be variables,
# and rebinding a builtin or IPython's own names breaks the rest of the notebook.
_SHELL_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "display"}


def _taken(ident: str) -> str | None:
    if keyword.iskeyword(ident):
        return "a Python keyword"
    if ident in _SHELL_NAMES:
        return "a name IPython itself uses"
    if hasattr(builtins, ident) and not ident.startswith("_"):
        return "a Python builtin, which the notebook would then lose"
    return None


def identifier_for(name: str) -> str:
    """The variable a database handle is bound to: ``vec-db`` → ``vec_db``, ``list`` → ``db_list``."""
    ident = re.sub(r"\W", "_", name)
    if not ident or ident[0].isdigit() or _taken(ident):
        ident = f"db_{ident}"
    return ident


def check_variable(flag: str, value: str) -> str:
    """Refuse a ``--as`` / ``--out`` value that cannot or should not be a notebook variable.

    Rule: a Python identifier (letters, digits and ``_``, not starting with a
    digit) that is not a keyword, a builtin or one of IPython's names. Raise
    `UsageError` with the rule and a name that would work.
    """
    problem = None if value.isidentifier() else "not a Python identifier"
    problem = problem or _taken(value)
    if problem is None:
        return value
    suggestion = re.sub(r"\W", "_", value) or "result"
    if suggestion[0].isdigit():
        suggestion = f"db_{suggestion}"
    if not suggestion.isidentifier() or _taken(suggestion):
        suggestion = f"{suggestion}_db" if suggestion.isidentifier() else "db_handle"
    raise usage_error(
        f"{flag} {value!r} is {problem}. Name a variable: letters, digits and _, not starting "
        f"with a digit, and no keyword or builtin; for example {flag} {suggestion}"
    )


def bind_handle(namespace: MutableMapping[str, Any], name: str, variable: str | None, handle: Any) -> str:
    """Put ``handle`` (database ``name``'s) in ``namespace`` and return the variable that holds it:
    ``variable`` once checked, else the name as an identifier. The magics and the panel both bind this way."""
    chosen = check_variable("--as", variable) if variable is not None else identifier_for(name)
    namespace[chosen] = handle
    return chosen
