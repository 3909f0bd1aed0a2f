"""How a process finds its binding: ``ALIEN_<NAME>_BINDING``."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ._bindings import PostgresBinding, parse_binding
from ._errors import BindingNotConfigured


def binding_env_var(name: str) -> str:
    """The environment variable that carries binding ``name``.

    ``ALIEN_`` + the name with every ``-`` made ``_``, upper-cased, + ``_BINDING``:

    >>> binding_env_var("my-db")
    'ALIEN_MY_DB_BINDING'
    """
    return f"ALIEN_{name.replace('-', '_').upper()}_BINDING"


def binding_from_env(name: str, environ: Mapping[str, str] | None = None) -> PostgresBinding:
    """Read binding ``name`` from ``environ`` (default: ``os.environ``).

    The variable is looked up from the name, never found by scanning, so a
    malformed binding under another name cannot break this one.

    Raise `BindingNotConfigured` if the variable is unset, `BindingConfigInvalid`
    if its value is not a valid binding. Neither message contains the value.
    """
    variable = binding_env_var(name)
    env = os.environ if environ is None else environ
    text = env.get(variable)
    if text is None:
        raise BindingNotConfigured(name, variable)
    return parse_binding(text, name=name, variable=variable)
