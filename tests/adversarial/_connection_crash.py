"""Crash a local server for real: ``kill -9`` of the postmaster, with the monitor held off."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from alien_nb.local import LocalPostgresManager
from alien_nb.local._lock import database_lock
from alien_nb.local._postmaster import is_postgres_process, is_zombie, read_postmaster_pid


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return is_zombie(pid)


def wait_for(condition: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def kill9(manager: LocalPostgresManager, name: str) -> int:
    """SIGKILL the server of ``name`` and wait until it and its backends are gone; return its port."""
    data = manager.paths(name).data
    info = read_postmaster_pid(data)
    assert info is not None and info.port is not None and is_postgres_process(info.pid, data)
    children = _children(info.pid)
    os.kill(info.pid, signal.SIGKILL)
    wait_for(lambda: not is_postgres_process(info.pid, data), "the postmaster to die")
    # Backends notice the postmaster's death and exit; the next start needs their shared memory back.
    wait_for(lambda: all(_gone(pid) for pid in children), "the backends to exit")
    return info.port


@contextlib.contextmanager
def monitor_held_off(manager: LocalPostgresManager, name: str) -> Iterator[None]:
    """Hold the database's lock: no monitor restarts it until the block ends."""
    with database_lock(manager.paths(name).lock, name):
        yield


def server_port(manager: LocalPostgresManager, name: str) -> int | None:
    info = read_postmaster_pid(manager.paths(name).data)
    if info is None or info.status != "ready" or not is_postgres_process(info.pid, manager.paths(name).data):
        return None
    return info.port
