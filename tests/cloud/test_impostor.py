"""Cloud and external bindings: an impostor without the right certificate receives no password.

Where a managed endpoint's address leads somewhere else (a hijacked DNS
name, a tunnel to the wrong place, a process on the dialled port), the
connection must end at the TLS handshake, before the startup packet. Each
case puts an `Impostor` asking for a cleartext password behind the
endpoint: directly (no TLS at all), or behind a TLS front with a
certificate from another CA, or from the right CA but for another name
(verify-full). The control case, the right certificate in front of the
impostor, shows the impostor would have recorded the password.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from alien_nb import CloudSettings, ConnectionFailed, get_postgres_connection
from alien_nb.resolver import ConnectionDetails
from alien_nb.testing import FakeAzure, FakeGcp, IssuedCertificate, MotoServer, TlsPostgresProxy
from tests.adversarial._connection_crash import assert_nothing_of
from tests.adversarial.impostor import Impostor

from .conftest import AURORA_HOST, AZURE_HOST, CLOUD_SQL_IP, TlsPostgres
from .test_resolver import aurora_binding, azure_binding, azure_settings, cloud_sql_binding, gcp_settings

PASSWORD = "Impostor-Target-Pw-8fQ2"
EXTERNAL_HOST = "db.external.example.com"
KINDS = ["aurora", "cloud-sql", "flexible-server", "external"]

Resolve = Callable[[str], ConnectionDetails]  # dial address -> connection details


@pytest.fixture
def resolve_kind(
    request: pytest.FixtureRequest, tls_postgres: TlsPostgres, moto: MotoServer, gcp_server: FakeGcp,
    azure_server: FakeAzure,
) -> Iterator[tuple[str, str, Resolve]]:  # fmt: skip
    """(kind, the host TLS must prove, resolve(dial)) with the password in the kind's secret store."""
    kind: str = request.param
    ca = tls_postgres.ca.cert_pem
    if kind == "aurora":
        arn = moto.client("secretsmanager").create_secret(Name="imp", SecretString=PASSWORD)["ARN"]
        host, binding = AURORA_HOST, aurora_binding(arn)
        settings: Callable[[str], CloudSettings] = lambda dial: CloudSettings(  # noqa: E731
            aws_endpoint_url=moto.url, dial={AURORA_HOST: dial}, ca_roots={"aurora": ca}
        )
    elif kind == "cloud-sql":
        gcp_server.set_secret("imp", PASSWORD)
        host, binding = CLOUD_SQL_IP, cloud_sql_binding(ca, "imp")
        settings = lambda dial: gcp_settings(gcp_server, dial={CLOUD_SQL_IP: dial})  # noqa: E731
    elif kind == "flexible-server":
        azure_server.set_secret("imp", PASSWORD)
        host, binding = AZURE_HOST, azure_binding("imp")
        settings = lambda dial: azure_settings(  # noqa: E731
            azure_server, dial={AZURE_HOST: dial}, ca_roots={"flexible-server": ca}
        )
    else:
        host = EXTERNAL_HOST
        binding = {"service": "external", "host": host, "port": 5432, "database": "alien", "username": "alien",
                   "password": PASSWORD, "sslMode": "verify-full"}  # fmt: skip
        settings = lambda dial: CloudSettings(dial={host: dial}, ca_roots={"external": ca})  # noqa: E731
    env = {"ALIEN_TARGET_BINDING": json.dumps(binding)}

    def resolve(dial: str) -> ConnectionDetails:
        return get_postgres_connection("target", environ=env, settings=settings(dial))

    yield kind, host, resolve


def behind_tls(impostor: Impostor, certificate: IssuedCertificate) -> TlsPostgresProxy:
    return TlsPostgresProxy(("127.0.0.1", impostor.port), certificate)


def refused(conn: ConnectionDetails) -> ConnectionFailed:
    with pytest.raises(ConnectionFailed) as info:
        conn.connect(connect_timeout=5)
    assert PASSWORD not in str(info.value) + repr(info.value) + str(info.value.hint)
    return info.value


@pytest.mark.parametrize("resolve_kind", KINDS, indirect=True)
def test_plain_tcp_impostor_gets_no_startup_packet(resolve_kind: tuple[str, str, Resolve]) -> None:
    _kind, _host, resolve = resolve_kind
    with Impostor(method="cleartext") as impostor:
        conn = resolve(f"127.0.0.1:{impostor.port}")
        assert conn.require_auth is None  # TLS, verified, proves the server here
        error = refused(conn)
        assert "does not support SSL" in error.reason
    assert impostor.connections >= 1 and impostor.startup_packets == 0  # only an SSLRequest, declined
    assert_nothing_of(PASSWORD, impostor.received)


@pytest.mark.parametrize("resolve_kind", KINDS, indirect=True)
def test_tls_impostor_with_another_ca_gets_nothing(
    resolve_kind: tuple[str, str, Resolve], tls_postgres: TlsPostgres
) -> None:
    _kind, host, resolve = resolve_kind
    with (
        Impostor(method="cleartext") as impostor,
        behind_tls(impostor, tls_postgres.other_ca.issue(host)) as front,
    ):
        error = refused(resolve(front.address))
        assert "certificate" in error.reason
    assert impostor.connections == 0 and impostor.received == b""
    assert_nothing_of(PASSWORD, impostor.received)


@pytest.mark.parametrize("resolve_kind", ["aurora", "flexible-server", "external"], indirect=True)
def test_verify_full_refuses_the_right_ca_for_another_name(
    resolve_kind: tuple[str, str, Resolve], tls_postgres: TlsPostgres
) -> None:
    _kind, _host, resolve = resolve_kind
    with Impostor(method="cleartext") as impostor, behind_tls(impostor, tls_postgres.ca.issue("evil.example.com")) as front:  # fmt: skip
        error = refused(resolve(front.address))
        assert "does not match host name" in error.reason
    # The handshake completes (libpq checks the name after it), so the front reaches the impostor; the
    # client then hangs up without a byte of the protocol.
    assert impostor.received == b""
    assert_nothing_of(PASSWORD, impostor.received)


@pytest.mark.parametrize("resolve_kind", KINDS, indirect=True)
def test_control_the_right_certificate_would_reach_it(
    resolve_kind: tuple[str, str, Resolve], tls_postgres: TlsPostgres
) -> None:
    """The harness sees a leak when there is one: only a holder of the CA's key could do this."""
    _kind, host, resolve = resolve_kind
    with Impostor(method="cleartext") as impostor, behind_tls(impostor, tls_postgres.ca.issue(host)) as front:
        refused(resolve(front.address))  # the impostor's own "password authentication failed"
    assert PASSWORD.encode() in impostor.received


def test_the_scrubbed_spellings_cover_the_control() -> None:
    with pytest.raises(AssertionError):
        assert_nothing_of(PASSWORD, b"p\x00\x00\x00\x1b" + PASSWORD.encode())
    with pytest.raises(AssertionError):
        assert_nothing_of(PASSWORD, PASSWORD.encode()[3:12])
