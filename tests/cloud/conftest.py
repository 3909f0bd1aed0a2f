"""Cloud tests: emulators on loopback and a real local Postgres behind TLS.

The emulators hand out endpoints that do not exist (``*.rds.amazonaws.com``,
10.0.0.100, ``*.postgres.database.azure.com``); `CloudSettings.dial` sends
those connections to a `TlsPostgresProxy` in front of the suite's own
embedded server (built without OpenSSL), while TLS still checks the
binding's host name against a certificate issued by the suite's own CA.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from alien_nb.local import LocalPostgresManager
from alien_nb.testing import FakeAzure, FakeGcp, MotoServer, TestCertificateAuthority, TlsPostgresProxy
from tests.local.conftest import stop_everything

AURORA_HOST = "stack-pg.cluster-abc.us-east-1.rds.amazonaws.com"
AZURE_HOST = "stack-pg.postgres.database.azure.com"
CLOUD_SQL_IP = "10.0.0.100"


class TlsPostgres:
    """A local server reached through TLS, a role and database ``alien``, and certificates on demand."""

    def __init__(self, manager: LocalPostgresManager, name: str) -> None:
        self.manager = manager
        self.name = name
        self.ca = TestCertificateAuthority()
        self.other_ca = TestCertificateAuthority("an unrelated CA")
        self.binding = manager.start(name)
        self.names: tuple[str, ...] = ("localhost",)
        self.proxy = TlsPostgresProxy(
            (self.binding.host, self.binding.port), self.ca.issue(*self.names)
        ).start()

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        b = self.binding
        return psycopg.connect(
            host=b.host, port=b.port, dbname=b.database, user=b.username,
            password=b.password.get_secret_value(), autocommit=True,
        )  # fmt: skip

    def serve(self, *names: str) -> None:
        """Present a certificate for ``names`` (issued by ``self.ca``) from now on."""
        if names != self.names:
            self.proxy.use_certificate(self.ca.issue(*names))
            self.names = names

    def set_alien_password(self, password: str) -> None:
        with self.admin() as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'alien'").fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(sql.SQL(verb + " ROLE alien LOGIN PASSWORD {}").format(password))
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'alien'").fetchone():
                conn.execute("CREATE DATABASE alien OWNER alien")

    @property
    def dial(self) -> str:
        return self.proxy.address


@pytest.fixture(scope="session")
def tls_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsPostgres]:
    home = tmp_path_factory.mktemp("cloud") / "alien-home"
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    server = None
    try:
        server = TlsPostgres(manager, "cloud-e2e")
        yield server
    finally:
        if server is not None:
            server.proxy.stop()
        stop_everything(home)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def moto(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    """A clean moto, with boto3's default chain pointed at it (no real AWS is reachable from here)."""
    moto_server.reset()
    for key, value in moto_server.environ().items():
        monkeypatch.setenv(key, value)
    yield moto_server


@pytest.fixture(scope="session")
def gcp_server(tls_postgres: TlsPostgres) -> Iterator[FakeGcp]:
    with FakeGcp(server_ca_pem=tls_postgres.ca.cert_pem, private_ip=CLOUD_SQL_IP) as fake:
        yield fake


@pytest.fixture(scope="session")
def azure_server() -> Iterator[FakeAzure]:
    with FakeAzure() as fake:
        yield fake


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every log record of every library, down to DEBUG."""
    caplog.set_level(logging.DEBUG)
    return caplog
