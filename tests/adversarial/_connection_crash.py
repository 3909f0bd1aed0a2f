"""Crash a local server for real: ``kill -9`` of the postmaster, with the monitor held off."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

from alien_nb.controllers import LocalPostgresController
from alien_nb.local import LocalPostgresManager
from alien_nb.local._lock import database_lock
from alien_nb.local._postmaster import is_postgres_process, is_zombie, read_postmaster_pid
from alien_nb.notebook._state import NotebookState

NAME = "leaky"


def spellings(password: str, user: str = "postgres") -> list[bytes]:
    """Every form of the password an impostor could use: plain, encoded, MD5-hashed, any 8-char run."""
    raw = password.encode()
    inner = hashlib.md5(raw + user.encode()).hexdigest()
    forms = [raw, quote(password, safe="").encode(), base64.b64encode(raw), raw.hex().encode(),
             raw.hex().upper().encode(), inner.encode(), hashlib.md5(inner.encode() + b"salt").hexdigest().encode()]  # fmt: skip
    forms += [raw[i : i + 8] for i in range(len(raw) - 7)]
    return forms


def assert_nothing_of(password: str, received: bytes) -> None:
    for form in spellings(password):
        assert form not in received, "the impostor received a form of the password"


class Lines(list[str]):
    def __call__(self, line: str) -> None:
        self.append(line)


def notebook(home: Path, lines: Lines) -> NotebookState:
    """The kernel's state, its monitor checking every 0.1 s."""
    state = NotebookState(printer=lines, home=str(home))
    state._controller = LocalPostgresController(
        LocalPostgresManager(home, notify=lines, monitor_interval=0.1, start_timeout=60)
    )
    return state


def password_of(home: Path) -> str:
    return str(json.loads((home / "postgres" / NAME / "metadata.json").read_text())["password"])


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
