"""Review of issue 11, section 2: the "initialised once" guard lives only in state.json.

An existing database whose data directory is missing (a disk not mounted yet) is refused with
DataDirInvalid, but only while state.json says ``initialized``. state.json is written without
fsync and read as defaults when it is empty, truncated or gone, so with it unreadable the same
start silently runs initdb and hands back an empty database under the old name and password.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from alien_nb.local import DataDirInvalid, LocalPostgresManager
from tests.local.conftest import stop_everything


@pytest.mark.parametrize("state", ["", "{", None], ids=["empty", "truncated", "deleted"])
def test_a_missing_data_dir_is_refused_whatever_state_json_holds(tmp_path: Path, state: str | None) -> None:
    home = tmp_path / "home"
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    try:
        manager.start("kept")
        manager.stop("kept")
        root = home / "postgres" / "kept"
        shutil.move(root / "data", tmp_path / "unmounted")
        if state is None:
            (root / "state.json").unlink()
        else:
            (root / "state.json").write_text(state)
        with pytest.raises(DataDirInvalid):
            manager.start("kept")
        assert not (root / "data").exists(), "a new, empty data directory was initialised"
    finally:
        stop_everything(home)
