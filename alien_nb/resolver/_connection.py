"""A resolved binding: everything needed to open a psycopg connection."""

from __future__ import annotations

import html
import ipaddress
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import SecretStr

from ..core import ConnectionFailed, PostgresBinding, build_connection_string, redacted_connection_string
from ..core._backends import AURORA, CLOUD_SQL, FLEXIBLE_SERVER, LOCAL_SERVICE
from ..core._conninfo import required_auth
from ._roots import roots_file

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class ConnectionDetails:
    """Host, port, database, user, TLS settings and the password (kept wrapped).

    ``host`` and ``port`` are the binding's; ``dial`` is where the
    connection really goes when the host is tunnelled (TLS still checks
    ``host``). ``ca_roots`` are PEM certificates; empty means the system
    trust store for the verify modes. ``socket_dir`` (local databases, from
    the notebook that owns them) is the server's private Unix socket folder,
    used instead of the TCP port: no other user can reach it.

    Without TLS that proves the server (local-postgres, external with
    ``sslmode=disable``), every connection requires SCRAM
    (``require_auth=scram-sha-256``): a process squatting on the port that
    asks for a cleartext or MD5 password is refused and gets nothing.
    """

    binding: PostgresBinding = field(repr=False)
    host: str
    port: int
    database: str
    username: str
    password: SecretStr = field(repr=False)
    sslmode: str
    ca_roots: tuple[str, ...] = field(default=(), repr=False)
    dial: tuple[str, int] | None = None
    socket_dir: str | None = None

    @property
    def require_auth(self) -> str | None:
        """libpq's ``require_auth`` for this connection (None: TLS verifies the server)."""
        return required_auth(self.binding.service, self.sslmode)

    @property
    def connection_string(self) -> SecretStr:
        """The contract's ``postgres://`` URL, password included (wrapped)."""
        return SecretStr(
            build_connection_string(
                username=self.username,
                password=self.password.get_secret_value(),
                host=self.host,
                port=self.port,
                database=self.database,
                sslmode=self.sslmode,
            )
        )

    def libpq_params(self) -> dict[str, Any]:
        """Connection keywords for libpq, without the password: TLS roots, dial address."""
        params: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "dbname": self.database,
            "user": self.username,
            "sslmode": self.sslmode,
        }
        if self.sslmode.startswith("verify"):
            # The contract: no roots means the system store (libpq's default would be ~/.postgresql).
            params["sslrootcert"] = roots_file(self.ca_roots) if self.ca_roots else "system"
        if self.require_auth is not None:
            params["require_auth"] = self.require_auth
        if self.socket_dir is not None:
            params["host"] = self.socket_dir
        elif self.dial is not None:
            address, port = self.dial
            params["hostaddr"] = _numeric_address(address)
            params["port"] = port
        return params

    def libpq_uri(self) -> SecretStr:
        """The connection string plus what libpq needs beyond it (roots, dial address, auth, socket)."""
        wanted = ("sslrootcert", "hostaddr", "port", "require_auth", "host")
        extra = {k: v for k, v in self.libpq_params().items() if k in wanted}
        for key, same in (("port", self.port), ("host", self.host)):
            if extra.get(key) == same:
                del extra[key]
        tail = "".join(f"&{k}={quote(str(v), safe='/')}" for k, v in extra.items())
        return SecretStr(self.connection_string.get_secret_value() + tail)

    @property
    def redacted_url(self) -> str:
        return redacted_connection_string(self.binding)

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        """A new psycopg connection; the password is unwrapped only here."""
        import psycopg

        params = {"connect_timeout": 10, **self.libpq_params(), **kwargs}
        try:
            return psycopg.connect(password=self.password.get_secret_value(), **params)
        except psycopg.OperationalError as exc:
            reason = _reason(str(exc))
            error = ConnectionFailed(self.where, reason, hint=_hint(reason, self))
        raise error

    @property
    def where(self) -> str:
        """``host:port/database``, and how it is reached when that is not the host's port."""
        where = f"{self.host}:{self.port}/{self.database}"
        if self.socket_dir is not None:
            where += f" (through the Unix socket in {self.socket_dir})"
        elif self.dial is not None:
            where += f" (dialled at {self.dial[0]}:{self.dial[1]})"
        return where

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{k}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in (("host", self.host), ("port", self.port), ("database", self.database),
                         ("user", self.username), ("sslmode", self.sslmode), ("password", "hidden"))
        )  # fmt: skip
        return f"<table>{rows}</table>"


