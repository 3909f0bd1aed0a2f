"""A daemon thread that restarts local servers that should run and do not.

It watches every database under the manager's home whose state says
"running" (so it also adopts servers whose kernel died), and takes the
database lock before restarting, so many monitors never race.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from ..core import AlienError

if TYPE_CHECKING:
    from ._manager import LocalPostgresManager

logger = logging.getLogger("alien_nb.local")


class ServerMonitor(threading.Thread):
    def __init__(self, manager: LocalPostgresManager, *, interval: float = 1.0) -> None:
        super().__init__(name="alien_nb-server-monitor", daemon=True)
        self.manager = manager
        self.interval = interval
        self._stopped = threading.Event()
        self._reported: dict[str, str] = {}

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        while not self._stopped.wait(self.interval):
            self.check_once()

    def check_once(self) -> None:
        root = self.manager.home / "postgres"
        try:
            names = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        except OSError:
            return
        for name in names:
            try:
                self.manager._restart_if_down(name)
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
