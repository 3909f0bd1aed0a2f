"""get_postgres_connection for every binding variant, with the real SDKs against loopback emulators."""

from __future__ import annotations

import json
import logging
import time
import traceback
from pathlib import Path
from typing import Any

import pytest

from alien_nb import (
    BindingConfigInvalid,
    CloudSettings,
    ConnectionFailed,
    SecretResolutionFailed,
    SecretValueInvalid,
    get_postgres_connection,
)
from alien_nb.resolver import Resolver
from alien_nb.testing import FakeAzure, FakeGcp, MotoServer, StubCredential
from tests.local.conftest import secret_spellings

from .conftest import AURORA_HOST, AZURE_HOST, CLOUD_SQL_IP, TlsPostgres

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2].parent / "shared" / "vectors" / "postgres-wire.json").read_text()
)["resolvedConnection"]
PROJECT = "alien-test"


def env_for(name: str, binding: dict[str, Any]) -> dict[str, str]:
    return {f"ALIEN_{name.upper().replace('-', '_')}_BINDING": json.dumps(binding)}


def aws_settings(moto: MotoServer, **kw: Any) -> CloudSettings:
    return CloudSettings(aws_endpoint_url=moto.url, **kw)


def gcp_settings(gcp: FakeGcp, **kw: Any) -> CloudSettings:
    return CloudSettings(gcp_secret_manager_endpoint=gcp.url, gcp_project=PROJECT, **kw)


def azure_settings(azure: FakeAzure, **kw: Any) -> CloudSettings:
    return CloudSettings(
        key_vault_endpoint=azure.url,
        azure_credential=StubCredential(),
        azure_ca_bundle=str(azure.ca_path),
        **kw,
    )


def assert_hidden(secret: str, *texts: str) -> None:
    for text in texts:
        for form in secret_spellings(secret):
            assert form.decode() not in text, "a password spelling leaked"


# -- the wire vectors --------------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_resolved_connection_vectors(
    vector: dict[str, Any], moto: MotoServer, gcp_server: FakeGcp, azure_server: FakeAzure
) -> None:
    binding = dict(vector["binding"])
    secret = vector["secretValue"]
    service = binding["service"]
    settings = CloudSettings()
    if service == "aurora":
        # moto makes its own ARN suffix; the connection string does not carry the ARN.
        name = binding["passwordSecretArn"].split(":secret:")[1].rsplit("-", 1)[0]
        arn = moto.client("secretsmanager").create_secret(Name=name, SecretString=secret)["ARN"]
        binding["passwordSecretArn"] = arn
        settings = aws_settings(moto)
    elif service == "cloud-sql":
        gcp_server.set_secret(binding["passwordSecretName"], secret)
        settings = gcp_settings(gcp_server)
    elif service == "flexible-server":
        azure_server.set_secret(binding["passwordSecretUri"].rsplit("/", 1)[1], secret)
        settings = azure_settings(azure_server)
    conn = get_postgres_connection("stack-pg", environ=env_for("stack-pg", binding), settings=settings)
    assert conn.sslmode == vector["sslmode"]
    assert conn.connection_string.get_secret_value() == vector["connectionString"]
    assert conn.password.get_secret_value() == (secret if secret is not None else binding["password"])
    shown = repr(conn) + str(conn) + conn._repr_html_() + repr(conn.connection_string)
    assert_hidden(conn.password.get_secret_value(), shown)
    if service == "cloud-sql":
        assert conn.ca_roots == tuple(binding["serverCaCertificates"])
    elif service in ("aurora", "flexible-server"):
        assert conn.ca_roots and "BEGIN CERTIFICATE" in conn.ca_roots[0]  # the shipped provider roots


# -- configuration errors come before any network call -----------------------------------------


def test_config_errors_before_any_call(gcp_server: FakeGcp) -> None:
    before = len(gcp_server.requests)
    bad = {"service": "cloud-sql", "host": "10.0.0.5", "port": 5432, "database": "app", "username": "alien",
           "serverCaCertificates": [], "passwordSecretName": "pw"}  # fmt: skip
    with pytest.raises(BindingConfigInvalid, match="serverCaCertificates"):
        get_postgres_connection("db", environ=env_for("db", bad), settings=gcp_settings(gcp_server))
    short = {**bad, "serverCaCertificates": ["-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"]}
    from alien_nb.core._cloud import CloudSettingsInvalid

    with pytest.raises(CloudSettingsInvalid, match="ALIEN_NB_GCP_PROJECT"):
        get_postgres_connection(
            "db",
            environ=env_for("db", short),
            settings=CloudSettings(gcp_secret_manager_endpoint=gcp_server.url),
        )
    assert len(gcp_server.requests) == before


