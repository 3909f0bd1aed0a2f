"""Repository-wide pytest setup: the tutorials' kernels get a private, temporary ALIEN_NB_HOME."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_HOME: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    # Always a private home, even when the developer exports ALIEN_NB_HOME: the tutorials drop and
    # rewrite tables in databases named like the ones a reader makes.
    global _HOME
    _HOME = Path(tempfile.mkdtemp(prefix="alien-nb-tests-"))
    os.environ["ALIEN_NB_HOME"] = str(_HOME / "home")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _HOME is None:
        return
    from alien_nb.local import LocalPostgresManager

    manager = LocalPostgresManager(_HOME / "home", notify=lambda _m: None, monitor=False)
    for status in manager.list():
        try:
            manager.stop(status.name)
        except Exception:
            pass
    shutil.rmtree(_HOME, ignore_errors=True)
