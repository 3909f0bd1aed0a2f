"""Review of issue 11, section 2/6: concurrent deletes of one database.

Two notebooks (or a notebook and a terminal) delete the same database at once: the one that
loses the lock finds the folder gone and gets a raw FileNotFoundError out of shutil.rmtree,
not a specific AlienError (or an idempotent success).
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from alien_nb import AlienError
from alien_nb.local import LocalPostgresManager
from tests.local.conftest import stop_everything


def _delete(home: str) -> str:
    try:
        LocalPostgresManager(Path(home), notify=lambda _m: None, monitor=False).delete("racy")
    except AlienError as exc:
        return f"AlienError {type(exc).__name__}"
    except Exception as exc:  # what the user would see as a raw traceback
        return f"RAW {type(exc).__name__}: {exc}"
    return "ok"


def test_concurrent_deletes_give_no_raw_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    try:
        LocalPostgresManager(home, notify=lambda _m: None, monitor=False).start("racy")
        with multiprocessing.get_context("spawn").Pool(4) as pool:
            results = pool.map(_delete, [str(home)] * 4)
        assert results.count("ok") >= 1
        assert not [r for r in results if r.startswith("RAW")], results
        assert not (home / "postgres" / "racy").exists()
    finally:
        stop_everything(home)
