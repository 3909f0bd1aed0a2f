"""Crashes and restarts: a recycled pid in postmaster.pid, a data directory deleted under its server."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from alien_nb.core import connection_string
from alien_nb.local import LocalPostgresManager
from alien_nb.local._monitor import ServerMonitor
from alien_nb.local._postmaster import is_postgres_process, process_alive, read_postmaster_pid
from tests.local.conftest import Notices


def _kill_hard(manager: LocalPostgresManager, name: str) -> str:
    """SIGKILL the postmaster (its postmaster.pid stays behind); the file's text."""
    data = manager.paths(name).data
    text = (data / "postmaster.pid").read_text()
    info = read_postmaster_pid(data)
    assert info is not None
    os.kill(info.pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while process_alive(info.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return text


@contextmanager
def _postgres_lookalike(cwd: Path) -> Iterator[int]:
    """A live process named ``postgres`` whose working directory is the data dir: a recycled pid."""
    proc = subprocess.Popen(["postgres", "600"], executable="/bin/sleep", cwd=cwd)
    try:
        deadline = time.monotonic() + 10  # until the exec has happened
        while not is_postgres_process(proc.pid, cwd) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert is_postgres_process(proc.pid, cwd)  # what the old check accepted
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def _plant(data: Path, old_text: str, pid: int, *, start_time: int | None = None) -> None:
    lines = old_text.split("\n")
    lines[0] = str(pid)
    if start_time is not None:
        lines[2] = str(start_time)
    (data / "postmaster.pid").write_text("\n".join(lines))


def _works(manager: LocalPostgresManager, name: str) -> None:
    with psycopg.connect(connection_string(manager.binding(name)).get_secret_value()) as conn:
        assert conn.execute("SELECT count(*) FROM kept").fetchone() == (3,)


@pytest.mark.parametrize("when", ["same-second", "before-a-reboot"])
def test_start_sees_through_a_recycled_pid(manager: LocalPostgresManager, when: str) -> None:
    binding = manager.start("pid-db")
    with psycopg.connect(connection_string(binding).get_secret_value(), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept AS SELECT generate_series(1, 3) AS i")
    old = _kill_hard(manager, "pid-db")
    data = manager.paths("pid-db").data
    with _postgres_lookalike(data) as pid:
        # "same-second": only the silent socket gives it away; otherwise the start time does too.
        start_time = None if when == "same-second" else int(time.time()) - 86400
        _plant(data, old, pid, start_time=start_time)
        assert manager.status("pid-db").process_running is False
        manager.start("pid-db")
        info = read_postmaster_pid(data)
        assert info is not None and info.pid != pid and process_alive(pid)  # the look-alike was left alone
        _works(manager, "pid-db")
    manager.stop("pid-db")


def test_start_sees_through_another_databases_postmaster(manager: LocalPostgresManager) -> None:
    """Same account, a real postmaster: but of another data directory."""
    manager.start("other-db")
    binding = manager.start("pid2-db")
    with psycopg.connect(connection_string(binding).get_secret_value(), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept AS SELECT generate_series(1, 3) AS i")
    old = _kill_hard(manager, "pid2-db")
    other = read_postmaster_pid(manager.paths("other-db").data)
    assert other is not None
    _plant(manager.paths("pid2-db").data, old, other.pid)
    manager.start("pid2-db")
    _works(manager, "pid2-db")
    assert manager.status("other-db").pid == other.pid  # untouched
    manager.stop("pid2-db")
    manager.stop("other-db")


def test_the_monitor_restarts_through_a_recycled_pid(home: Path, notices: Notices) -> None:
    manager = LocalPostgresManager(home, notify=notices, monitor=False)
    binding = manager.start("mon-db")
    with psycopg.connect(connection_string(binding).get_secret_value(), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept AS SELECT generate_series(1, 3) AS i")
    old = _kill_hard(manager, "mon-db")
    data = manager.paths("mon-db").data
    with _postgres_lookalike(data) as pid:
        _plant(data, old, pid)
        monitor = ServerMonitor(manager.names, manager._restart_if_down, interval=60)
        for _ in range(200):  # orphaned backends may hold the shared memory for a moment
            monitor.check_once()
            if any("restarted" in n for n in notices):
                break
        assert any("restarted" in n for n in notices), notices
        _works(manager, "mon-db")
    manager.stop("mon-db")


@pytest.mark.parametrize("how", ["deleted", "moved"])
@pytest.mark.parametrize("action", ["stop", "delete"])
def test_a_server_whose_data_dir_is_gone_is_still_stopped(
    manager: LocalPostgresManager, notices: Notices, tmp_path: Path, how: str, action: str
) -> None:
    manager.start("gone-db")
    data = manager.paths("gone-db").data
    info = read_postmaster_pid(data)
    assert info is not None
    if how == "deleted":
        shutil.rmtree(data)
    else:
        data.rename(tmp_path / "moved-data")
    assert process_alive(info.pid)
    status = manager.status("gone-db")
    assert status.process_running and status.pid == info.pid and status.health == "unhealthy"
    if action == "stop":
        assert manager.stop("gone-db") is True
        assert manager.status("gone-db").process_running is False
    else:
        manager.delete("gone-db")
        assert not manager.paths("gone-db").root.exists()
    assert not process_alive(info.pid)
    assert any(str(info.pid) in n and "still running" in n for n in notices), notices


def test_stop_reports_whether_it_stopped_anything(manager: LocalPostgresManager) -> None:
    manager.start("flag-db")
    assert manager.stop("flag-db") is True
    assert manager.stop("flag-db") is False


def test_a_reused_recorded_pid_is_never_signalled(manager: LocalPostgresManager) -> None:
    """state.json names the server by pid and start time: a new process with that pid is not it."""
    import json

    manager.start("rec-db")
    manager.stop("rec-db")
    paths = manager.paths("rec-db")
    shutil.rmtree(paths.data)
    victim = subprocess.Popen(["postgres", "600"], executable="/bin/sleep")
    try:
        state = json.loads(paths.state.read_text())
        state["server_pid"] = victim.pid  # same pid, but the start time recorded is the old one's
        paths.state.write_text(json.dumps(state))
        assert manager.stop("rec-db") is False
        assert victim.poll() is None
    finally:
        victim.kill()
        victim.wait()


def test_stale_pid_check_runs_in_a_fresh_process(home: Path) -> None:
    """The same, from a second process (a kernel opened after a container restart)."""
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    manager.start("fresh-db")
    old = _kill_hard(manager, "fresh-db")
    data = manager.paths("fresh-db").data
    with _postgres_lookalike(data) as pid:
        _plant(data, old, pid)
        code = (
            "from alien_nb.local import LocalPostgresManager;"
            f"LocalPostgresManager({str(home)!r}, monitor=False).start('fresh-db')"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    manager.stop("fresh-db")


def test_a_wall_clock_step_does_not_disown_a_live_server(manager: LocalPostgresManager) -> None:
    """postmaster.pid's start time is wall-clock: after an NTP step it no longer matches /proc.

    The server alien_nb launched is still known by pid and boot-relative start
    time, so it is attached to, never taken for stale (a second postmaster on
    the same data would corrupt it).
    """
    manager.start("clock-db")
    data = manager.paths("clock-db").data
    info = read_postmaster_pid(data)
    assert info is not None and info.start_time is not None
    lines = (data / "postmaster.pid").read_text().split("\n")
    lines[2] = str(info.start_time - 3600)
    (data / "postmaster.pid").write_text("\n".join(lines))
    assert manager.status("clock-db").pid == info.pid
    manager.start("clock-db")
    after = read_postmaster_pid(data)
    assert after is not None and after.pid == info.pid
    manager.stop("clock-db")
