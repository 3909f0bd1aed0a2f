"""Whether a database was ever initialised, when state.json is lost, corrupt or old.

initdb may run only when state.json says "not initialised yet" (written, fsynced, before
metadata.json at creation). Anything else beside a missing data directory is refused with a
hint, and nothing is changed; a first start killed before initdb finished still recovers, and
databases of the previous version (state.json with ``initialized`` true, or only
``bootstrapped``) keep working.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from alien_nb.local import DataDirInvalid, LocalPostgresManager
from alien_nb.local import _cluster as cluster_module
from alien_nb.local._state import DesiredState, read_state, write_state
from tests.local.conftest import Notices


@pytest.fixture
def manager(home: Path, notices: Notices) -> LocalPostgresManager:
    return LocalPostgresManager(home, notify=notices, monitor=False)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "server.log"
    }


def _stopped_db(manager: LocalPostgresManager, home: Path, name: str) -> Path:
    manager.start(name)
    manager.stop(name)
    return home / "postgres" / name


def test_stop_on_a_corrupt_state_json_does_not_make_it_say_not_initialised(
    manager: LocalPostgresManager, home: Path, tmp_path: Path
) -> None:
    # stop rewrites state.json (desired=stopped) from what it read: defaults read from a
    # corrupt file must not become a durable "never initialised".
    root = _stopped_db(manager, home, "corrupt")
    shutil.move(root / "data", tmp_path / "unmounted")
    (root / "state.json").write_text("\0\0\0")
    manager.stop("corrupt")
    assert read_state(root / "state.json").initialized is None
    before = _snapshot(root)
    with pytest.raises(DataDirInvalid) as caught:
        manager.start("corrupt")
    assert "alien-nb delete corrupt --yes" in (caught.value.hint or "")
    assert not (root / "data").exists()
    assert _snapshot(root) == before, "a refused start changed files"


def test_lost_metadata_and_missing_data_never_make_a_new_database(
    manager: LocalPostgresManager, home: Path, tmp_path: Path
) -> None:
    root = _stopped_db(manager, home, "lost")
    shutil.move(root / "data", tmp_path / "unmounted")
    (root / "metadata.json").unlink()
    with pytest.raises(DataDirInvalid):
        manager.start("lost")
    assert not (root / "metadata.json").exists() and not (root / "data").exists()


@pytest.mark.parametrize(
    "old_state",
    [
        {"desired": "stopped", "bootstrapped": True, "initialized": True},
        {"desired": "running", "bootstrapped": True},  # written before `initialized` existed
    ],
    ids=["initialized", "bootstrapped-only"],
)
def test_databases_of_the_previous_version_keep_working(
    manager: LocalPostgresManager, home: Path, tmp_path: Path, old_state: dict[str, object]
) -> None:
    root = _stopped_db(manager, home, "old")
    (root / "state.json").write_text(json.dumps(old_state))
    binding = manager.start("old")
    assert manager.status("old").lifecycle == "running" and binding.database == "old"
    manager.stop("old")
    (root / "state.json").write_text(json.dumps(old_state))
    shutil.move(root / "data", tmp_path / "unmounted")
    with pytest.raises(DataDirInvalid):
        manager.start("old")
    assert not (root / "data").exists()


def test_a_first_start_killed_before_initdb_finished_recovers(
    home: Path, notices: Notices, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Killed(BaseException):
        pass

    def killed(*_args: object, **_kwargs: object) -> object:
        raise Killed

    manager = LocalPostgresManager(home, notify=notices, monitor=False)
    monkeypatch.setattr(cluster_module.subprocess, "run", killed)  # the moment initdb would run
    with pytest.raises(Killed):
        manager.start("fresh")
    monkeypatch.undo()
    root = home / "postgres" / "fresh"
    assert (root / "metadata.json").exists() and not (root / "data").exists()
    assert read_state(root / "state.json").initialized is False
    binding = manager.start("fresh")
    assert manager.status("fresh").lifecycle == "running" and binding.database == "fresh"
    assert read_state(root / "state.json").initialized is True
    manager.stop("fresh")


def test_write_state_syncs_the_file_and_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[bool] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.path.isdir(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    write_state(tmp_path / "state.json", DesiredState(initialized=False))
    assert synced == [False, True]
    assert read_state(tmp_path / "state.json").initialized is False


@pytest.mark.parametrize(
    "text", ["", "{", "[]", "null", '{"initialized": "no"}', '{"initialized": 0}', '{"bootstrapped": false}']
)
def test_anything_but_an_explicit_false_is_unknown_or_initialised(tmp_path: Path, text: str) -> None:
    (tmp_path / "state.json").write_text(text)
    assert read_state(tmp_path / "state.json").initialized is not False
