"""The manager's own connections to its servers: SCRAM only, through the private Unix socket."""

from __future__ import annotations

from ._layout import DatabasePaths
from ._metadata import HOST, Metadata
from ._probe import ProbeResult, probe_login


def connect_host(paths: DatabasePaths, port: int) -> str:
    """Where to reach the server: its private Unix socket folder when the socket is there, else loopback."""
    if paths.socket_fits(port) and paths.socket_file(port).exists():
        return str(paths.socket_dir)
    return HOST


def connect_scram(paths: DatabasePaths, metadata: Metadata, dbname: str, *, timeout: int = 10):  # type: ignore[no-untyped-def]
    """The manager's own connections: SCRAM only, through the Unix socket when there is one.

    ``require_auth`` makes libpq hang up on a server that asks for anything
    but SCRAM (cleartext, MD5, none), so even an impostor on the loopback
    port learns nothing of the password; SCRAM itself never sends it.
    """
    import psycopg

    return psycopg.connect(
        host=connect_host(paths, metadata.port),
        port=metadata.port,
        user=metadata.username,
        password=metadata.password.get_secret_value(),
        dbname=dbname,
        autocommit=True,
        connect_timeout=timeout,
        require_auth="scram-sha-256",
        sslmode="disable",  # loopback or socket only; the server has no certificate
        gssencmode="disable",
    )


def login(paths: DatabasePaths, metadata: Metadata, database: str) -> ProbeResult:
    """One SCRAM-only test login with the recorded credentials, through the socket when there is one."""
    port = metadata.port
    socket_file = paths.socket_file(port) if connect_host(paths, port) != HOST else None
    return probe_login(
        socket_file=socket_file, port=port, user=metadata.username, password=metadata.password,
        database=database,
    )  # fmt: skip


def probe(paths: DatabasePaths, metadata: Metadata) -> str:
    """A quick SCRAM login (Unix socket when there is one): "ok", "rejected" or "unreachable"."""
    result = login(paths, metadata, metadata.database)
    return "ok" if result.ok else "rejected" if result.rejected else "unreachable"
