"""``state.json``: what alien_nb wants of a database, and which server it started (no secrets in it)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class DesiredState:
    #: "running" after start, "stopped" after stop: the monitor restarts only the former.
    desired: str = "stopped"
    #: The database and the vector extension exist.
    bootstrapped: bool = False
    #: initdb succeeded once: from then on an empty or missing data dir is an error, never re-created.
    initialized: bool = False
    #: The postmaster alien_nb last launched, by pid and start time (clock ticks since boot), so
    #: stop and delete still find it when its data directory (and postmaster.pid) is gone.
    server_pid: int | None = None
    server_start_ticks: int | None = None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_state(path: Path) -> DesiredState:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, encoding="utf-8") as f:
            data = json.load(f)
        bootstrapped = bool(data.get("bootstrapped"))
        return DesiredState(
            desired=str(data.get("desired", "stopped")),
            bootstrapped=bootstrapped,
            initialized=bool(data.get("initialized", bootstrapped)),
            server_pid=_int_or_none(data.get("server_pid")),
            server_start_ticks=_int_or_none(data.get("server_start_ticks")),
        )
    except (OSError, ValueError, AttributeError):
        return DesiredState()


def write_state(path: Path, state: DesiredState) -> None:
    """Atomically, through a fresh temp file (never through a planted symlink)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)  # a leftover of a killed writer (all writers hold the database lock)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(asdict(state), f)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
