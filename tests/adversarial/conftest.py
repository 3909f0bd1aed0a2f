"""Fixtures the adversarial tests share: a private home whose servers are stopped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alien_nb.notebook._state import NotebookState
from tests.local.conftest import Notices, short_home

from ._connection_crash import Lines, notebook


@pytest.fixture
def home() -> Iterator[Path]:
    # Short, so the server's Unix socket path fits (tests that want TCP only make a deep one).
    with short_home() as path:
        yield path


@pytest.fixture
def notices() -> Notices:
    return Notices()


@pytest.fixture
def lines() -> Lines:
    return Lines()


@pytest.fixture
def state(home: Path, lines: Lines) -> Iterator[NotebookState]:
    state = notebook(home, lines)
    yield state
    state.close()
