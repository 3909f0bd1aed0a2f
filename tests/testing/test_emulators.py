"""alien_nb.testing: each emulator driven by the real client libraries, on loopback only."""

from __future__ import annotations

import base64
import json
import os
import ssl
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509

from alien_nb.core._crc32c import crc32c
from alien_nb.testing import FakeAzure, FakeGcp, MotoServer, StubCredential, TestCertificateAuthority

CANARY = "Canary-pw-7f3a!Q9"

# --------------------------------------------------------------------------------------------
# TLS kit
# --------------------------------------------------------------------------------------------


def _handshake(client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext, hostname: str) -> None:
    """A full TLS handshake in memory: no sockets, no threads."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=hostname)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(20):
        for name, side in (("client", client), ("server", server)):
            if not done[name]:
                try:
                    side.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return
    raise AssertionError("handshake did not finish")


def _strict(ctx: ssl.SSLContext) -> ssl.SSLContext:
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT  # Python 3.13's default
    return ctx


@pytest.fixture(scope="module")
def ca() -> TestCertificateAuthority:
    return TestCertificateAuthority()


def test_issued_certificate_verifies_against_its_ca_only(ca: TestCertificateAuthority) -> None:
    leaf = ca.issue("127.0.0.1", "localhost")
    server_ctx = leaf.server_context()
    _handshake(_strict(ca.client_context()), server_ctx, "127.0.0.1")
    _handshake(_strict(ca.client_context()), server_ctx, "localhost")

    other = TestCertificateAuthority("another CA")
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        _handshake(other.client_context(), server_ctx, "127.0.0.1")
    with pytest.raises(ssl.SSLCertVerificationError, match=r"mismatch|doesn't match"):
        _handshake(ca.client_context(), server_ctx, "db.example.com")


def test_issued_certificate_shape_and_files(ca: TestCertificateAuthority, tmp_path: Path) -> None:
    leaf = ca.issue("localhost", "127.0.0.1", "::1")
    cert = x509.load_pem_x509_certificate(leaf.cert_pem.encode())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    assert cert.subject.rfc4514_string() == "CN=localhost"

    cert_path, key_path = leaf.write(tmp_path, "pg")
    assert (cert_path.name, key_path.name) == ("pg.crt", "pg.key")
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    assert cert_path.read_text().count("BEGIN CERTIFICATE") == 2
    assert cert_path.read_text().startswith(leaf.cert_pem) and cert_path.read_text().endswith(ca.cert_pem)
    assert ca.write_ca(tmp_path / "ca.pem").read_text() == ca.cert_pem
    with pytest.raises(ValueError):
        ca.issue()


def test_crc32c_matches_google_crc32c() -> None:
    assert crc32c(b"s3cr3t-pw") == 465737248
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0


# --------------------------------------------------------------------------------------------
# AWS: moto
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aws() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


def test_moto_secrets_manager_and_reset(aws: MotoServer) -> None:
    sm = aws.client("secretsmanager")
    arn = sm.create_secret(Name="nb/pg", SecretString=json.dumps({"password": CANARY}))["ARN"]
    assert json.loads(sm.get_secret_value(SecretId=arn)["SecretString"]) == {"password": CANARY}
    aws.reset()
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.get_secret_value(SecretId="nb/pg")


def test_moto_rds_managed_master_secret(aws: MotoServer) -> None:
    rds, sm = aws.client("rds"), aws.client("secretsmanager")
    cluster = rds.create_db_cluster(
        DBClusterIdentifier="nb-aurora",
        Engine="aurora-postgresql",
        MasterUsername="nbadmin",
        ManageMasterUserPassword=True,
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 2.0},
    )["DBCluster"]
    described = rds.describe_db_clusters(DBClusterIdentifier="nb-aurora")["DBClusters"][0]
    assert described["Status"] == "available"
    secret = json.loads(
        sm.get_secret_value(SecretId=cluster["MasterUserSecret"]["SecretArn"])["SecretString"]
    )
    assert set(secret) == {"username", "password"}
    aws.reset()
    assert rds.describe_db_clusters()["DBClusters"] == []


def test_moto_environ_drives_boto3_default_chain(aws: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    env = aws.environ()
    assert env["AWS_ENDPOINT_URL"] == aws.url and env["AWS_DEFAULT_REGION"] == "us-east-1"
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("secretsmanager")
    try:
        client.create_secret(Name="from-env", SecretString="x")
        assert aws.client("secretsmanager").get_secret_value(SecretId="from-env")["SecretString"] == "x"
    finally:
        client.close()
        aws.reset()


# --------------------------------------------------------------------------------------------
# GCP: Secret Manager through the real REST client
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gcp(ca: TestCertificateAuthority) -> Iterator[FakeGcp]:
    with FakeGcp(server_ca_pem=ca.cert_pem) as fake:
        yield fake


def test_gcp_secret_manager_round_trip(gcp: FakeGcp) -> None:
    from google.api_core import exceptions
    from google.cloud.secretmanager import Replication, Secret, SecretPayload

    client = gcp.secret_manager_client()
    parent = f"projects/{gcp.project}"
    automatic = Secret(replication=Replication(automatic=Replication.Automatic()))
    secret = client.create_secret(parent=parent, secret_id="pg-pw", secret=automatic)
    assert secret.name == f"{parent}/secrets/pg-pw"
    v1 = client.add_secret_version(
        parent=secret.name, payload=SecretPayload(data=b"old-pw", data_crc32c=crc32c(b"old-pw"))
    )
    assert v1.name.endswith("/versions/1") and v1.client_specified_payload_checksum
    client.add_secret_version(parent=secret.name, payload=SecretPayload(data=CANARY.encode()))

    latest = client.access_secret_version(name=f"{secret.name}/versions/latest")
    assert latest.name == f"{secret.name}/versions/2"
    assert latest.payload.data == CANARY.encode()
    assert latest.payload.data_crc32c == crc32c(CANARY.encode())
    assert client.access_secret_version(name=f"{secret.name}/versions/1").payload.data == b"old-pw"
    assert [v.name[-1] for v in client.list_secret_versions(parent=secret.name)] == ["2", "1"]
    assert gcp.secret_versions("pg-pw") == [b"old-pw", CANARY.encode()]

    with pytest.raises(exceptions.NotFound):
        client.access_secret_version(name=f"{parent}/secrets/missing/versions/latest", retry=None)
    with pytest.raises(exceptions.NotFound):
        client.access_secret_version(name=f"{secret.name}/versions/9", retry=None)
    with pytest.raises(exceptions.Conflict):  # REST maps by HTTP status: Conflict, not AlreadyExists
        client.create_secret(parent=parent, secret_id="pg-pw", secret=automatic)
    with pytest.raises(exceptions.BadRequest, match="data_crc32c"):
        client.add_secret_version(parent=secret.name, payload=SecretPayload(data=b"x", data_crc32c=1))
    assert len(gcp.secret_versions("pg-pw")) == 2

    client.delete_secret(name=secret.name)
    with pytest.raises(exceptions.NotFound):
        client.get_secret(name=secret.name)


def test_gcp_secret_manager_helpers_regional_and_corrupt_checksum(gcp: FakeGcp) -> None:
    client = gcp.secret_manager_client()
    assert gcp.set_secret("seeded", CANARY) == 1
    assert gcp.set_secret("seeded", b"\x00binary") == 2
    name = client.secret_version_path(gcp.project, "seeded", "1")
    assert client.access_secret_version(name=name).payload.data == CANARY.encode()

    gcp.set_secret("regional", "r-pw", location="europe-west1")
    regional = f"projects/{gcp.project}/locations/europe-west1/secrets/regional/versions/latest"
    assert client.access_secret_version(name=regional).payload.data == b"r-pw"

    gcp.corrupt_checksums = True
    try:
        response = client.access_secret_version(name=name)
    finally:
        gcp.corrupt_checksums = False
    assert response.payload.data == CANARY.encode()  # the client itself does not verify the checksum
    assert response.payload.data_crc32c != crc32c(response.payload.data)


def test_gcp_fail_next_and_other_projects(gcp: FakeGcp) -> None:
    from google.api_core import exceptions

    client = gcp.secret_manager_client()
    gcp.set_secret("flaky", CANARY)
    gcp.fail_next("GET", r"/secrets/flaky/versions/[^/]+:access$", 403, None)
    name = client.secret_version_path(gcp.project, "flaky", "latest")
    with pytest.raises(exceptions.Forbidden) as info:
        client.access_secret_version(name=name, retry=None)
    assert CANARY not in str(info.value)
    assert client.access_secret_version(name=name).payload.data == CANARY.encode()  # fired once only
    with pytest.raises(exceptions.Forbidden):
        client.access_secret_version(name="projects/elsewhere/secrets/flaky/versions/latest", retry=None)


# --------------------------------------------------------------------------------------------
# GCP: Cloud SQL Admin v1 with requests
# --------------------------------------------------------------------------------------------


def _instance_body(name: str, **settings: Any) -> dict[str, Any]:
    return {
        "name": name,
        "databaseVersion": "POSTGRES_16",
        "region": "europe-west1",
        "rootPassword": CANARY,
        "settings": {
            "tier": "db-custom-2-7680",
            "dataDiskSizeGb": "20",
            "availabilityType": "ZONAL",
            "ipConfiguration": {
                "ipv4Enabled": False,
                "privateNetwork": "projects/alien-test/global/networks/v",
            },
            "userLabels": {"owner": "alien-nb"},
            **settings,
        },
    }


def test_cloud_sql_lifecycle(gcp: FakeGcp, ca: TestCertificateAuthority) -> None:
    base = f"{gcp.url}/v1/projects/{gcp.project}"
    with requests.Session() as http:
        op = http.post(f"{base}/instances", json=_instance_body("nb-sql")).json()
        assert (op["kind"], op["status"], op["operationType"], op["targetId"]) == (
            "sql#operation",
            "DONE",
            "CREATE",
            "nb-sql",
        )
        assert http.get(f"{base}/operations/{op['name']}").json()["status"] == "DONE"

        got = http.get(f"{base}/instances/nb-sql").json()
        assert got["state"] == "RUNNABLE" and got["connectionName"] == "alien-test:europe-west1:nb-sql"
        assert got["ipAddresses"] == [{"type": "PRIVATE", "ipAddress": "10.0.0.100"}]
        assert got["serverCaCert"]["cert"] == ca.cert_pem and got["backendType"] == "SECOND_GEN"
        assert got["settings"]["dataDiskSizeGb"] == "20" and got["settings"]["userLabels"] == {
            "owner": "alien-nb"
        }
        assert "rootPassword" not in got and CANARY not in json.dumps(gcp.instances)
        assert gcp.user_password("nb-sql", "postgres") == CANARY

        dup = http.post(f"{base}/instances", json=_instance_body("nb-sql"))
        assert dup.status_code == 409 and dup.json()["error"]["status"] == "ALREADY_EXISTS"

        patch = {"settings": {"tier": "db-custom-4-15360", "availabilityType": "REGIONAL"}}
        assert http.patch(f"{base}/instances/nb-sql", json=patch).json()["operationType"] == "UPDATE"
        upgraded = http.patch(f"{base}/instances/nb-sql", json={"databaseVersion": "POSTGRES_17"})
        assert upgraded.status_code == 200
        got = http.get(f"{base}/instances/nb-sql").json()
        assert got["settings"]["tier"] == "db-custom-4-15360" and got["databaseVersion"] == "POSTGRES_17"
        assert (
            got["settings"]["userLabels"] == {"owner": "alien-nb"}
            and got["settings"]["settingsVersion"] == "3"
        )
        shrink = http.patch(f"{base}/instances/nb-sql", json={"settings": {"dataDiskSizeGb": "10"}})
        assert shrink.status_code == 400

        assert http.post(f"{base}/instances/nb-sql/users", json={"name": "app", "password": CANARY}).ok
        new_pw = "rotated-" + CANARY
        updated = http.put(
            f"{base}/instances/nb-sql/users", params={"name": "app"}, json={"password": new_pw}
        )
        assert updated.json()["operationType"] == "UPDATE_USER"
        users = http.get(f"{base}/instances/nb-sql/users").json()["items"]
        assert sorted(u["name"] for u in users) == ["app", "postgres"] and CANARY not in json.dumps(users)
        assert gcp.user_password("nb-sql", "app") == new_pw
        assert (
            http.put(f"{base}/instances/nb-sql/users", params={"name": "ghost"}, json={}).status_code == 404
        )

        assert http.post(f"{base}/instances/nb-sql/databases", json={"name": "vectors"}).ok
        dbs = http.get(f"{base}/instances/nb-sql/databases").json()["items"]
        assert [d["name"] for d in dbs] == ["postgres", "vectors"] and gcp.databases("nb-sql") == [
            "postgres",
            "vectors",
        ]

        assert http.delete(f"{base}/instances/nb-sql").json()["operationType"] == "DELETE"
        missing = http.get(f"{base}/instances/nb-sql")
        assert missing.status_code == 404 and missing.json()["error"]["status"] == "NOT_FOUND"
    assert not any(CANARY in json.dumps(dict(r.headers)) + r.path for r in gcp.requests)
    assert gcp.errors == []


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"databaseVersion": "MYSQL_8_0"}, "databaseVersion"),
        ({"databaseVersion": "POSTGRES_16", "settings": {"dataDiskSizeGb": "20"}}, "tier"),
        ({"name": "Bad_Name"}, "instance name"),
    ],
)
def test_cloud_sql_create_validation(gcp: FakeGcp, change: dict[str, Any], fragment: str) -> None:
    body = {**_instance_body("nb-bad"), **change}
    response = requests.post(f"{gcp.url}/v1/projects/{gcp.project}/instances", json=body, timeout=5)
    assert response.status_code == 400 and fragment in response.json()["error"]["message"]
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_cloud_sql_injected_failures(gcp: FakeGcp) -> None:
    base = f"{gcp.url}/v1/projects/{gcp.project}"
    with requests.Session() as http:
        gcp.fail_next("POST", r"/instances$", 503, {"error": {"code": 503, "message": "try later"}})
        failed = http.post(f"{base}/instances", json=_instance_body("nb-flaky"))
        assert failed.status_code == 503 and CANARY not in failed.text
        assert "nb-flaky" not in gcp.instances

        gcp.fail_next_operation("ERROR_RDBMS", "quota exceeded")
        op = http.post(f"{base}/instances", json=_instance_body("nb-flaky")).json()
        polled = http.get(f"{base}/operations/{op['name']}").json()
        assert polled["status"] == "DONE"
        assert polled["error"]["errors"] == [
            {"kind": "sql#operationError", "code": "ERROR_RDBMS", "message": "quota exceeded"}
        ]
        assert http.get(f"{base}/instances/nb-flaky").status_code == 404

        gcp.operation_polls_before_done = 2
        try:
            op = http.post(f"{base}/instances", json=_instance_body("nb-slow")).json()
            assert op["status"] == "PENDING"
            states = [http.get(f"{base}/operations/{op['name']}").json()["status"] for _ in range(3)]
        finally:
            gcp.operation_polls_before_done = 0
        assert states == ["RUNNING", "RUNNING", "DONE"]

        gcp.fail_next("*", r"^/nowhere$", 418, {"error": {"code": 418, "message": "teapot"}})
        assert http.get(f"{gcp.url}/nowhere").status_code == 418
        assert http.get(f"{gcp.url}/nowhere").status_code == 404
        assert http.delete(f"{base}/instances/nb-slow").ok


# --------------------------------------------------------------------------------------------
# Azure: Key Vault through the real SecretClient
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def azure() -> Iterator[FakeAzure]:
    with FakeAzure() as fake:
        yield fake


def test_key_vault_challenge_then_token(azure: FakeAzure) -> None:
    from azure.keyvault.secrets import SecretClient

    credential = StubCredential()
    azure.clear_requests()
    with SecretClient(
        vault_url=azure.url,
        credential=credential,
        verify_challenge_resource=False,
        connection_verify=str(azure.ca_path),
    ) as client:
        version = client.set_secret("pg-password", CANARY).properties.version
        assert client.get_secret("pg-password").value == CANARY
    first, second = azure.requests[:2]
    assert (first.method, first.route, "Authorization" in first.headers) == (
        "PUT",
        "/secrets/pg-password",
        False,
    )
    assert second.headers["Authorization"] == "Bearer fake-token"
    assert credential.scopes == [("https://vault.azure.net/.default",)]
    assert credential.calls[0][1]["tenant_id"] == azure.tenant
    assert version is not None and len(version) == 32 and int(version, 16) >= 0

    response = requests.get(f"{azure.url}/secrets/pg-password/", verify=str(azure.ca_path), timeout=5)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith(
        'Bearer authorization="https://login.microsoftonline.com/'
    )
    assert CANARY not in response.text


def test_key_vault_versions_uris_and_delete(azure: FakeAzure) -> None:
    from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
    from azure.keyvault.secrets import KeyVaultSecretIdentifier

    client = azure.secret_client()
    old = azure.set_secret("rotating", "old-pw")
    new = azure.set_secret("rotating", CANARY)
    assert azure.secret_value("rotating") == CANARY
    assert client.get_secret("rotating", old).value == "old-pw"
    assert client.get_secret("rotating").properties.version == new

    ref = KeyVaultSecretIdentifier(azure.secret_uri("rotating", old))
    assert (ref.vault_url, ref.name, ref.version) == (azure.url, "rotating", old)
    assert azure.secret_uri("rotating") == f"{azure.url}/secrets/rotating"

    with pytest.raises(ResourceNotFoundError) as info:
        client.get_secret("absent")
    assert info.value.error is not None and info.value.error.code == "SecretNotFound"
    with pytest.raises(ResourceNotFoundError):
        client.get_secret("rotating", "0" * 32)

    deleted = client.begin_delete_secret("rotating").result()
    assert deleted.recovery_id == f"{azure.url}/deletedsecrets/rotating"
    assert azure.secret_value("rotating") is None
    with pytest.raises(ResourceExistsError):  # soft-deleted names can't be reused until purged
        client.set_secret("rotating", "again")
    client.purge_deleted_secret("rotating")
    client.set_secret("rotating", "again")
    assert azure.secret_value("rotating") == "again"


# --------------------------------------------------------------------------------------------
# Azure: ARM flexible servers with requests
# --------------------------------------------------------------------------------------------


def _server_body(**properties: Any) -> dict[str, Any]:
    return {
        "location": "westeurope",
        "sku": {"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"},
        "properties": {
            "version": "16",
            "administratorLogin": "nbadmin",
            "administratorLoginPassword": CANARY,
            "storage": {"storageSizeGB": 32},
            "network": {"publicNetworkAccess": "Disabled"},
            "highAvailability": {"mode": "Disabled"},
            "createMode": "Create",
            **properties,
        },
        "tags": {"owner": "alien-nb"},
    }


class _Arm:
    def __init__(self, azure: FakeAzure, session: requests.Session, server: str) -> None:
        self.azure, self.http = azure, session
        self.base = (
            f"{azure.url}/subscriptions/{azure.subscription}/resourceGroups/nb-rg"
            f"/providers/Microsoft.DBforPostgreSQL/flexibleServers/{server}"
        )

    def __call__(self, method: str, suffix: str = "", body: Any = None, **kw: Any) -> requests.Response:
        return self.http.request(
            method,
            self.base + suffix,
            params={"api-version": "2024-08-01"},
            json=body,
            headers=self.azure.auth_headers,
            verify=str(self.azure.ca_path),  # per request: REQUESTS_CA_BUNDLE beats Session.verify
            timeout=5,
            **kw,
        )

    def poll(self, response: requests.Response) -> dict[str, Any]:
        url = response.headers["Azure-AsyncOperation"]
        result: dict[str, Any] = self.http.get(
            url, headers=self.azure.auth_headers, verify=str(self.azure.ca_path), timeout=5
        ).json()
        return result


def test_arm_flexible_server_lifecycle(azure: FakeAzure) -> None:
    with requests.Session() as session:
        arm = _Arm(azure, session, "nb-flex")
        created = arm("PUT", body=_server_body())
        assert created.status_code == 201 and created.headers["Retry-After"] == "0"
        assert created.json()["properties"]["state"] == "Provisioning" and CANARY not in created.text
        assert "/locations/westeurope/azureAsyncOperation/" in created.headers["Azure-AsyncOperation"]
        assert arm.poll(created)["status"] == "Succeeded"

        got = arm("GET").json()
        assert got["type"] == "Microsoft.DBforPostgreSQL/flexibleServers"
        assert got["properties"]["state"] == "Ready"
        assert got["properties"]["fullyQualifiedDomainName"] == "nb-flex.postgres.database.azure.com"
        assert got["properties"]["highAvailability"] == {"mode": "Disabled", "state": "NotEnabled"}
        assert "administratorLoginPassword" not in got["properties"]
        assert azure.admin_password("nb-flex") == CANARY and CANARY not in json.dumps(azure.servers)

        patched = arm(
            "PATCH",
            body={
                "sku": {"name": "Standard_D4ds_v5", "tier": "GeneralPurpose"},
                "properties": {
                    "storage": {"storageSizeGB": 64},
                    "highAvailability": {"mode": "ZoneRedundant"},
                },
            },
        )
        assert patched.status_code == 202 and arm.poll(patched)["status"] == "Succeeded"
        assert arm.poll(arm("PATCH", body={"properties": {"version": "17"}}))["status"] == "Succeeded"
        props = arm("GET").json()["properties"]
        assert (props["version"], props["storage"]["storageSizeGB"]) == ("17", 64)
        assert props["highAvailability"] == {"mode": "ZoneRedundant", "state": "Healthy"}
        assert arm("PATCH", body={"properties": {"storage": {"storageSizeGB": 32}}}).status_code == 400

        config = arm(
            "PUT",
            "/configurations/azure.extensions",
            {"properties": {"value": "VECTOR", "source": "user-override"}},
        )
        assert config.status_code in (200, 202) and config.json()["properties"]["value"] == "VECTOR"
        assert arm("GET", "/configurations/azure.extensions").json()["properties"]["value"] == "VECTOR"
        assert azure.configurations["nb-flex"] == {"azure.extensions": "VECTOR"}

        db = arm("PUT", "/databases/vectors", {"properties": {"charset": "UTF8", "collation": "en_US.utf8"}})
        assert db.status_code in (200, 202) and arm.poll(db)["status"] == "Succeeded"
        assert arm("GET", "/databases/vectors").json()["properties"]["charset"] == "UTF8"
        assert "vectors" in azure.databases["nb-flex"]

        deleted = arm("DELETE")
        assert deleted.status_code == 202 and arm.poll(deleted)["status"] == "Succeeded"
        missing = arm("GET")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "ResourceNotFound"
        assert arm("DELETE").status_code == 204
    assert azure.errors == []


def test_arm_requires_token_and_trusted_tls(azure: FakeAzure) -> None:
    with requests.Session() as session:
        arm = _Arm(azure, session, "nb-auth")
        url = arm.base + "?api-version=2024-08-01"
        anonymous = session.put(url, json=_server_body(), verify=str(azure.ca_path), timeout=5)
        assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "AuthenticationFailed"
        wrong = session.get(
            url, headers={"Authorization": "Bearer other"}, verify=str(azure.ca_path), timeout=5
        )
        assert wrong.status_code == 401
        with pytest.raises(requests.exceptions.SSLError):
            session.get(url, headers=azure.auth_headers, timeout=5)  # the system CAs don't know the fake's CA
        assert "nb-auth" not in azure.servers
        no_version = session.get(arm.base, headers=azure.auth_headers, verify=str(azure.ca_path), timeout=5)
        assert no_version.status_code == 400
    assert not any(CANARY in r.path for r in azure.requests)


@pytest.mark.parametrize(
    ("sku", "properties", "code"),
    [
        ({"name": "Standard_B1ms", "tier": "Cheap"}, {}, "InvalidParameterValue"),
        (
            {"name": "Standard_B1ms", "tier": "Burstable"},
            {"highAvailability": {"mode": "ZoneRedundant"}},
            "InvalidParameterValue",
        ),
        (
            {"name": "Standard_B1ms", "tier": "Burstable"},
            {"administratorLoginPassword": None},
            "InvalidParameterValue",
        ),
        (
            {"name": "Standard_B1ms", "tier": "Burstable"},
            {"administratorLoginPassword": "short"},
            "PasswordNotComplex",
        ),
        (
            {"name": "Standard_B1ms", "tier": "Burstable"},
            {"storage": {"storageSizeGB": 20}},
            "InvalidStorageSizeValue",
        ),
    ],
)
def test_arm_create_validation(
    azure: FakeAzure, sku: dict[str, str], properties: dict[str, Any], code: str
) -> None:
    body = _server_body(**properties)
    body["sku"] = sku
    if properties.get("administratorLoginPassword", "") is None:
        del body["properties"]["administratorLoginPassword"]
    with requests.Session() as session:
        response = _Arm(azure, session, "nb-invalid")("PUT", body=body)
    assert response.status_code == 400 and response.json()["error"]["code"] == code
    assert CANARY not in response.text and "short" not in response.json()["error"]["message"]


def test_arm_injected_failures(azure: FakeAzure) -> None:
    with requests.Session() as session:
        arm = _Arm(azure, session, "nb-fail")
        azure.fail_next(
            "PUT", r"/flexibleServers/nb-fail$", 500, {"error": {"code": "Boom", "message": "nope"}}
        )
        failed = arm("PUT", body=_server_body())
        assert (
            failed.status_code == 500
            and failed.json()["error"]["code"] == "Boom"
            and CANARY not in failed.text
        )

        azure.fail_next_operation("ServerProvisioningFailed", "no capacity")
        created = arm("PUT", body=_server_body())
        assert created.status_code == 201
        assert arm.poll(created) == {
            "name": arm.poll(created)["name"],
            "status": "Failed",
            "startTime": arm.poll(created)["startTime"],
            "endTime": arm.poll(created)["endTime"],
            "error": {"code": "ServerProvisioningFailed", "message": "no capacity"},
        }
        assert arm("GET").status_code == 404

        azure.operation_polls_before_done = 1
        try:
            created = arm("PUT", body=_server_body())
            assert [arm.poll(created)["status"] for _ in range(2)] == ["InProgress", "Succeeded"]
        finally:
            azure.operation_polls_before_done = 0
        assert arm.poll(arm("DELETE"))["status"] == "Succeeded"


# --------------------------------------------------------------------------------------------
# Common behaviour
# --------------------------------------------------------------------------------------------


def test_lifecycle_and_recording_without_bodies() -> None:
    fake = FakeGcp(project="p1")
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.url
    with fake:
        assert fake.url.startswith("http://127.0.0.1:")
        with pytest.raises(RuntimeError, match="already running"):
            fake.start()
        body = {"payload": {"data": base64.b64encode(CANARY.encode()).decode()}}
        requests.post(f"{fake.url}/v1/projects/p1/secrets/s:addVersion", json=body, timeout=5)
        (recorded,) = fake.requests
        assert (recorded.method, recorded.route) == ("POST", "/v1/projects/p1/secrets/s:addVersion")
        assert not hasattr(recorded, "body") and CANARY not in repr(recorded)
    fake.stop()  # twice is fine
