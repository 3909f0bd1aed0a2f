"""How a process finds its binding: ``ALIEN_<NAME>_BINDING``."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

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


class WorkerEnv(Mapping[str, str]):
    """Environment entries for a worker process; the values hold passwords.

    Pass it to ``subprocess.run(..., env={**os.environ, **env})``; its repr
    shows only the variable names.
    """

    def __init__(self, entries: Mapping[str, str]) -> None:
        self._entries = dict(entries)

    @classmethod
    def for_binding(cls, name: str, binding: PostgresBinding) -> WorkerEnv:
        return cls({binding_env_var(name): binding.runtime_json().get_secret_value()})

    def __getitem__(self, key: str) -> str:
        return self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"WorkerEnv({', '.join(self._entries)}: <redacted>)"

    __str__ = __repr__

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))
