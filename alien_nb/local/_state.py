"""``state.json``: what alien_nb wants of a database (no secrets in it)."""

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


def read_state(path: Path) -> DesiredState:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        bootstrapped = bool(data.get("bootstrapped"))
        return DesiredState(
            desired=str(data.get("desired", "stopped")),
            bootstrapped=bootstrapped,
            initialized=bool(data.get("initialized", bootstrapped)),
        )
    except (OSError, ValueError, AttributeError):
        return DesiredState()


def write_state(path: Path, state: DesiredState) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(asdict(state), f)
    os.replace(tmp, path)
