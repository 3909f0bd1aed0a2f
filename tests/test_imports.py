"""Import cost and the public surface: what importing alien_nb drags in, and what it exports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("psycopg", "IPython", "boto3", "google", "azure", "pandas", "sqlalchemy", "numpy", "ipywidgets")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
        check=True,
        capture_output=True,
        text=True,
    )
    return {name.split(".")[0] for name in json.loads(out.stdout.splitlines()[-1])}


def test_import_alien_nb_loads_nothing_heavy() -> None:
    loaded = _modules_after("import alien_nb")
    assert "pydantic" not in loaded
    assert not loaded & set(HEAVY)


@pytest.mark.parametrize(
    "code",
    [
        "import alien_nb.core",
        "from alien_nb import Postgres, parse_binding",
        # catching an error must not load what raises it
        "from alien_nb import StartFailed, AlienError, MissingExtra, ConnectionFailed",
        "from alien_nb import SqlTextInvalid, CloudSettingsInvalid, BindingNotConfigured",
    ],
)
def test_core_and_the_errors_do_no_io_imports(code: str) -> None:
    loaded = _modules_after(code)
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_public_names_resolve_and_are_sorted() -> None:
    import alien_nb

    assert alien_nb.__all__ == sorted(alien_nb.__all__)
    for name in alien_nb.__all__:
        assert getattr(alien_nb, name) is not None
    with pytest.raises(AttributeError):
        alien_nb.does_not_exist  # noqa: B018


def test_core_all_is_sorted_and_resolves() -> None:
    import alien_nb.core as core

    assert core.__all__ == sorted(core.__all__, key=lambda n: (not n.isupper(), n))
    for name in core.__all__:
        assert getattr(core, name) is not None


PUBLIC_PACKAGES = [
    "alien_nb",
    "alien_nb.core",
    "alien_nb.resolver",
    "alien_nb.controllers",
    "alien_nb.local",
    "alien_nb.vector",
    "alien_nb.testing",
]


def _import_every_module() -> None:
    """Import every module of the package: the errors they define are then all subclasses."""
    import importlib
    from pathlib import Path

    import alien_nb
    from tests.import_graph import package_modules

    for name in package_modules(Path(alien_nb.__file__).parent):
        importlib.import_module(name)


def _home_of(cls: type) -> object:
    import importlib

    return getattr(importlib.import_module(cls.__module__), cls.__qualname__, None)


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_every_exported_class_names_a_module_that_has_it(package: str) -> None:
    """What tracebacks, ``help()`` and pickle show as a class's module is where it can be imported from."""
    import importlib

    module = importlib.import_module(package)
    assert len(set(module.__all__)) == len(module.__all__)
    for name in module.__all__:
        value = getattr(module, name)
        if isinstance(value, type):
            assert value.__name__ == name, (package, name)
            assert _home_of(value) is value, f"{package}.{name} says it is {value.__module__}.{name}"
    assert set(module.__all__) <= set(dir(module))


def _ours(cls: type) -> list[type]:
    """The package's own subclasses (not ones a test module may define)."""
    subclasses: list[type] = type.__subclasses__(cls)
    return [sub for sub in subclasses if sub.__module__.partition(".")[0] == "alien_nb"]


def _subclasses(root: type) -> list[type]:
    found = [root]
    for sub in _ours(root):
        found += _subclasses(sub)
    return found


def test_every_error_is_importable_where_it_says_it_is() -> None:
    import pickle

    import alien_nb
    from alien_nb.core import AlienError

    _import_every_module()
    errors = _subclasses(AlienError)
    claimed_top = {cls.__name__ for cls in errors if cls.__module__ == "alien_nb"}
    assert claimed_top <= set(alien_nb.__all__), claimed_top - set(alien_nb.__all__)
    for cls in errors:
        assert _home_of(cls) is cls, f"{cls.__module__}.{cls.__qualname__}"
        # A raised error survives pickling (multiprocessing): pickle finds the class by that name.
        err: AlienError = AlienError.__new__(cls)
        AlienError.__init__(err, "boom", hint="do this")
        again = pickle.loads(pickle.dumps(err))
        assert type(again) is cls and str(again) == "boom do this"
    # The errors the docs tell users to catch can be caught under those names.
    for name in ("AlienError", "MissingExtra", "ConnectionFailed", "StartFailed", "StopFailed",
                 "LockTimeout", "VersionUnavailable", "ServerAccountError", "SecretResolutionFailed",
                 "SecretValueInvalid", "BindingNotConfigured", "BindingConfigInvalid",
                 "CloudSettingsInvalid", "SqlError", "ParameterMissing"):  # fmt: skip
        assert issubclass(getattr(alien_nb, name), AlienError), name
    import alien_nb.vector as vector

    for name in ("DimensionMismatch", "InvalidEmbeddings", "TableNotFound", "ColumnNotFound",
                 "InvalidArgument", "ServerRefused", "IndexExists", "VectorError"):  # fmt: skip
        assert issubclass(getattr(vector, name), AlienError), name
    assert vector.IndexMemoryWarning.__module__ == "alien_nb.vector"


def _drawn_tree(doc: str) -> set[tuple[str, str]]:
    """(parent, child) pairs of the box drawing: each level is indented four more columns."""
    import re

    block = doc.split("::", 1)[1]
    lines = [line for line in block.splitlines() if line.strip()]
    lines = lines[: next(i for i, line in enumerate(lines) if not line.startswith("    "))]
    stack: list[str] = []
    edges = set()
    for line in lines:
        match = re.match(r"(\s*(?:[│ ]   )*(?:[├└]── )?)(\w+)", line)
        assert match, line
        depth = (len(match.group(1)) - 4) // 4
        del stack[depth:]
        if stack:
            edges.add((stack[-1], match.group(2)))
        stack.append(match.group(2))
    return edges


def test_the_drawn_error_hierarchy_is_the_real_one() -> None:
    from alien_nb.core import AlienError, _errors

    _import_every_module()
    real = {(cls.__name__, sub.__name__) for cls in _subclasses(AlienError) for sub in _ours(cls)}
    drawn = _drawn_tree(_errors.__doc__ or "")
    assert drawn == real, (
        f"missing from the drawing: {sorted(real - drawn)}; not real: {sorted(drawn - real)}"
    )


def test_the_handle_and_sql_errors_import_without_ipython() -> None:
    # Scripts and workers annotate with Database and catch SqlError without a kernel.
    kernel = {"IPython", "ipywidgets", "ipykernel"}
    loaded = _modules_after("from alien_nb import Database, SqlError, StatementInterrupted")
    assert not loaded & kernel, loaded & kernel


def test_lazy_exports_are_one_helper() -> None:
    import alien_nb
    import alien_nb.core
    import alien_nb.notebook
    import alien_nb.testing

    for package in (alien_nb, alien_nb.core, alien_nb.notebook, alien_nb.testing):
        assert package.__getattr__.__module__ == "alien_nb.core._lazy", package
        with pytest.raises(AttributeError, match=f"module '{package.__name__}' has no attribute 'nope'"):
            package.nope  # noqa: B018


def test_a_renamed_public_name_still_works_and_says_its_new_name() -> None:
    import alien_nb
    import alien_nb.resolver

    for package in (alien_nb, alien_nb.resolver):
        with pytest.warns(DeprecationWarning, match=rf"{package.__name__}\.ConnectionDetails"):
            old = package.PostgresConnection
        assert old is alien_nb.ConnectionDetails
        assert "PostgresConnection" not in dir(package)
