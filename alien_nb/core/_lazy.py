"""Public names that load on first use: one PEP 562 ``__getattr__`` / ``__dir__`` pair for every package.

``alien_nb``, ``alien_nb.core`` and ``alien_nb.testing`` each list their public names with the
module that defines them; importing the package imports none of those modules, so
``import alien_nb`` and ``%load_ext alien_nb`` stay fast and need no optional dependency. Type
checkers and the docs see the names through each package's ``TYPE_CHECKING`` imports.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, modules: Mapping[str, str], *, renamed: Mapping[str, str] | None = None
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__, __dir__ = lazy_exports(__name__, {"Name": "._module", ...})``.

    Each value is the module defining the name, absolute or relative to ``package``. A name is
    imported on first access and then cached in the package, so later lookups cost nothing.
    ``renamed`` maps an old public name to its new one: the old name still works, with a
    `DeprecationWarning` that gives the new one (it is not listed by ``dir()``).
    """
    renamed = dict(renamed or {})

    def __getattr__(name: str) -> Any:
        if name in renamed:
            new = renamed[name]
            warnings.warn(
                f"{package}.{name} is now {package}.{new}; the old name will be removed.",
                DeprecationWarning,
                stacklevel=2,
            )
            return getattr(sys.modules[package], new)
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(modules))

    return __getattr__, __dir__
