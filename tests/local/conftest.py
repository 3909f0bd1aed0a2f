from __future__ import annotations

import base64
import contextlib
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from alien_nb.local import LocalPostgresManager
from alien_nb.local._context import SystemClock
from alien_nb.local._postmaster import is_postgres_process, read_postmaster_pid


class Notices(list[str]):
    def __call__(self, message: str) -> None:
        self.append(message)


class SteppedMonitor(SystemClock):
    """A clock whose monitor periods end only when the test says: `step` runs one check, then returns.

    Everything else (polling while a server starts or stops) keeps real time.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._permits = 0
        self._pauses = 0  # how often the monitor began a pause: one more than the checks it finished
        self._pausing = False

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        with self._cond:
            self._pauses += 1
            self._pausing = True
            self._cond.notify_all()
            while not self._permits and not stop.is_set():
                self._cond.wait(0.05)
            self._pausing = False
            if stop.is_set():
                return True
            self._permits -= 1
            return False

    def step(self, timeout: float = 60) -> None:
        """Let the monitor check every database once; return when that check is over."""
        with self._cond:
            assert self._cond.wait_for(lambda: self._pausing, timeout), "the monitor is not running"
            seen = self._pauses
            self._permits = 1
            self._cond.notify_all()
            assert self._cond.wait_for(lambda: self._pauses > seen, timeout), "the check did not end"


def stop_everything(home: Path) -> None:
    """Leave no server running: whatever a test started under ``home`` ends here."""
    root = home / "postgres"
    if not root.is_dir():
        return
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    for status in manager.list():
        with contextlib.suppress(Exception):
            manager.stop(status.name)  # also tells any monitor to leave it stopped
    for data in root.glob("*/data"):
        info = read_postmaster_pid(data)
        if info is None or not is_postgres_process(info.pid):
            continue
        os.kill(info.pid, signal.SIGQUIT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and is_postgres_process(info.pid):
            time.sleep(0.02)


@contextlib.contextmanager
def short_home() -> Iterator[Path]:
    """A home under a short /tmp path, whose servers are stopped afterwards.

    The server's Unix socket lives in the database folder only when its path
    fits a socket address (about 100 bytes); pytest's own tmp_path can be too
    deep for that (``/tmp/pytest-of-<user>/pytest-N/<test name>/...``), and then
    the server listens on TCP alone. Tests about the socket use this.
    """
    top = Path(tempfile.mkdtemp(prefix="anb-", dir="/tmp"))
    try:
        yield top / "h"
    finally:
        stop_everything(top / "h")
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "alien-home"
    yield path
    stop_everything(path)


@pytest.fixture
def notices() -> Notices:
    return Notices()


@pytest.fixture
def manager(home: Path, notices: Notices) -> LocalPostgresManager:
    return LocalPostgresManager(home, notify=notices, monitor=False)


@pytest.fixture(scope="session")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("shared") / "alien-home"
    yield path
    stop_everything(path)


@pytest.fixture(scope="session")
def shared_manager(shared_home: Path) -> LocalPostgresManager:
    return LocalPostgresManager(shared_home, notify=lambda _m: None, monitor=False)


def secret_spellings(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [raw, quote(secret, safe="").encode(), base64.b64encode(raw), base64.b64encode(raw).rstrip(b"=")]