def test_settings_from_environment() -> None:
    settings = CloudSettings.from_env(
        {
            "ALIEN_NB_DIAL": "db.internal=127.0.0.1:15432, other=[::1]:5",
            "ALIEN_NB_CLOUD_TIMEOUT": "2.5",
            "ALIEN_NB_GCP_PROJECT": "p",
        }
    )
    assert settings.dial_target("db.internal") == ("127.0.0.1", 15432)
    assert settings.dial_target("other") == ("::1", 5)
    assert settings.timeout == 2.5 and settings.gcp_project == "p"
    assert CloudSettings.from_env(settings.to_env()).dial == settings.dial
    from alien_nb.core._cloud import CloudSettingsInvalid

    with pytest.raises(CloudSettingsInvalid, match="plain http"):
        CloudSettings(key_vault_endpoint="http://vault.example.com")
    with pytest.raises(CloudSettingsInvalid, match="address:port"):
        CloudSettings.from_env({"ALIEN_NB_DIAL": "db=nowhere"})


# -- Secrets Manager -------------------------------------------------------------------------------


def aurora_binding(arn: str) -> dict[str, Any]:
    return {"service": "aurora", "clusterEndpoint": AURORA_HOST, "port": 5432, "database": "alien",
            "username": "alien", "passwordSecretArn": arn}  # fmt: skip


def test_aurora_rotation_json_shape_and_one_client(moto: MotoServer) -> None:
    sm = moto.client("secretsmanager")
    arn = sm.create_secret(Name="rot", SecretString="first-password")["ARN"]
    resolver = Resolver(aws_settings(moto))
    assert resolver.resolve(aurora_binding(arn)).password.get_secret_value() == "first-password"
    client = resolver._aws_reader().client("us-east-1")
    sm.put_secret_value(SecretId=arn, SecretString="second-password")  # a rotation
    assert resolver.resolve(aurora_binding(arn)).password.get_secret_value() == "second-password"
    assert resolver._aws_reader().client("us-east-1") is client  # created once, read every time
    # The RDS-managed master secret shape is accepted too (an alien_nb decision).
    sm.put_secret_value(SecretId=arn, SecretString=json.dumps({"username": "admin", "password": "P@55w0rd!"}))
    assert resolver.resolve(aurora_binding(arn)).password.get_secret_value() == "P@55w0rd!"
    # Any other value is the raw password, as the contract says, even if it parses as JSON.
    sm.put_secret_value(SecretId=arn, SecretString='{"user": "x"}')
    assert resolver.resolve(aurora_binding(arn)).password.get_secret_value() == '{"user": "x"}'


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"SecretBinary": b"\xff\xfe"}, "not UTF-8"),
    ],
)
def test_aurora_unusable_values(moto: MotoServer, value: dict[str, Any], reason: str) -> None:
    sm = moto.client("secretsmanager")
    arn = sm.create_secret(Name="bad", **value)["ARN"]
    with pytest.raises(SecretValueInvalid) as info:
        Resolver(aws_settings(moto)).resolve(aurora_binding(arn))
    assert arn in str(info.value) and reason in str(info.value)


