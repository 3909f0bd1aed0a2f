"""Where to reach a local database now: its binding, and the private socket folder to dial."""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..core import LocalPostgresBinding
from ._context import LocalContext, Notify
from ._layout import DatabasePaths
from ._postmaster import is_postgres_process, read_postmaster_pid
from ._private import read_checked_metadata


@dataclass(frozen=True)
class LocalEndpoint:
    """A local database's binding, and the private socket folder to dial (None: its loopback port)."""

    binding: LocalPostgresBinding
    socket_dir: Path | None


def find_endpoint(
    ctx: LocalContext,
    paths: DatabasePaths,
    *,
    lifecycle: Callable[[], str],
    wait: float = 0.0,
    report: Notify | None = None,
) -> LocalEndpoint:
    """Where to reach the database as its metadata says now: through its socket if it has one.

    Read at each new connection, so a handle follows its server to a new port (the monitor
    restarted it where the old one was taken; `alien-nb stop` and `start` elsewhere). The Unix
    socket, in the database's private folder, cannot be squatted the way a loopback port can.
    The port (SCRAM only) is used only while a server of the database runs without a socket (one
    started before alien_nb used sockets); while none runs, the endpoint still names the socket,
    so a connection fails there ("not running") instead of meeting whatever listens on the port.
    A socket file left by a killed server refuses connections the same way.

    A server that crashed and is to be restarted (by the monitor of this or another kernel) is
    waited for, up to ``wait`` seconds, so the statement that needs it runs once it is back;
    ``report`` hears about the wait. ``lifecycle`` gives the database's status lifecycle.
    """
    metadata = read_checked_metadata(ctx, paths)  # unusable metadata is an error now, not after a wait
    if wait > 0 and not _runs(paths, ready=True) and lifecycle() in ("failed", "creating"):  # being restarted
        if report is not None:
            report(f"{paths.name}: the server is down; waiting up to {wait:.0f} s for it to be restarted")
        deadline = ctx.clock.monotonic() + wait
        while not _runs(paths, ready=True) and ctx.clock.monotonic() < deadline:
            ctx.clock.sleep(0.02)
        metadata = read_checked_metadata(ctx, paths)  # after the wait: the restart may have moved it
    binding = metadata.binding()
    if not paths.socket_fits(metadata.port):  # its path is too long for a socket: TCP only
        return LocalEndpoint(binding, None)
    try:
        has_socket = stat.S_ISSOCK(paths.socket_file(metadata.port).lstat().st_mode)
    except OSError:
        has_socket = False
    if not has_socket and _runs(paths, ready=False):
        return LocalEndpoint(binding, None)
    return LocalEndpoint(binding, paths.socket_dir)


def _runs(paths: DatabasePaths, *, ready: bool) -> bool:
    # Cheap (no login, no connection): this runs before every new connection of a handle.
    info = read_postmaster_pid(paths.data)
    return (
        info is not None
        and (info.status == "ready" or not ready)
        and is_postgres_process(info.pid, paths.data)
    )
