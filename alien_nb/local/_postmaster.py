"""What ``postmaster.pid`` says, and whether that process still lives."""

from __future__ import annotations

import errno
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

#: How far the start time in postmaster.pid may be from the process's own
#: start time: Postgres takes ``time(NULL)`` just after exec, and ``btime``
#: in /proc/stat is itself rounded to whole seconds.
_START_TIME_SLACK = 2


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


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the parenthesised command name (which may hold spaces): state is [0].
    return text[text.rindex(")") + 2 :].split()


def process_start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), a stable identity with its pid."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields is not None and len(fields) > 19 else None


def process_start_time(pid: int) -> float | None:
    """The process's start time as a Unix timestamp (Linux), else None."""
    ticks = process_start_ticks(pid)
    if ticks is None:
        return None
    try:
        btime = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    return btime + ticks / os.sysconf("SC_CLK_TCK")


def _refuses_connections(info: PostmasterInfo, socket_file: Path | None) -> bool:
    """True only when nothing listens where a ready postmaster would: a definite no.

    The Unix socket (in a folder only the server account can write) is the
    proof; without one (a server started without it), the loopback port. A
    timeout or any other error is not proof, so it counts as answering: a
    wrong "no" would start a second postmaster on the same data.
    """
    if socket_file is not None and socket_file.exists():
        family, address = socket.AF_UNIX, str(socket_file)
    elif info.port is not None:
        family, address = socket.AF_INET, ("127.0.0.1", info.port)  # type: ignore[assignment]
    else:
        return False
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(address)
        except OSError as exc:
            return exc.errno == errno.ECONNREFUSED
    return False


def is_our_postmaster(info: PostmasterInfo, data_dir: Path, socket_file: Path | None = None) -> bool:
    """Is the process postmaster.pid names really this data directory's server?

    Every server runs as the same account, and a container restart hands
    out the same pids again, so a live pid proves nothing. It must be a
    postgres whose working directory is ``data_dir``, started when the file
    says, and, once the file says "ready", it must answer on its socket.
    """
    if not is_postgres_process(info.pid, data_dir):
        return False
    if info.data_dir and Path(info.data_dir) != data_dir:
        return False
    started = process_start_time(info.pid)
    if (
        started is not None
        and info.start_time is not None
        and not -_START_TIME_SLACK <= info.start_time - int(started) <= _START_TIME_SLACK
    ):
        return False
    return not (info.status == "ready" and _refuses_connections(info, socket_file))


def is_recorded_server(pid: int, start_ticks: int) -> bool:
    """True if ``pid`` still is the postgres that was started then (see `process_start_ticks`)."""
    return is_postgres_process(pid) and process_start_ticks(pid) == start_ticks


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