def test_aurora_missing_secret_is_a_failed_read(moto: MotoServer) -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nothing-here-AbCdEf"
    with pytest.raises(SecretResolutionFailed) as info:
        Resolver(aws_settings(moto)).resolve(aurora_binding(arn))
    assert arn in str(info.value) and "ResourceNotFoundException" in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_secret_value_never_logged(moto: MotoServer, all_logs: pytest.LogCaptureFixture,
                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    canary = "canary-Zq8xVv3rKp"
    arn = moto.client("secretsmanager").create_secret(Name="logged", SecretString=canary)["ARN"]
    all_logs.clear()
    conn = Resolver(aws_settings(moto)).resolve(aurora_binding(arn))
    assert conn.password.get_secret_value() == canary
    assert any(r.name.startswith("botocore") for r in all_logs.records)  # DEBUG logging really was on
    assert_hidden(canary, "\n".join(r.getMessage() for r in all_logs.records), *capsys.readouterr())


# -- Secret Manager --------------------------------------------------------------------------------


def cloud_sql_binding(ca_pem: str, secret: str = "pg-password") -> dict[str, Any]:
    return {"service": "cloud-sql", "host": CLOUD_SQL_IP, "port": 5432, "database": "alien", "username": "alien",
            "serverCaCertificates": [ca_pem], "passwordSecretName": secret}  # fmt: skip


def test_cloud_sql_rotation_checksum_and_errors(gcp_server: FakeGcp, tls_postgres: TlsPostgres) -> None:
    resolver = Resolver(gcp_settings(gcp_server))
    binding = cloud_sql_binding(tls_postgres.ca.cert_pem, "rotating")
    gcp_server.set_secret("rotating", "v1-password")
    assert resolver.resolve(binding).password.get_secret_value() == "v1-password"
    gcp_server.set_secret("rotating", "v2-password")
    assert resolver.resolve(binding).password.get_secret_value() == "v2-password"
    gcp_server.corrupt_checksums = True
    try:
        with pytest.raises(SecretResolutionFailed, match="CRC32C"):
            resolver.resolve(binding)
    finally:
        gcp_server.corrupt_checksums = False
    gcp_server.set_secret("rotating", b"\xc3\x28")
    with pytest.raises(SecretValueInvalid, match="UTF-8"):
        resolver.resolve(binding)
    with pytest.raises(SecretResolutionFailed, match="NOT_FOUND") as info:
        resolver.resolve(cloud_sql_binding(tls_postgres.ca.cert_pem, "no-such-secret"))
    assert "no-such-secret" in str(info.value)


def test_cloud_sql_unreachable_is_bounded_by_the_timeout(tls_postgres: TlsPostgres) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    settings = CloudSettings(gcp_secret_manager_endpoint=f"http://127.0.0.1:{dead}", gcp_project=PROJECT,
                             timeout=2.0)  # fmt: skip
    started = time.monotonic()
    with pytest.raises(SecretResolutionFailed):
        Resolver(settings).resolve(cloud_sql_binding(tls_postgres.ca.cert_pem))
    # The client alone would retry for about a minute; the bound is generous so that a slow or
    # loaded machine cannot fail it, and still far below the unbounded retry.
    assert time.monotonic() - started < 40


# -- Key Vault -----------------------------------------------------------------------------------------


def azure_binding(name: str = "pg-password", version: str | None = None) -> dict[str, Any]:
    uri = f"https://alien-vault.vault.azure.net/secrets/{name}" + (f"/{version}" if version else "")
    return {"service": "flexible-server", "host": AZURE_HOST, "port": 5432, "database": "alien",
            "username": "alien", "passwordSecretUri": uri}  # fmt: skip


def test_key_vault_challenge_rotation_versions_and_errors(azure_server: FakeAzure) -> None:
    settings = azure_settings(azure_server)
    credential = settings.azure_credential
    resolver = Resolver(settings)
    first = azure_server.set_secret("kv-rot", "kv-first")
    assert resolver.resolve(azure_binding("kv-rot")).password.get_secret_value() == "kv-first"
    azure_server.set_secret("kv-rot", "kv-second")
    assert resolver.resolve(azure_binding("kv-rot")).password.get_secret_value() == "kv-second"
    assert resolver.resolve(azure_binding("kv-rot", first)).password.get_secret_value() == "kv-first"
    assert credential.scopes and all(s == ("https://vault.azure.net/.default",) for s in credential.scopes)
    with pytest.raises(SecretResolutionFailed, match="not found") as info:
        resolver.resolve(azure_binding("kv-missing"))
    assert "kv-missing" in str(info.value)
    azure_server.set_secret("kv-empty", "")
    with pytest.raises(SecretValueInvalid, match="empty"):
        resolver.resolve(azure_binding("kv-empty"))


# -- TLS end to end: each cloud variant connects for real, and the wrong CA or name is refused -------


def connect_and_check(conn: Any) -> None:
    with conn.connect() as pg:
        assert pg.pgconn.ssl_in_use  # TLS all the way to the (proxied) server
        assert pg.execute("SELECT current_user, current_database()").fetchone() == ("alien", "alien")


def test_aurora_connects_over_verified_tls(moto: MotoServer, tls_postgres: TlsPostgres) -> None:
    tls_postgres.serve(AURORA_HOST, AZURE_HOST, CLOUD_SQL_IP)
    password = "aurora-e2e-Password1"
    tls_postgres.set_alien_password(password)
    arn = moto.client("secretsmanager").create_secret(Name="e2e", SecretString=password)["ARN"]
    dial = {AURORA_HOST: tls_postgres.dial}
    trusted = aws_settings(moto, dial=dial, ca_roots={"aurora": tls_postgres.ca.cert_pem})
    connect_and_check(Resolver(trusted).resolve(aurora_binding(arn)))
    # The shipped AWS roots do not trust the suite's CA: refused.
    with pytest.raises(ConnectionFailed, match="certificate") as info:
        Resolver(aws_settings(moto, dial=dial)).resolve(aurora_binding(arn)).connect()
    assert "AWS RDS roots" in (info.value.hint or "")
    # verify-full: a certificate for another name is refused.
    other = "other.cluster-abc.us-east-1.rds.amazonaws.com"
    wrong_name = aws_settings(
        moto, dial={other: tls_postgres.dial}, ca_roots={"aurora": tls_postgres.ca.cert_pem}
    )
    with pytest.raises(ConnectionFailed, match="does not match host name"):
        Resolver(wrong_name).resolve({**aurora_binding(arn), "clusterEndpoint": other}).connect()


def test_cloud_sql_connects_with_the_binding_roots(gcp_server: FakeGcp, tls_postgres: TlsPostgres) -> None:
    tls_postgres.serve(AURORA_HOST, AZURE_HOST, CLOUD_SQL_IP)
    password = "cloudsql-e2e-Password1"
    tls_postgres.set_alien_password(password)
    gcp_server.set_secret("e2e", password)
    settings = gcp_settings(gcp_server, dial={CLOUD_SQL_IP: tls_postgres.dial})
    connect_and_check(Resolver(settings).resolve(cloud_sql_binding(tls_postgres.ca.cert_pem, "e2e")))
    with pytest.raises(ConnectionFailed, match="certificate"):
        Resolver(settings).resolve(cloud_sql_binding(tls_postgres.other_ca.cert_pem, "e2e")).connect()


def test_flexible_server_connects_over_verified_tls(
    azure_server: FakeAzure, tls_postgres: TlsPostgres
) -> None:
    tls_postgres.serve(AURORA_HOST, AZURE_HOST, CLOUD_SQL_IP)
    password = "azure-e2e-Password1"
    tls_postgres.set_alien_password(password)
    azure_server.set_secret("e2e", password)
    dial = {AZURE_HOST: tls_postgres.dial}
    settings = azure_settings(azure_server, dial=dial, ca_roots={"flexible-server": tls_postgres.ca.cert_pem})
    conn = Resolver(settings).resolve(azure_binding("e2e"))
    connect_and_check(conn)
    with pytest.raises(ConnectionFailed, match="certificate"):
        Resolver(azure_settings(azure_server, dial=dial)).resolve(azure_binding("e2e")).connect()
    other = "elsewhere.postgres.database.azure.com"
    wrong = azure_settings(azure_server, dial={other: tls_postgres.dial},
                           ca_roots={"flexible-server": tls_postgres.ca.cert_pem})  # fmt: skip
    with pytest.raises(ConnectionFailed, match="does not match host name") as info:
        Resolver(wrong).resolve({**azure_binding("e2e"), "host": other}).connect()
    assert_hidden(
        password, str(info.value), repr(info.value), "".join(traceback.format_exception(info.value))
    )


def test_libpq_uri_dials_the_tunnel(moto: MotoServer, tls_postgres: TlsPostgres) -> None:
    import psycopg

    tls_postgres.serve(AURORA_HOST, AZURE_HOST, CLOUD_SQL_IP)
    tls_postgres.set_alien_password("uri-Password1")
    arn = moto.client("secretsmanager").create_secret(Name="uri", SecretString="uri-Password1")["ARN"]
    settings = aws_settings(
        moto, dial={AURORA_HOST: tls_postgres.dial}, ca_roots={"aurora": tls_postgres.ca.cert_pem}
    )
    conn = Resolver(settings).resolve(aurora_binding(arn))
    with psycopg.connect(conn.libpq_uri().get_secret_value()) as pg:
        assert pg.pgconn.ssl_in_use and pg.info.port == int(tls_postgres.dial.rsplit(":", 1)[1])


def test_logging_guard_masks_known_secrets() -> None:
    from alien_nb.core import Redactor
    from alien_nb.core._logguard import guard_logs

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("alien-nb-test-guard")
    handler = Keep()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        with guard_logs(Redactor(["hunter2-canary"])):
            logger.debug("body=%s", {"MasterUserPassword": "hunter2-canary"})
            try:
                raise ValueError("echo hunter2-canary")
            except ValueError:
                logger.exception("failed")
        logger.debug("after: hunter2-canary")
    finally:
        logger.removeHandler(handler)
    assert "hunter2-canary" not in records[0].getMessage()
    assert "hunter2-canary" not in (records[1].exc_text or "") and records[1].exc_info is None
    assert records[2].getMessage() == "after: hunter2-canary"  # outside the guard nothing changes


def test_logging_guard_covers_extra_fields() -> None:
    from alien_nb.core import Redactor
    from alien_nb.core._logguard import guard_logs

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    mine, client = logging.getLogger("alien-nb-test-extra"), logging.getLogger("google.fake.client")
    handler = Keep()
    for logger in (mine, client):
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        with guard_logs(Redactor(["extra-canary-1"])):
            mine.debug("request", extra={"httpRequest": {"payload": "extra-canary-1"}})
        with guard_logs(withhold_client_chatter=True):
            client.debug("response", extra={"response": {"payload": {"data": "unknown-secret"}}})
    finally:
        for logger in (mine, client):
            logger.removeHandler(handler)
    assert "extra-canary-1" not in str(records[0].httpRequest)  # type: ignore[attr-defined]
    assert not hasattr(records[1], "response") and "withheld" in records[1].getMessage()