def _reason(message: str) -> str:
    """libpq's reason from its message: after the last "failed: " (the lines after it are advice)."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if " failed: " in line:
            return line.rsplit(" failed: ", 1)[-1]
    return lines[-1] if lines else "the connection failed"


def _numeric_address(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(address, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        reason = f"the dial address {address!r} does not resolve ({exc.strerror or exc})"
    else:
        return str(infos[0][4][0])
    raise ConnectionFailed(address, reason, hint="Check CloudSettings.dial / ALIEN_NB_DIAL.")


_REFUSED_AUTH = {
    "server requested a cleartext password": "a cleartext password",
    "server requested a hashed password": "an MD5 password hash",
    "server did not complete authentication": "no authentication at all",
}


def _hint(reason: str, conn: ConnectionDetails) -> str | None:
    asked = next((what for marker, what in _REFUSED_AUTH.items() if marker in reason), None)
    if asked is None and "authentication method requirement" in reason:
        asked = "another authentication method"
    if asked is not None:
        if conn.binding.service == LOCAL_SERVICE:
            return (
                f"The program listening on port {conn.port} asked for {asked}; alien_nb's local servers only "
                "use SCRAM, so it is not this database's server (another program took the port while the "
                "server was down?). Nothing was sent. Check `alien-nb status` for the database's port."
            )
        return (
            f"The server asked for {asked}. Without TLS, alien_nb sends a password only by SCRAM, which "
            "never reveals it; nothing was sent. Use sslMode verify-full, or have the server ask for SCRAM "
            "(scram-sha-256 in pg_hba.conf, password_encryption = scram-sha-256, the password set again)."
        )
    if conn.socket_dir is not None and ("Connection refused" in reason or "No such file" in reason):
        return (
            "The server is not running (stopped, or being restarted after a crash). Wait a moment and "
            f"run it again, or start it: `%alien_postgres start {conn.database}`."
        )
    if "does not support SSL" in reason:
        return (
            "The server offers no TLS but the binding asks for it; for a server on this machine use a "
            'local-postgres binding, or set "sslMode": "disable" on the external binding.'
        )
    if "does not match host name" in reason:
        return (
            f"The server's certificate is not for {conn.host!r}. Connect by the name in the certificate "
            "(a tunnel keeps it: CloudSettings(dial={host: 'address:port'}))."
        )
    if "certificate verify failed" in reason or "root certificate" in reason:
        source = {
            AURORA: "the AWS RDS roots shipped with alien_nb",
            FLEXIBLE_SERVER: "the Azure roots shipped with alien_nb",
            CLOUD_SQL: "the binding's serverCaCertificates",
        }.get(conn.binding.service, "the system trust store")
        return f"The server's certificate does not chain to {source}; check that you reach the right server."
    if "password authentication failed" in reason:
        return f"The password for {conn.username!r} was refused; check the binding or its secret."
    if "does not exist" in reason:
        return "Check the database name in the binding."
    return None


def resolve_inline(binding: PostgresBinding) -> ConnectionDetails:
    """Resolve a binding that carries its own password (local-postgres, external)."""
    password = binding.inline_password
    if password is None:
        raise TypeError(f"{binding.service} bindings keep their password in a secret store")
    return connection_for(binding, password)


def connection_for(
    binding: PostgresBinding,
    password: SecretStr,
    *,
    ca_roots: tuple[str, ...] = (),
    dial: tuple[str, int] | None = None,
    socket_dir: str | None = None,
) -> ConnectionDetails:
    """The connection details of ``binding`` with its password in hand."""
    return ConnectionDetails(
        binding=binding,
        host=binding.dial_host,
        port=binding.port,
        database=binding.database,
        username=binding.username,
        password=password,
        sslmode=binding.sslmode,
        ca_roots=ca_roots,
        dial=dial,
        socket_dir=socket_dir,
    )
