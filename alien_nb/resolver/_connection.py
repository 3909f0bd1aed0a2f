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
from ._roots import roots_file

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class PostgresConnection:
    """Host, port, database, user, TLS settings and the password (kept wrapped).

    ``host`` and ``port`` are the binding's; ``dial`` is where the
    connection really goes when the host is tunnelled (TLS still checks
    ``host``). ``ca_roots`` are PEM certificates; empty means the system
    trust store for the verify modes.
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
        if self.dial is not None:
            address, port = self.dial
            params["hostaddr"] = _numeric_address(address)
            params["port"] = port
        return params

    def libpq_uri(self) -> SecretStr:
        """The connection string plus what libpq needs beyond it (roots file, dial address)."""
        extra = {k: v for k, v in self.libpq_params().items() if k in ("sslrootcert", "hostaddr", "port")}
        if extra.get("port") == self.port:
            del extra["port"]
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
            reason = str(exc).strip().splitlines()[-1].rsplit(" failed: ", 1)[-1]
            where = f"{self.host}:{self.port}/{self.database}"
            if self.dial is not None:
                where += f" (dialled at {self.dial[0]}:{self.dial[1]})"
            error = ConnectionFailed(where, reason, hint=_hint(reason, self))
        raise error

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{k}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in (("host", self.host), ("port", self.port), ("database", self.database),
                         ("user", self.username), ("sslmode", self.sslmode), ("password", "hidden"))
        )  # fmt: skip
        return f"<table>{rows}</table>"


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


def _hint(reason: str, conn: PostgresConnection) -> str | None:
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
            "aurora": "the AWS RDS roots shipped with alien_nb",
            "flexible-server": "the Azure roots shipped with alien_nb",
            "cloud-sql": "the binding's serverCaCertificates",
        }.get(conn.binding.service, "the system trust store")
        return f"The server's certificate does not chain to {source}; check that you reach the right server."
    if "password authentication failed" in reason:
        return f"The password for {conn.username!r} was refused; check the binding or its secret."
    if "does not exist" in reason:
        return "Check the database name in the binding."
    return None


def resolve_inline(binding: PostgresBinding) -> PostgresConnection:
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
) -> PostgresConnection:
    """The connection details of ``binding`` with its password in hand."""
    return PostgresConnection(
        binding=binding,
        host=binding.dial_host,
        port=binding.port,
        database=binding.database,
        username=binding.username,
        password=password,
        sslmode=binding.sslmode,
        ca_roots=ca_roots,
        dial=dial,
    )
