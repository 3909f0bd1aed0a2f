"""What every step of a start or stop needs, and what tests may stand in for.

The clock, the process spawner and the port picker are parameters, not
module globals, so a test can step time, watch what is launched, or hand out
a port of its choosing instead of waiting on real timeouts. The server
account is resolved once, when a step first needs it (resolving may create
it, which plain reads such as a status must never do).
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Protocol

from ._account import ServerAccount, resolve_server_account

Notify = Callable[[str], None]


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never steps back (deadlines are measured on it)."""

    def sleep(self, seconds: float) -> None:
        """A short pause while polling something that settles by itself (a server starting)."""

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """The monitor's period: ``seconds``, cut short by ``stop``; True if ``stop`` is set."""


class SystemClock:
    """The real one."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(seconds)


class Spawner(Protocol):
    def __call__(
        self, argv: list[str], *, cwd: Path, env: dict[str, str], log: BinaryIO, account: ServerAccount
    ) -> subprocess.Popen[bytes]:
        """Launch ``argv`` as ``account``, its output appended to ``log``; return at once."""


class PortPicker(Protocol):
    def free_port(self) -> int:
        """A loopback port nothing listens on right now."""

    def is_free(self, port: int) -> bool:
        """Could a server bind ``127.0.0.1:port`` now?"""


class LocalContext:
    """One manager's settings and seams, handed to the steps of `_start`, `_server` and the rest."""

    def __init__(
        self,
        home: Path,
        *,
        notify: Notify,
        server_user: str | None,
        clock: Clock,
        spawn: Spawner,
        ports: PortPicker,
        start_timeout: float,
        settings: dict[str, str],
    ) -> None:
        self.home = home
        self.notify = notify
        self.clock = clock
        self.spawn = spawn
        self.ports = ports
        self.start_timeout = start_timeout
        self.settings = settings
        self._server_user = server_user
        self._account: ServerAccount | None = None

    def account(self) -> ServerAccount:
        """The account servers run as (this user, or the unprivileged one when root)."""
        if self._account is None:
            self._account = resolve_server_account(self._server_user, self.notify)
        return self._account
