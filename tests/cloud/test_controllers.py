"""Cloud controllers against the emulators: plan, create, resolve, connect, update, delete, and no leaks."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from alien_nb import CloudSettings, InvalidResourceUpdate, Postgres
from alien_nb.controllers import AuroraController, CloudSqlController, FlexibleServerController, Plan
from alien_nb.controllers import _cloud as cloud_module
from alien_nb.core import CloudCallFailed, NoTierFits
from alien_nb.resolver import Resolver
from alien_nb.testing import FakeAzure, FakeGcp, MotoServer, StubCredential

from .conftest import CLOUD_SQL_IP, TlsPostgres
from .test_resolver import assert_hidden, connect_and_check

PROJECT = "alien-test"
CANARY = "CanaryMasterPw7QxZ3kLm9V"


@pytest.fixture
def canary(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every generated master password is the canary, so tests can look for it everywhere."""
    monkeypatch.setattr(cloud_module, "new_password", lambda length=32: SecretStr(CANARY))
    for module in ("aws", "gcp", "azure"):
        monkeypatch.setattr(
            f"alien_nb.controllers.{module}.new_password", lambda length=32: SecretStr(CANARY)
        )
    return CANARY


def shown(exc: BaseException, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    logs = "\n".join(r.getMessage() + "\n" + (r.exc_text or "") for r in caplog.records)
    return "\n".join(
        [str(exc), repr(exc), "".join(traceback.format_exception(exc)), logs, captured.out, captured.err]
    )


def aurora(moto: MotoServer, **kw: Any) -> AuroraController:
    controller = AuroraController(region="us-east-1", settings=CloudSettings(aws_endpoint_url=moto.url, **kw))
    controller.poll_interval = 0.01
    return controller


def cloud_sql(gcp: FakeGcp, **kw: Any) -> CloudSqlController:
    settings = CloudSettings(
        gcp_secret_manager_endpoint=gcp.url, gcp_sql_admin_endpoint=gcp.url, gcp_project=PROJECT, **kw
    )
    controller = CloudSqlController(region="europe-west1", network="projects/alien-test/global/networks/vpc",
                                    settings=settings)  # fmt: skip
    controller.poll_interval = 0.01
    return controller


def flexible(azure: FakeAzure, **kw: Any) -> FlexibleServerController:
    settings = CloudSettings(
        key_vault_endpoint=azure.url, azure_arm_endpoint=azure.url, azure_credential=StubCredential(),
        azure_ca_bundle=str(azure.ca_path), **kw,
    )  # fmt: skip
    controller = FlexibleServerController(
        subscription_id=azure.subscription, resource_group="rg-alien", location="westeurope",
        key_vault_url="https://alien-vault.vault.azure.net", settings=settings,
    )  # fmt: skip
    controller.poll_interval = 0.01
    return controller


# -- plan: no cloud call ------------------------------------------------------------------------


def test_plans_call_nothing(gcp_server: FakeGcp, azure_server: FakeAzure) -> None:
    before = (len(gcp_server.requests), len(azure_server.requests))
    resource = Postgres(
        id="plan-db", cpu="2", memory="8Gi", storage="100Gi", version="16", high_availability=True
    )
    aws_plan = AuroraController(
        region="eu-west-1", settings=CloudSettings(aws_endpoint_url="http://127.0.0.1:9")
    ).plan(resource)
    gcp_plan = cloud_sql(gcp_server).plan(resource)
    azure_plan = flexible(azure_server).plan(resource)
    assert (len(gcp_server.requests), len(azure_server.requests)) == before
    assert aws_plan.tier.max_acu == 4 and aws_plan.region == "eu-west-1"
    assert gcp_plan.tier.name == "db-custom-2-13312" and gcp_plan.details["availability"].startswith(
        "REGIONAL"
    )
    assert azure_plan.tier.name == "Standard_D2ds_v5"  # Burstable has no zone-redundant HA
    assert azure_plan.storage.startswith("128 GiB")
    for plan in (aws_plan, gcp_plan, azure_plan):
        assert isinstance(plan, Plan) and plan.cost_class in ("$", "$$", "$$$")
        assert "nothing created" in str(plan) and "<table>" in plan._repr_html_()
    with pytest.raises(NoTierFits, match="largest"):
        cloud_sql(gcp_server).plan(Postgres(id="huge", cpu="500"))


def test_update_refused_before_any_call(gcp_server: FakeGcp) -> None:
    controller = cloud_sql(gcp_server)
    before = len(gcp_server.requests)
    with pytest.raises(InvalidResourceUpdate, match="storage cannot shrink"):
        controller.update(Postgres(id="x-db", storage="50Gi"), Postgres(id="x-db", storage="20Gi"))
    assert len(gcp_server.requests) == before


# -- AWS ------------------------------------------------------------------------------------------------


def test_aurora_lifecycle_end_to_end(moto: MotoServer, tls_postgres: TlsPostgres) -> None:
    controller = aurora(moto)
    resource = Postgres(id="nb-aurora", memory="4Gi", version="16")
    binding = controller.create(resource)
    assert binding.username == "alien" and binding.database == "alien"
    assert controller.ready("nb-aurora") and controller.status("nb-aurora").lifecycle == "running"
    rds = moto.client("rds")
    cluster = rds.describe_db_clusters(DBClusterIdentifier="nb-aurora")["DBClusters"][0]
    assert cluster["Engine"] == "aurora-postgresql" and cluster["StorageEncrypted"]
    assert cluster["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 0.0, "MaxCapacity": 2.0}
    instance = rds.describe_db_instances(DBInstanceIdentifier="nb-aurora-writer")["DBInstances"][0]
    assert instance["DBInstanceClass"] == "db.serverless" and not instance["PubliclyAccessible"]
    # Resolve through Secrets Manager and connect to the local TLS server standing in for the cluster.
    password = moto.client("secretsmanager").get_secret_value(SecretId=binding.password_secret_arn)[
        "SecretString"
    ]
    tls_postgres.serve(binding.cluster_endpoint)
    tls_postgres.set_alien_password(password)
    settings = CloudSettings(aws_endpoint_url=moto.url, dial={binding.cluster_endpoint: tls_postgres.dial},
                             ca_roots={"aurora": tls_postgres.ca.cert_pem})  # fmt: skip
    connect_and_check(Resolver(settings).resolve(binding))
    assert controller.binding("nb-aurora") == binding.synced()
    # Grow capacity, add a reader, upgrade the major version.
    controller.update(resource, Postgres(id="nb-aurora", memory="16Gi", version="17", high_availability=True))
    cluster = rds.describe_db_clusters(DBClusterIdentifier="nb-aurora")["DBClusters"][0]
    assert cluster["ServerlessV2ScalingConfiguration"]["MaxCapacity"] == 8.0
    assert {m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"]} == {
        "nb-aurora-writer",
        "nb-aurora-reader",
    }
    # create again attaches instead of re-creating.
    assert controller.create(resource) == binding
    controller.delete("nb-aurora")
    assert controller.status("nb-aurora").lifecycle == "deleted"


def test_aurora_failed_create_hides_the_master_password(
    moto: MotoServer, canary: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    controller = aurora(moto)

    def echo_error(request: Any, **_kw: Any) -> Any:
        # The emulator's answer, as a hostile service would give it: the request body echoed back.
        from botocore.awsrequest import AWSResponse

        body = f"<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameterValue</Code><Message>bad request: {request.body!r}</Message></Error></ErrorResponse>"
        return AWSResponse(request.url, 400, {}, _Raw(body.encode()))

    controller.rds.meta.events.register("before-send.rds.CreateDBCluster", echo_error)
    with pytest.raises(CloudCallFailed) as info:
        controller.create(Postgres(id="leaky-aurora"))
    assert "InvalidParameterValue" in str(info.value) and "bad request" in str(info.value)
    assert info.value.__cause__ is None  # the SDK error (its frames hold the request) is not chained
    text = shown(info.value, caplog, capsys)
    assert any(r.name.startswith("botocore") for r in caplog.records)
    assert_hidden(canary, text)


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_kw: Any) -> Iterator[bytes]:
        yield self._data

    def read(self, *_a: Any) -> bytes:
        data, self._data = self._data, b""
        return data


# -- GCP -------------------------------------------------------------------------------------------------


def test_cloud_sql_lifecycle_end_to_end(gcp_server: FakeGcp, tls_postgres: TlsPostgres) -> None:
    controller = cloud_sql(gcp_server)
    resource = Postgres(id="nb-cloudsql", cpu="1", memory="3Gi", storage="20Gi", version="16")
    binding = controller.create(resource)
    instance = gcp_server.instances["nb-cloudsql"]
    assert instance["databaseVersion"] == "POSTGRES_16"
    assert instance["settings"]["tier"] == "db-custom-1-3840"
    assert instance["settings"]["ipConfiguration"]["ipv4Enabled"] is False
    assert "rootPassword" not in instance
    assert binding.host == CLOUD_SQL_IP and binding.server_ca_certificates == [tls_postgres.ca.cert_pem]
    password = gcp_server.secret_versions("alien-nb-nb-cloudsql-password")[-1].decode()
    tls_postgres.serve(CLOUD_SQL_IP)
    tls_postgres.set_alien_password(password)
    settings = CloudSettings(
        gcp_secret_manager_endpoint=gcp_server.url, dial={CLOUD_SQL_IP: tls_postgres.dial}
    )
    connect_and_check(Resolver(settings).resolve(binding))
    assert controller.ready("nb-cloudsql")
    controller.update(resource, Postgres(id="nb-cloudsql", cpu="2", memory="8Gi", storage="40Gi", version="17",
                                         high_availability=True))  # fmt: skip
    instance = gcp_server.instances["nb-cloudsql"]
    assert instance["settings"]["tier"] == "db-custom-2-13312"
    assert str(instance["settings"]["dataDiskSizeGb"]) == "40"
    assert (
        instance["settings"]["availabilityType"] == "REGIONAL"
        and instance["databaseVersion"] == "POSTGRES_17"
    )
    controller.delete("nb-cloudsql")
    assert controller.status("nb-cloudsql").lifecycle == "deleted"


@pytest.mark.parametrize("route", [r"/instances$", r"/users$", r":addVersion$"])
def test_cloud_sql_failed_calls_hide_the_password(
    route: str,
    gcp_server: FakeGcp,
    canary: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    controller = cloud_sql(gcp_server)
    method = "POST"
    gcp_server.fail_next(method, route, 400, {"error": {"code": 400, "status": "INVALID_ARGUMENT",
                                                         "message": f"rejected request with password {canary}"}})  # fmt: skip
    with pytest.raises(CloudCallFailed) as info:
        controller.create(Postgres(id=f"leaky-{abs(hash(route)) % 1000}"))
    assert "rejected request" in str(info.value)
    assert_hidden(canary, shown(info.value, caplog, capsys))


# -- Azure -----------------------------------------------------------------------------------------------


def test_flexible_server_lifecycle_end_to_end(azure_server: FakeAzure, tls_postgres: TlsPostgres) -> None:
    controller = flexible(azure_server)
    resource = Postgres(id="nb-flex", cpu="1", memory="2Gi", storage="20Gi", version="16")
    binding = controller.create(resource)
    server = azure_server.servers["nb-flex"]
    assert server["sku"] == {"name": "Standard_B1ms", "tier": "Burstable"}
    assert server["properties"]["network"]["publicNetworkAccess"] == "Disabled"
    assert "administratorLoginPassword" not in server["properties"]
    assert azure_server.configurations["nb-flex"]["azure.extensions"] == "VECTOR"
    assert "alien" in azure_server.databases["nb-flex"]
    assert (
        binding.password_secret_uri == "https://alien-vault.vault.azure.net/secrets/alien-nb-nb-flex-password"
    )
    password = azure_server.secret_value("alien-nb-nb-flex-password")
    assert password
    tls_postgres.serve(binding.host)
    tls_postgres.set_alien_password(password)
    settings = CloudSettings(
        key_vault_endpoint=azure_server.url, azure_credential=StubCredential(), azure_ca_bundle=str(azure_server.ca_path),
        dial={binding.host: tls_postgres.dial}, ca_roots={"flexible-server": tls_postgres.ca.cert_pem},
    )  # fmt: skip
    connect_and_check(Resolver(settings).resolve(binding))
    controller.update(resource, Postgres(id="nb-flex", cpu="2", memory="16Gi", storage="100Gi", version="17",
                                         high_availability=True))  # fmt: skip
    server = azure_server.servers["nb-flex"]
    assert (
        server["sku"]["tier"] == "MemoryOptimized" and server["properties"]["storage"]["storageSizeGB"] == 128
    )
    assert server["properties"]["highAvailability"]["mode"] == "ZoneRedundant"
    assert server["properties"]["version"] == "17"
    controller.delete("nb-flex")
    assert controller.status("nb-flex").lifecycle == "deleted"
    assert azure_server.secret_value("alien-nb-nb-flex-password") is None


def test_flexible_server_failed_create_hides_the_password(
    azure_server: FakeAzure, canary: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    controller = flexible(azure_server)
    azure_server.fail_next("PUT", r"/flexibleServers/leaky-flex$", 400,
                           {"error": {"code": "InvalidParameterValue", "message": f"password {canary} is weak"}})  # fmt: skip
    with pytest.raises(CloudCallFailed) as info:
        controller.create(Postgres(id="leaky-flex"))
    assert "InvalidParameterValue" in str(info.value)
    assert_hidden(canary, shown(info.value, caplog, capsys))
    azure_server.fail_next("PUT", r"/secrets/alien-nb-leaky-flex2-password$", 400,
                           {"error": {"code": "BadParameter", "message": f"value {canary} refused"}})  # fmt: skip
    with pytest.raises(CloudCallFailed) as info:
        controller.create(Postgres(id="leaky-flex2"))
    assert_hidden(canary, shown(info.value, caplog, capsys))


def test_recreate_after_delete_restores_soft_deleted_secrets(
    moto: MotoServer, azure_server: FakeAzure
) -> None:
    controller = aurora(moto)
    first = controller.create(Postgres(id="again-aurora"))
    controller.delete("again-aurora")  # the secret is scheduled for deletion, not gone
    # (moto cannot re-create a deleted cluster id, so the password step of a second create runs alone.)
    arn = controller._store_password("again-aurora", SecretStr("Second-create-Pw1"))
    assert arn == first.password_secret_arn
    value = moto.client("secretsmanager").get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")
    assert value["SecretString"] == "Second-create-Pw1"
    flex = flexible(azure_server)
    flex.create(Postgres(id="again-flex"))
    flex.delete("again-flex")  # Key Vault soft delete: the name stays taken until purged
    assert flex.create(Postgres(id="again-flex")).host == "again-flex.postgres.database.azure.com"
    assert azure_server.secret_value("alien-nb-again-flex-password")


def test_cloud_sql_create_finishes_a_half_done_create(gcp_server: FakeGcp) -> None:
    controller = cloud_sql(gcp_server)
    gcp_server.fail_next("POST", r"/instances/half-done/users$", 500,
                         {"error": {"code": 500, "status": "INTERNAL", "message": "backend error"}})  # fmt: skip
    with pytest.raises(CloudCallFailed, match="backend error"):
        controller.create(Postgres(id="half-done"))
    assert "alien" not in gcp_server.users("half-done")
    controller.create(Postgres(id="half-done"))  # attaches, adds the missing user and database
    assert "alien" in gcp_server.users("half-done") and "alien" in gcp_server.databases("half-done")
    password = gcp_server.secret_versions("alien-nb-half-done-password")[-1].decode()
    assert gcp_server.user_password("half-done", "alien") == password  # the stored one is the real one
    controller.delete("half-done")


def test_interrupted_call_drops_the_request_frames(moto: MotoServer) -> None:
    controller = aurora(moto)
    heard: list[SecretStr] = []
    controller.on_secret = heard.append

    def request_with_body() -> None:
        body = {"MasterUserPassword": CANARY}  # noqa: F841 (the frame local a Verbose traceback would print)
        raise KeyboardInterrupt

    with controller.holding(SecretStr(CANARY)), pytest.raises(KeyboardInterrupt) as info:
        controller.call("create", request_with_body)
    assert heard == [SecretStr(CANARY)]
    assert info.value.__suppress_context__ and info.value.__cause__ is None
    frames = [frame.f_code.co_name for frame, _ in traceback.walk_tb(info.value.__traceback__)]
    assert "request_with_body" not in frames
