"""A delete that wins the database lock while stop, delete or binding wait for it.

Whoever waited must see DatabaseNotFound (an AlienError with a hint), never a raw
FileNotFoundError from a folder that vanished under it; status and list while a delete runs
report the database gone (or skip it), and a start after it makes a new one.
"""

from __future__ import annotations

import multiprocessing
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from alien_nb import AlienError
from alien_nb.local import DatabaseNotFound, LocalPostgresManager
from alien_nb.local import _manager as manager_module
from alien_nb.local import _private as private_module
from alien_nb.local._layout import dir_size
from alien_nb.local._lock import database_lock
from alien_nb.local._metadata import read_metadata


def _behind_a_delete(
    manager: LocalPostgresManager, call: Callable[[], object], monkeypatch: pytest.MonkeyPatch
) -> BaseException | None:
    """Run ``call`` while this test holds the lock, remove the folder, then let it go on."""
    paths = manager.paths("gone")
    waiting = threading.Event()
    real = database_lock

    def signalling_lock(path: Path, name: str, **kwargs: float) -> AbstractContextManager[None]:
        waiting.set()
        return real(path, name, **kwargs)

    monkeypatch.setattr(manager_module, "database_lock", signalling_lock)
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    with database_lock(paths.lock, "gone"):
        worker = threading.Thread(target=run)
        worker.start()
        assert waiting.wait(10)
        shutil.rmtree(paths.root)  # what the delete that won the lock does
    worker.join(30)
    assert not worker.is_alive()
    return outcome[0]


@pytest.fixture
def folder_only(home: Path) -> Iterator[LocalPostgresManager]:
    # No server is needed: the lock and the folder are all these calls look at first.
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    manager.paths("gone").lock.parent.mkdir(parents=True)
    manager.paths("gone").root.mkdir()
    yield manager


@pytest.mark.parametrize("method", ["delete", "stop"])
def test_waiting_behind_a_delete_is_database_not_found(
    folder_only: LocalPostgresManager, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    exc = _behind_a_delete(folder_only, lambda: getattr(folder_only, method)("gone"), monkeypatch)
    assert isinstance(exc, DatabaseNotFound), repr(exc)
    assert exc.hint and "alien-nb start gone" in exc.hint
    assert not folder_only.paths("gone").root.exists()


def test_binding_of_a_database_deleted_meanwhile_is_database_not_found(
    folder_only: LocalPostgresManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = folder_only.paths("gone")
    real_read = read_metadata

    def deleted_first(path: Path, **kwargs: object) -> object:
        shutil.rmtree(paths.root)
        return real_read(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(private_module, "read_metadata", deleted_first)
    with pytest.raises(DatabaseNotFound):
        folder_only.binding("gone")


def test_list_skips_a_database_deleted_while_it_looks(
    folder_only: LocalPostgresManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = folder_only.paths("gone")
    (paths.root / "metadata.json").write_text("{}")
    real_size = dir_size

    def deleted_meanwhile(path: Path) -> int:
        shutil.rmtree(paths.root)
        return real_size(path)

    (paths.root / "data").mkdir()
    monkeypatch.setattr(manager_module, "dir_size", deleted_meanwhile)
    assert folder_only.list() == []


def _race(job: tuple[str, str]) -> str:
    method, home = job
    manager = LocalPostgresManager(Path(home), notify=lambda _m: None, monitor=False)
    try:
        if method == "list":
            manager.list()
        else:
            getattr(manager, method)("racy")
    except AlienError as exc:
        return f"AlienError {type(exc).__name__}"
    except Exception as exc:  # a raw traceback for the user
        return f"RAW {type(exc).__name__}: {exc}"
    return "ok"


def test_deletes_stops_and_statuses_at_once_give_no_raw_error(home: Path) -> None:
    LocalPostgresManager(home, notify=lambda _m: None, monitor=False).start("racy")
    jobs = [
        (m, str(home)) for m in ("stop", "delete", "status", "delete", "list", "stop", "status", "delete")
    ]
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.map(_race, jobs)
    assert not [r for r in results if r.startswith("RAW")], results
    assert "ok" in [results[i] for i, (method, _home) in enumerate(jobs) if method == "delete"], results
    assert not (home / "postgres" / "racy").exists()
