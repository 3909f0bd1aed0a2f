"""``state.json``: what alien_nb wants of a database, and which server it started (no secrets in it)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ._files import replace_private


@dataclass(frozen=True)
class DesiredState:
    #: "running" after start, "stopped" after stop: the monitor restarts only the former.
    desired: str = "stopped"
    #: The database and the vector extension exist.
    bootstrapped: bool = False
    #: Whether initdb succeeded once. ``False`` only when state.json says so: it is written
    #: (fsynced) before metadata.json when a database is created. ``None`` is "unknown" (state.json
    #: missing, empty or corrupt), and like ``True`` forbids initdb: an empty or missing data dir
    #: is then an error, never re-created under the old name and password.
    initialized: bool | None = None
    #: The postmaster alien_nb last launched, by pid and start time (clock ticks since boot), so
    #: stop and delete still find it when its data directory (and postmaster.pid) is gone.
    server_pid: int | None = None
    server_start_ticks: int | None = None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_state(path: Path) -> DesiredState:
    """The recorded state; an unreadable file gives defaults with ``initialized=None`` (unknown)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, dict):
            return DesiredState()
        bootstrapped = data.get("bootstrapped") is True
        initialized = data.get("initialized")
        if not isinstance(initialized, bool):
            # Written before the key existed: a bootstrapped database surely was initialised.
            initialized = True if bootstrapped else None
        return DesiredState(
            desired=str(data.get("desired", "stopped")),
            bootstrapped=bootstrapped,
            initialized=initialized,
            server_pid=_int_or_none(data.get("server_pid")),
            server_start_ticks=_int_or_none(data.get("server_start_ticks")),
        )
    except (OSError, ValueError):
        return DesiredState()


def write_state(path: Path, state: DesiredState) -> None:
    """Atomically and durably, through a fresh temp file (never through a planted symlink).

    Durable because ``initialized`` is what stands between a missing data
    directory and a fresh initdb: a power cut must not leave an empty file.
    """
    replace_private(path, json.dumps(asdict(state)))
