from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"

_STRIPPED_PREFIXES = ("PG", "ALIEN_", "AWS_", "GOOGLE_", "AZURE_")


def shared_path(*parts: str) -> Path:
    """A file from the team's ../shared folder, or a clear failure."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(
            f"{path} is missing: the tests read the shared contract files from <repo>/../shared/. "
            "Check out the shared folder beside the repository.",
            pytrace=False,
        )
    return path


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's Postgres, Alien or cloud settings."""
    for key in list(os.environ):
        if key.startswith(_STRIPPED_PREFIXES) and key != "ALIEN_NB_HOME":
            monkeypatch.delenv(key)


@pytest.fixture(autouse=True)
def isolated_known_secrets() -> Iterator[None]:
    """Each test starts with the process-wide secret registry as the session had it.

    In a user's kernel the registry only grows, by design. In one pytest
    process it would gather every test's passwords, some of them ordinary
    words ("postgres", "alien"), and then mask those words in other tests'
    output.
    """
    from alien_nb.core import known_redactor

    known = known_redactor()
    with known._lock:
        saved = (dict(known._secrets), known._text, known._bytes)
    yield
    with known._lock:
        known._secrets, known._text, known._bytes = saved


@pytest.fixture
def watched() -> Iterator[None]:
    """As if a person watched this run (a terminal, a Jupyter frontend): progress bars are drawn."""
    from alien_nb.core._progress import set_watch_policy

    set_watch_policy(lambda: True)
    yield
    set_watch_policy(None)


@pytest.fixture
def unwatched() -> Iterator[None]:
    """As if nobody watched (CI, a saved notebook run): progress bars stay silent."""
    from alien_nb.core._progress import set_watch_policy

    set_watch_policy(lambda: False)
    yield
    set_watch_policy(None)
