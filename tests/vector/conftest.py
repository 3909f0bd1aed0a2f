from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from alien_nb.core import connection_string
from alien_nb.local import LocalPostgresManager
from tests.local.conftest import stop_everything


@pytest.fixture(scope="session")
def vector_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home: Path = tmp_path_factory.mktemp("vec") / "alien-home"
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    binding = manager.start("vec-tests")
    yield connection_string(binding).get_secret_value()
    stop_everything(home)


@pytest.fixture
def conn(vector_db: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(vector_db, autocommit=True) as connection:
        yield connection
