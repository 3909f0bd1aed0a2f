"""The server process of one database: launch it, wait for it, find it, and stop it.

A server is this database's only when its pid, working directory and start
time say so (`_postmaster`); everything here goes by that, never by a pid
alone, since containers hand the same pids out again.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import BinaryIO

from ._account import ServerAccount
from ._context import LocalContext
from ._errors import StartFailed, StopFailed
from ._files import log_size, log_tail, open_log
from ._installations import Installation
from ._layout import DatabasePaths
from ._metadata import Metadata
from ._postmaster import (
    PostmasterInfo,
    is_our_postmaster,
    is_postgres_process,
    is_recorded_server,
    is_zombie,
    process_alive,
    process_start_ticks,
    read_postmaster_pid,
)
from ._state import DesiredState, read_state

logger = logging.getLogger("alien_nb.local")

#: What a postmaster logs when another program took its port first.
PORT_IN_USE = ("could not bind", "Address already in use", "could not create any TCP/IP sockets")

# Servers this process started, so their exit status can be collected: an
# unreaped postmaster stays a zombie whose pid blocks the restart. Kept for
# the life of the process, since the servers outlive any one manager.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
_CHILDREN_LOCK = threading.Lock()


def reap_children() -> None:
    with _CHILDREN_LOCK:
        for pid, process in list(_CHILDREN.items()):
            if process.poll() is not None:
                del _CHILDREN[pid]


def server_env() -> dict[str, str]:
    """A minimal environment: nothing of the caller's (PG*, secrets) reaches the server."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C", "LANG": "C"}
    if "TZ" in os.environ:
        env["TZ"] = os.environ["TZ"]
    return env


def spawn_detached(
    argv: list[str], *, cwd: Path, env: dict[str, str], log: BinaryIO, account: ServerAccount
) -> subprocess.Popen[bytes]:
    """The real spawner (see `_context.Spawner`): a new session, so it outlives the kernel and its Ctrl-C."""
    process: subprocess.Popen[bytes] = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        close_fds=True,
        **account.popen_kwargs(),  # type: ignore[call-overload]
    )
    return process


def spawn_server(ctx: LocalContext, paths: DatabasePaths, install: Installation) -> subprocess.Popen[bytes]:
    """``postgres -D data``, its output appended to server.log, its exit collected later."""
    log = open_log(paths.log)  # the child inherits the descriptor
    try:
        process = ctx.spawn(
            [str(install.exe("postgres")), "-D", str(paths.data)],
            cwd=paths.data, env=server_env(), log=log, account=ctx.account(),
        )  # fmt: skip
    finally:
        log.close()
    with _CHILDREN_LOCK:
        _CHILDREN[process.pid] = process
    return process


def wait_ready(
    ctx: LocalContext, paths: DatabasePaths, process: subprocess.Popen[bytes], log_start: int
) -> None:
    """Until postmaster.pid says "ready" for this process; `StartFailed` if it exits or takes too long."""
    deadline = ctx.clock.monotonic() + ctx.start_timeout
    while True:
        code = process.poll()
        if code is not None:
            tail = log_tail(paths.log, log_start)
            raise StartFailed(paths.data, code, tail, hint=start_hint(tail, paths))
        info = read_postmaster_pid(paths.data)
        if info is not None and info.pid == process.pid and info.status == "ready":
            return
        if ctx.clock.monotonic() > deadline:
            tail = log_tail(paths.log, log_start)
            raise StartFailed(
                paths.data, None, tail,
                hint=f"It may still be recovering; run start again, or see `alien-nb logs {paths.name}`.",
            )  # fmt: skip
        ctx.clock.sleep(0.005)


def start_hint(tail: str, paths: DatabasePaths) -> str:
    if "shared memory" in tail or "could not map anonymous shared memory" in tail:
        return "Not enough shared memory: free some RAM, or lower shared_buffers via settings=."
    if "No space left" in tail:
        return f"The disk holding {paths.data} is full; free space and start again."
    if any(marker in tail for marker in PORT_IN_USE):
        return "The port was taken at the same moment; start again to pick another one."
    return f"See the full log with `alien-nb logs {paths.name}` ({paths.log})."


