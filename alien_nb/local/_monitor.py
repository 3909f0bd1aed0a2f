"""A daemon thread that restarts local servers that should run and do not.

It watches every database under the manager's home whose state says
"running" (so it also adopts servers whose kernel died), and takes the
database lock before restarting, so many monitors never race. It knows
nothing of the manager: it is handed which databases exist and how to
restart one, as plain callables.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ..core import AlienError
from ._context import Clock, SystemClock

logger = logging.getLogger("alien_nb.local")


class ServerMonitor(threading.Thread):
    """Every ``interval`` seconds, ``restart_if_down(name)`` for each of ``names()``."""

    def __init__(
        self,
        names: Callable[[], list[str]],
        restart_if_down: Callable[[str], bool],
        *,
        interval: float = 1.0,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(name="alien_nb-server-monitor", daemon=True)
        self._names = names
        self._restart_if_down = restart_if_down
        self.interval = interval
        self._clock = clock or SystemClock()
        self._stopped = threading.Event()
        self._reported: dict[str, str] = {}

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        while not self._clock.wait(self._stopped, self.interval):
            self.check_once()

    def check_once(self) -> None:
        try:
            names = self._names()
        except OSError:
            return
        for name in names:
            try:
                self._restart_if_down(name)
                self._reported.pop(name, None)
            except AlienError as exc:
                # Retried every tick (orphaned backends may still hold shared
                # memory for a moment); reported once per distinct problem.
                text = exc.message.splitlines()[0]
                if self._reported.get(name) != text:
                    self._reported[name] = text
                    logger.warning("restarting local database %r failed: %s", name, text)
            except Exception:
                logger.exception("monitor check of local database %r failed", name)
