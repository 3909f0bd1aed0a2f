"""Issue 11, section 2: the first statement after a crash and restart runs; none runs twice.

Each test kills the server for real (``kill -9`` of the postmaster) and lets
it restart (the monitor, or a start from elsewhere). A statement sent on a
connection the server had already closed cannot have run, so the handle
reconnects first; one the server may have received when it died is
reported as such (`StatementInterrupted`) and never sent again, which a
committed side effect proves.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from IPython.testing import globalipapp

from alien_nb import StatementInterrupted, TransactionLost
from alien_nb.local import LocalPostgresManager
from alien_nb.notebook._state import NotebookState
from tests.frames import dataframe

from ._connection_crash import NAME, Lines, kill9, monitor_held_off, server_port, wait_for


def crash_and_restart(manager: LocalPostgresManager) -> None:
    """kill -9, then wait for the monitor to bring the server back."""
    with monitor_held_off(manager, NAME):
        kill9(manager, NAME)
    wait_for(lambda: server_port(manager, NAME) is not None, "the monitor's restart")


def test_sql_after_a_crash_and_restart(state: NotebookState) -> None:
    db = state.start(NAME, show_progress=False)
    db.sql("CREATE TABLE t (v int); INSERT INTO t VALUES (1)")
    before = db.connection
    crash_and_restart(state.controller.manager)
    assert dataframe(db.sql("SELECT v FROM t"))["v"].tolist() == [1]  # today: "the connection is closed"
    assert db.connection is not before
    with db.engine.connect() as conn:  # the engine's pool_pre_ping replaces its dead connection
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
    crash_and_restart(state.controller.manager)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1


def test_vector_helper_after_a_crash_and_restart(state: NotebookState) -> None:
    db = state.start(NAME, show_progress=False)
    x = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    db.vector.load("items", x, progress=False)
    crash_and_restart(state.controller.manager)
    found = db.vector.search("items", x[3], k=1)
    assert found["id"].tolist() == [3]


def test_a_large_result_after_a_crash_and_restart(state: NotebookState, lines: Lines) -> None:
    db = state.start(NAME, show_progress=False)
    big = "SELECT g FROM generate_series(1, 6000) AS g"
    assert len(dataframe(db.sql(big))) == 6000 and sum("(binary, streamed)" in line for line in lines) == 1
    crash_and_restart(state.controller.manager)
    assert len(dataframe(db.sql(big))) == 6000 and sum("(binary, streamed)" in line for line in lines) == 2


def test_sql_cell_after_a_crash_and_restart(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIEN_NB_HOME", str(home))
    ip = globalipapp.start_ipython() or globalipapp.get_ipython()
    ip.run_line_magic("load_ext", "alien_nb")
    try:
        ip.run_line_magic("alien_postgres", f"start {NAME}")
        assert ip.run_cell_magic("alien_postgres", NAME, "SELECT 1 AS one")["one"].tolist() == [1]
        manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
        with monitor_held_off(manager, NAME):
            kill9(manager, NAME)
        manager.start(NAME)  # from another terminal, say
        assert ip.run_cell_magic("alien_postgres", NAME, "SELECT 2 AS two")["two"].tolist() == [2]
    finally:
        ip.run_line_magic("unload_ext", "alien_nb")
        ip.user_ns.pop("leaky", None)


BUMP = """
CREATE TABLE runs (at timestamptz DEFAULT now());
CREATE PROCEDURE bump() LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'on', true);
    INSERT INTO runs DEFAULT VALUES;
    COMMIT;  -- durable before the crash: the count shows how often the statement ran
    PERFORM pg_sleep(60);
END $$;
"""


def run_in_thread(func: Any) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def target() -> None:
        try:
            func()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    return thread, errors


def test_statement_killed_mid_flight_is_reported_and_not_run_again(state: NotebookState) -> None:
    db = state.start(NAME, show_progress=False)
    db.sql(BUMP)
    manager = state.controller.manager
    with db.connect(autocommit=True) as watcher:
        thread, errors = run_in_thread(lambda: db.sql("CALL bump()"))
        wait_for(lambda: watcher.execute("SELECT count(*) FROM runs").fetchone() == (1,), "the first run")
        with monitor_held_off(manager, NAME):
            kill9(manager, NAME)
            thread.join(timeout=60)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], StatementInterrupted), errors
    assert "may or may not have taken effect" in str(errors[0]) and "did not run it again" in str(errors[0])
    wait_for(lambda: server_port(manager, NAME) is not None, "the monitor's restart")
    assert dataframe(db.sql("SELECT count(*) AS n FROM runs"))["n"].tolist() == [1]  # ran once, never re-sent


def test_a_streamed_statement_killed_mid_flight(state: NotebookState) -> None:
    db = state.start(NAME, show_progress=False)
    manager = state.controller.manager
    # Its first 5001 rows are streamed at once, then it sleeps: killed half way through its result.
    slow = "SELECT g FROM generate_series(1, 6000) AS g WHERE CASE WHEN g < 5002 THEN true ELSE pg_sleep(60) IS NOT NULL END"
    with db.connect(autocommit=True) as watcher:
        thread, errors = run_in_thread(lambda: db.sql(slow))
        asleep = "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'"
        wait_for(lambda: watcher.execute(asleep).fetchone() == (1,), "the stream to reach its sleep")
        with monitor_held_off(manager, NAME):
            kill9(manager, NAME)
            thread.join(timeout=60)
    assert len(errors) == 1 and isinstance(errors[0], StatementInterrupted), errors
    wait_for(lambda: server_port(manager, NAME) is not None, "the monitor's restart")
    assert len(dataframe(db.sql("SELECT g FROM generate_series(1, 6000) AS g"))) == 6000


def test_open_transaction_lost_in_a_crash_is_an_error(state: NotebookState) -> None:
    db = state.start(NAME, show_progress=False)
    db.sql("CREATE TABLE t (v int)")
    db.sql("BEGIN")
    db.sql("INSERT INTO t VALUES (1)")
    crash_and_restart(state.controller.manager)
    with pytest.raises(TransactionLost, match="rolled back everything since its BEGIN"):
        db.sql("INSERT INTO t VALUES (2)")  # not run in autocommit as if the BEGIN still held
    assert dataframe(db.sql("SELECT count(*) AS n FROM t"))["n"].tolist() == [0]
