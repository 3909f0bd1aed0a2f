"""Layering and import cost: what importing each layer drags in."""

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


@pytest.mark.parametrize("code", ["import alien_nb.core", "from alien_nb import Postgres, parse_binding"])
def test_core_does_no_io_imports(code: str) -> None:
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
