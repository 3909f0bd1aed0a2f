"""A resolved binding: everything needed to open a psycopg connection."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from ..core import ConnectionFailed, PostgresBinding, build_connection_string, redacted_connection_string

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class PostgresConnection:
    """Host, port, database, user, TLS settings and the password (kept wrapped)."""

    binding: PostgresBinding = field(repr=False)
    host: str
    port: int
    database: str
    username: str
    password: SecretStr = field(repr=False)
    sslmode: str
    ca_roots: tuple[str, ...] = field(default=(), repr=False)

    @property
    def connection_string(self) -> SecretStr:
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

    def libpq_uri(self) -> SecretStr:
        """The connection string plus what libpq needs for TLS (e.g. ``sslrootcert=system``)."""
        extra = "&sslrootcert=system" if self.sslmode.startswith("verify") and not self.ca_roots else ""
        return SecretStr(self.connection_string.get_secret_value() + extra)

    @property
    def redacted_url(self) -> str:
        return redacted_connection_string(self.binding)

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        """A new psycopg connection; the password is unwrapped only here."""
        import psycopg

        params: dict[str, Any] = {"connect_timeout": 10, **kwargs}
        if self.sslmode.startswith("verify") and not self.ca_roots:
            params.setdefault("sslrootcert", "system")  # the contract: no roots → the system store
        try:
            return psycopg.connect(
                host=self.host,
                port=self.port,
                dbname=self.database,
                user=self.username,
                password=self.password.get_secret_value(),
                sslmode=self.sslmode,
                **params,
            )
        except psycopg.OperationalError as exc:
            reason = str(exc).strip().splitlines()[-1].split(" failed: ", 1)[-1]
            error = ConnectionFailed(
                f"{self.host}:{self.port}/{self.database}", reason, hint=_hint(reason, self)
            )
        raise error

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{k}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in (("host", self.host), ("port", self.port), ("database", self.database),
                         ("user", self.username), ("sslmode", self.sslmode), ("password", "hidden"))
        )  # fmt: skip
        return f"<table>{rows}</table>"


def _hint(reason: str, conn: PostgresConnection) -> str | None:
    if "does not support SSL" in reason:
        return (
            "The server offers no TLS but the binding asks for it; for a server on this machine use a "
            'local-postgres binding, or set "sslMode": "disable" on the external binding.'
        )
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
    return PostgresConnection(
        binding=binding,
        host=binding.dial_host,
        port=binding.port,
        database=binding.database,
        username=binding.username,
        password=password,
        sslmode=binding.sslmode,
    )
