"""What ``postmaster.pid`` says, and whether that process still lives."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PostmasterInfo:
    """The lines of ``postmaster.pid`` (PostgreSQL 10 and later)."""

    pid: int
    data_dir: str
    start_time: int | None
    port: int | None
    listen_address: str | None
    status: str | None  # "starting", "ready", "stopping", "standby"


def parse_postmaster_pid(text: str) -> PostmasterInfo | None:
    """Parse the file's text; None if it is partly written or not what it should be."""
    lines = text.split("\n")
    if len(lines) < 2 or not lines[0].strip().lstrip("-").isdigit():
        return None

    def line(i: int) -> str | None:
        return lines[i].strip() if len(lines) > i and lines[i].strip() else None

    def number(i: int) -> int | None:
        value = line(i)
        return int(value) if value is not None and value.isdigit() else None

    return PostmasterInfo(
        pid=abs(int(lines[0].strip())),
        data_dir=lines[1].strip(),
        start_time=number(2),
        port=number(3),
        listen_address=line(5),
        status=line(7),
    )


def read_postmaster_pid(data_dir: Path) -> PostmasterInfo | None:
    try:
        text = (data_dir / "postmaster.pid").read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return None
    return parse_postmaster_pid(text)


def process_alive(pid: int) -> bool:
    """True if ``pid`` runs and is not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by someone else
    if sys.platform.startswith("linux"):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        # The state follows the parenthesised command name, which may hold spaces.
        return stat[stat.rindex(")") + 2 :][:1] not in {"Z", "X"}
    return True


def is_zombie(pid: int) -> bool:
    """True for a process that exited and waits to be reaped (Linux; False elsewhere)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :][:1] == "Z"


def is_postgres_process(pid: int, data_dir: Path | None = None) -> bool:
    """Guard against a recycled pid: is this a live postgres, serving ``data_dir``?

    A postgres process runs with its data directory as working directory, so
    a recycled pid that now belongs to another cluster's server is told apart.
    """
    if not sys.platform.startswith("linux"):
        return process_alive(pid)
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    first = cmdline.split(b"\0", 1)[0]
    if not first.endswith(b"postgres") or not process_alive(pid):
        return False
    if data_dir is not None:
        try:
            return Path(os.readlink(f"/proc/{pid}/cwd")) == data_dir
        except OSError:
            pass  # not ours to inspect (another user's process): trust the name
    return True
