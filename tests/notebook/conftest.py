from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.testing import globalipapp

from tests.local.conftest import stop_everything


@pytest.fixture(scope="session")
def nb_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("nb") / "alien-home"
    yield home
    stop_everything(home)


@pytest.fixture
def ip(nb_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A real IPython shell with the extension loaded, state under ``nb_home``."""
    monkeypatch.setenv("ALIEN_NB_HOME", str(nb_home))
    shell = globalipapp.start_ipython() or globalipapp.get_ipython()
    shell.run_line_magic("load_ext", "alien_nb")
    yield shell
    shell.run_line_magic("unload_ext", "alien_nb")
    for key in [k for k in shell.user_ns if not k.startswith("_")]:
        if key not in {"In", "Out", "exit", "quit", "get_ipython"}:
            shell.user_ns.pop(key, None)


def password_of(home: Path, name: str) -> str:
    return str(json.loads((home / "postgres" / name / "metadata.json").read_text())["password"])