def live_postmaster(paths: DatabasePaths) -> PostmasterInfo | None:
    """What postmaster.pid says, if its process really is this data directory's server."""
    info = read_postmaster_pid(paths.data)
    if info is None:
        return None
    state = read_state(paths.state)
    if state.server_pid == info.pid and recorded_server(paths, state) is not None:
        # The very process alien_nb launched (pid and boot-relative start time):
        # proof that no wall-clock step since then can blur.
        return info if is_postgres_process(info.pid, paths.data) else None
    socket_file = paths.socket_file(info.port) if info.port and paths.socket_fits(info.port) else None
    return info if is_our_postmaster(info, paths.data, socket_file) else None


def recorded_server(paths: DatabasePaths, state: DesiredState | None = None) -> int | None:
    """The pid of the postmaster alien_nb launched, if it still lives (found without postmaster.pid)."""
    state = state or read_state(paths.state)
    if state.server_pid is None or state.server_start_ticks is None:
        return None
    return state.server_pid if is_recorded_server(state.server_pid, state.server_start_ticks) else None


def server_pid(paths: DatabasePaths) -> int | None:
    info = live_postmaster(paths)
    return info.pid if info is not None else recorded_server(paths)


def running_server(ctx: LocalContext, paths: DatabasePaths, metadata: Metadata) -> bool:
    """True if a server for this data dir is up (waits while it is starting)."""
    deadline = ctx.clock.monotonic() + ctx.start_timeout
    while True:
        reap_children()
        info = live_postmaster(paths)
        if info is None:
            return False
        if info.status == "ready":
            if info.port not in (None, metadata.port):
                logger.warning(
                    "server for %s listens on %s, metadata says %s", paths.name, info.port, metadata.port
                )
            return True
        if ctx.clock.monotonic() > deadline:
            raise StartFailed(
                paths.data, None, log_tail(paths.log, max(log_size(paths.log) - 4000, 0)),
                hint=f"It is {info.status or 'busy'} (pid {info.pid}); wait, then run start again.",
            )  # fmt: skip
        ctx.clock.sleep(0.01)  # starting, or stopping: wait until it settles


def remove_stale_pid_file(paths: DatabasePaths) -> None:
    """Drop a postmaster.pid (and socket lock) whose pid lives on but is not this database's server.

    Postgres refuses to start while the pid in the file is alive, whoever
    it is: a zombie nobody reaps (a container without an init), or, after
    a container restart, an unrelated process that got the same pid, even
    a postgres of another database run by the same account. We hold the
    database lock and `is_our_postmaster` said no, so no server of this
    data directory can be starting. Dead pids Postgres handles itself.
    """
    if live_postmaster(paths) is not None:
        return
    info = read_postmaster_pid(paths.data)
    if info is not None and (is_zombie(info.pid) or process_alive(info.pid)):
        logger.info("removing stale postmaster.pid of pid %s in %s", info.pid, paths.data)
        (paths.data / "postmaster.pid").unlink(missing_ok=True)
    # The socket's lock file names the same dead server's pid, and Postgres
    # checks it the same way. The folder is this database's alone.
    if paths.socket_dir.is_dir() and not paths.socket_dir.is_symlink():
        for lock in paths.socket_dir.glob(".s.PGSQL.*.lock"):
            lock.unlink(missing_ok=True)


def stop_server(ctx: LocalContext, paths: DatabasePaths, timeout: float = 60.0) -> bool:
    """Stop this database's postmaster, if one runs; True if one did."""
    reap_children()
    info = live_postmaster(paths)
    if info is not None:
        pid, ticks = info.pid, process_start_ticks(info.pid)
    else:
        state = read_state(paths.state)
        orphan = recorded_server(paths, state)
        if orphan is None:
            return False
        pid, ticks = orphan, state.server_start_ticks
        where = "is gone" if not paths.data.exists() else "has no postmaster.pid"
        ctx.notify(
            f"alien_nb: the data directory {paths.data} of local database {paths.name!r} {where}, "
            f"but the server alien_nb started for it (pid {pid}) was still running; stopping it."
        )

    def alive() -> bool:
        # Identity by pid and start time alone: an exiting postmaster's cmdline reads empty
        # (and its cwd may be gone) for a moment before it is, so those cannot tell "gone".
        return process_alive(pid) and (ticks is None or process_start_ticks(pid) == ticks)

    for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 10.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        except PermissionError as exc:
            raise StopFailed(paths.name, pid, f"not allowed to signal it ({exc.strerror})") from None
        deadline = ctx.clock.monotonic() + wait
        while ctx.clock.monotonic() < deadline:
            reap_children()
            if not alive():
                return True
            ctx.clock.sleep(0.005)
    reap_children()
    if alive():
        raise StopFailed(paths.name, pid, "it did not exit after a fast and an immediate shutdown")
    return True
