"""The layers of alien_nb, checked on every import of every module (found by tests/import_graph.py).

    core/                    pure: parses, validates, sizes, renders; no I/O
      ├── local/             local servers          ─┐
      ├── resolver/          bindings → connections  ├ each imports only core (and itself)
      └── vector/            pgvector helpers       ─┘
            └── controllers/ local and cloud lifecycles, one interface
                  └── notebook/   magics, panel, frames: the only layer that knows IPython
                        └── cli, demo (a module or a package, demo or _demo)

``alien_nb/__init__.py`` (the front door) names things from the layers lazily.
``alien_nb/testing/`` (loopback emulators) imports only core, and nothing in the package
imports it. No modules import each other in a circle, however late the import runs.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.import_graph import (
    Import,
    RelativeImportBeyondTop,
    When,
    find_cycles,
    imports_in,
    imports_of_package,
    package_modules,
)

PACKAGE = Path(__file__).resolve().parents[1] / "alien_nb"
FRONT_DOOR = "alien_nb"
LOWER = ("core", "local", "resolver", "vector", "controllers", "notebook")

# The layers each layer may import, besides itself.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "local": frozenset({"core"}),
    "resolver": frozenset({"core"}),
    "vector": frozenset({"core"}),
    "controllers": frozenset({"core", "local", "resolver"}),
    "notebook": frozenset({"core", "local", "resolver", "vector", "controllers"}),
    FRONT_DOOR: frozenset(LOWER),
    "cli": frozenset({*LOWER, FRONT_DOOR, "demo"}),
    "demo": frozenset({*LOWER, FRONT_DOOR}),
    "testing": frozenset({"core"}),
}

# Only the notebook layer may import these (IPython and its widget and kernel machinery).
IPYTHON = frozenset({"IPython", "ipywidgets", "ipykernel", "traitlets", "comm"})


def layer_of(module: str) -> str | None:
    """The layer of an alien_nb module, or None for a module outside every layer."""
    parts = module.split(".")
    if parts[0] != "alien_nb":
        return None
    if len(parts) == 1:
        return FRONT_DOOR
    if parts[1] in ("demo", "_demo"):
        return "demo"
    if parts[1] == "_cli":  # the subcommands behind cli.py
        return "cli"
    return parts[1] if parts[1] in MAY_IMPORT else None


def layer_violations(imports: list[Import]) -> list[str]:
    """One line per import of a layer its importer may not import (file:line first)."""
    wrong = []
    for imp in imports:
        source, target = layer_of(imp.source), layer_of(imp.target)
        if source is None or target is None or target == source:
            continue
        if target not in MAY_IMPORT[source]:
            allowed = ", ".join(sorted(MAY_IMPORT[source])) or "nothing else"
            wrong.append(
                f"{imp.path}:{imp.line}: {imp.source} ({source} layer) imports {imp.target} "
                f"({target} layer, {imp.when}); {source} may import: {allowed}"
            )
    return wrong


def ipython_outside_notebook(imports: list[Import]) -> list[str]:
    return [
        f"{imp.path}:{imp.line}: {imp.source} ({layer_of(imp.source)} layer) imports {imp.target} "
        f"({imp.when}); only the notebook layer knows IPython"
        for imp in imports
        if imp.target.split(".")[0] in IPYTHON and layer_of(imp.source) != "notebook"
    ]


@pytest.fixture(scope="module")
def package_imports() -> list[Import]:
    return imports_of_package(PACKAGE)


def internal(imports: list[Import]) -> list[Import]:
    return [imp for imp in imports if layer_of(imp.target) is not None or imp.target.startswith("alien_nb.")]


# -- the package ---------------------------------------------------------------------------------


def test_the_scan_sees_every_form_in_the_package(package_imports: list[Import]) -> None:
    # If the scan went blind (wrong folder, a form no longer found), every check below would pass.
    assert len(package_modules(PACKAGE)) > 80
    found = {(imp.source, imp.target, imp.when) for imp in package_imports}
    assert ("alien_nb", "alien_nb.resolver", "lazy") in found  # the front door's table of names
    assert ("alien_nb", "alien_nb.core", "type-checking") in found
    assert ("alien_nb", "alien_nb.notebook", "function") in found  # load_ipython_extension
    assert ("alien_nb.core", "alien_nb.core._bindings", "lazy") in found  # core's lazy exporter
    assert ("alien_nb.testing", "alien_nb.testing._tls", "lazy") in found
    assert {imp.when for imp in package_imports} == {"module", "type-checking", "function", "lazy"}


def test_every_module_is_in_a_layer() -> None:
    outside = [module for module in package_modules(PACKAGE) if layer_of(module) is None]
    assert not outside, f"modules in no layer (add them to MAY_IMPORT in {__file__}): {outside}"


def test_each_layer_imports_only_the_layers_below_it(package_imports: list[Import]) -> None:
    wrong = layer_violations(package_imports)
    if wrong:
        pytest.fail("imports against the layers:\n" + "\n".join(wrong), pytrace=False)


def test_only_the_notebook_layer_imports_ipython(package_imports: list[Import]) -> None:
    wrong = ipython_outside_notebook(package_imports)
    if wrong:
        pytest.fail("\n".join(wrong), pytrace=False)


def test_every_import_of_the_package_names_a_module_that_exists(package_imports: list[Import]) -> None:
    modules = set(package_modules(PACKAGE))
    missing = [str(imp) for imp in internal(package_imports) if imp.target not in modules]
    if missing:
        pytest.fail("imports of modules that do not exist:\n" + "\n".join(missing), pytrace=False)


def test_no_modules_import_each_other_in_a_circle(package_imports: list[Import]) -> None:
    circles = find_cycles(internal(package_imports))
    if circles:
        pytest.fail("import circles:\n" + "\n".join(map(str, circles)), pytrace=False)


# -- the checks themselves, on made-up imports -----------------------------------------------------


def _imp(source: str, target: str, when: When = "module", line: int = 1) -> Import:
    return Import(source, target, Path(source.replace(".", "/") + ".py"), line, when)


def test_a_layer_violation_names_file_line_and_layers() -> None:
    wrong = layer_violations(
        [
            _imp("alien_nb.core._sql", "alien_nb.notebook._fetch", "function", 7),
            _imp("alien_nb.vector._load", "alien_nb.resolver"),
            _imp("alien_nb.notebook._state", "alien_nb.testing"),
            _imp("alien_nb.notebook._state", "alien_nb.controllers"),  # allowed
            _imp("alien_nb.local._manager", "alien_nb.local._monitor"),  # its own layer
            _imp("alien_nb.testing._gcp", "alien_nb.core._crc32c"),  # allowed
        ]
    )
    assert wrong == [
        "alien_nb/core/_sql.py:7: alien_nb.core._sql (core layer) imports alien_nb.notebook._fetch "
        "(notebook layer, function); core may import: nothing else",
        "alien_nb/vector/_load.py:1: alien_nb.vector._load (vector layer) imports alien_nb.resolver "
        "(resolver layer, module); vector may import: core",
        "alien_nb/notebook/_state.py:1: alien_nb.notebook._state (notebook layer) imports alien_nb.testing "
        "(testing layer, module); notebook may import: controllers, core, local, resolver, vector",
    ]


def test_no_layer_but_testing_may_import_testing() -> None:
    assert [layer for layer, allowed in MAY_IMPORT.items() if "testing" in allowed] == []


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("alien_nb", FRONT_DOOR),
        ("alien_nb.core._sql", "core"),
        ("alien_nb.cli", "cli"),
        ("alien_nb.cli._parser", "cli"),
        ("alien_nb.demo", "demo"),
        ("alien_nb._demo._tour", "demo"),
        ("alien_nb.testing._tls", "testing"),
        ("alien_nb._misc", None),
        ("numpy", None),
    ],
)
def test_layer_of(module: str, layer: str | None) -> None:
    assert layer_of(module) == layer


def test_ipython_outside_the_notebook_layer_is_named() -> None:
    found = ipython_outside_notebook(
        [
            _imp("alien_nb.cli", "IPython.core.error", "function", 3),
            _imp("alien_nb.notebook._magics", "IPython"),
        ]
    )
    assert found == [
        "alien_nb/cli.py:3: alien_nb.cli (cli layer) imports IPython.core.error (function); "
        "only the notebook layer knows IPython"
    ]


def test_a_circle_is_found_with_each_edge() -> None:
    circles = find_cycles(
        [
            _imp("alien_nb.a", "alien_nb.b", line=1),
            _imp("alien_nb.b", "alien_nb.c", "function", line=2),
            _imp("alien_nb.c", "alien_nb.a", "type-checking", line=3),
            _imp("alien_nb.c", "alien_nb.d", line=4),
            _imp("alien_nb.d", "alien_nb.d", line=5),  # a module importing itself is no circle
        ]
    )
    assert [circle.modules for circle in circles] == [frozenset({"alien_nb.a", "alien_nb.b", "alien_nb.c"})]
    assert [[(imp.source, imp.target, imp.line) for imp in circle.imports] for circle in circles] == [
        [("alien_nb.a", "alien_nb.b", 1), ("alien_nb.b", "alien_nb.c", 2), ("alien_nb.c", "alien_nb.a", 3)]
    ]
    assert str(circles[0]).startswith("alien_nb.a -> alien_nb.b -> alien_nb.c -> alien_nb.a\n")
    assert find_cycles([_imp("alien_nb.a", "alien_nb.b"), _imp("alien_nb.b", "alien_nb.c")]) == []


# -- the import finder, on made-up sources: every form -------------------------------------------

MODULES = {
    "alien_nb",
    "alien_nb.core",
    "alien_nb.core._sql",
    "alien_nb.local",
    "alien_nb.local._manager",
    "alien_nb.local._monitor",
    "alien_nb.notebook",
    "alien_nb.vector",
}


def found(
    source: str, module: str = "alien_nb.local._manager", *, is_package: bool = False
) -> list[tuple[str, str]]:
    imports = imports_in(
        textwrap.dedent(source), module, is_package=is_package, is_module=MODULES.__contains__
    )
    return [(imp.target, imp.when) for imp in imports]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import alien_nb.core._sql", [("alien_nb.core._sql", "module")]),
        ("import alien_nb.core as c, json", [("alien_nb.core", "module"), ("json", "module")]),
        ("from alien_nb import core", [("alien_nb.core", "module")]),
        ("from alien_nb import Postgres", [("alien_nb", "module")]),  # a name, not a module
        (
            "from alien_nb.core import _sql, parse_sql",
            [("alien_nb.core._sql", "module"), ("alien_nb.core", "module")],
        ),
        ("from ..core import parse_binding", [("alien_nb.core", "module")]),
        ("from .. import core", [("alien_nb.core", "module")]),
        ("from . import _monitor", [("alien_nb.local._monitor", "module")]),
        ("from ._monitor import ServerMonitor", [("alien_nb.local._monitor", "module")]),
        ("from .._x import *", [("alien_nb._x", "module")]),
        ("from . import *", [("alien_nb.local", "module")]),
    ],
)
def test_each_import_statement_form_resolves(source: str, expected: list[tuple[str, str]]) -> None:
    assert found(source) == expected


def test_relative_imports_in_a_package_start_from_the_package_itself() -> None:
    source = "from . import _manager\nfrom ._monitor import M\nfrom ..core import x\n"
    assert found(source, "alien_nb.local", is_package=True) == [
        ("alien_nb.local._manager", "module"),
        ("alien_nb.local._monitor", "module"),
        ("alien_nb.core", "module"),
    ]


def test_a_relative_import_above_the_top_is_an_error() -> None:
    with pytest.raises(RelativeImportBeyondTop, match="goes above"):
        found("from ...core import x")


def test_when_each_import_runs() -> None:
    source = """
        import typing
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from ..core import A
        else:
            from ..vector import B
        if typing.TYPE_CHECKING:
            import alien_nb.notebook
        try:
            import alien_nb.core._sql
        except ImportError:
            pass

        class Manager:
            from . import _monitor

            def start(self):
                def inner():
                    from ..notebook import C
                return inner

        async def later(x=__import__("alien_nb.vector")):
            import alien_nb.core
            return lambda: __import__("alien_nb.local")
        """
    assert found(source) == [
        ("typing", "module"),
        ("typing", "module"),
        ("alien_nb.core", "type-checking"),
        ("alien_nb.vector", "module"),
        ("alien_nb.notebook", "type-checking"),
        ("alien_nb.core._sql", "module"),
        ("alien_nb.local._monitor", "module"),
        ("alien_nb.notebook", "function"),
        ("alien_nb.vector", "module"),  # a default runs with the def
        ("alien_nb.core", "function"),
        ("alien_nb.local", "function"),
    ]


def test_import_module_with_a_literal_name() -> None:
    source = """
        import importlib
        from importlib import import_module

        importlib.import_module("alien_nb.core._sql")
        import_module("._monitor", __package__)
        import_module("..core", package="alien_nb.local")

        def load():
            return importlib.import_module(".notebook", "alien_nb")
        """
    assert found(source) == [
        ("importlib", "module"),
        ("importlib", "module"),
        ("alien_nb.core._sql", "module"),
        ("alien_nb.local._monitor", "module"),
        ("alien_nb.core", "module"),
        ("alien_nb.notebook", "function"),
    ]


def test_a_lazy_exporters_table_of_module_names() -> None:
    source = """
        import importlib

        _MODULES = {"parse_sql": "._sql", "Postgres": "alien_nb.core", "note": "not.a.module", "x": "x"}

        def __getattr__(name):
            return getattr(importlib.import_module(_MODULES[name], __name__), name)
        """
    assert found(source, "alien_nb.core", is_package=True) == [
        ("importlib", "module"),
        ("alien_nb.core._sql", "lazy"),
        ("alien_nb.core", "lazy"),
    ]


def test_module_names_in_strings_are_no_imports_without_a_lazy_exporter() -> None:
    assert (
        found('NAMES = {"a": "._sql", "b": "alien_nb.core"}\nlog = "alien_nb.local"\n', "alien_nb.core") == []
    )
