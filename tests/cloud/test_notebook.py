"""The magics on cloud backends: --plan, start (create or attach), attach from a binding, rotation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alien_nb import CloudSettings
from alien_nb.controllers import AuroraController, Plan
from alien_nb.resolver import set_default_settings
from alien_nb.testing import FakeAzure, FakeGcp, MotoServer, StubCredential
from tests.notebook.conftest import ip, nb_home  # noqa: F401 (fixtures)

from .conftest import AZURE_HOST, TlsPostgres
from .test_resolver import assert_hidden


@pytest.fixture
def default_settings() -> Iterator[Any]:
    def use(**kw: Any) -> CloudSettings:
        settings = CloudSettings(**kw)
        set_default_settings(settings)
        return settings

    yield use
    set_default_settings(None)


def test_plan_creates_nothing(ip: Any, gcp_server: FakeGcp, default_settings: Any) -> None:  # noqa: F811
    default_settings(gcp_sql_admin_endpoint=gcp_server.url, gcp_secret_manager_endpoint=gcp_server.url,
                     gcp_project="alien-test")  # fmt: skip
    before = len(gcp_server.requests)
    plan = ip.run_line_magic(
        "alien_postgres", "start plan-db --backend cloud-sql --plan --cpu 2 --memory 8Gi --ha"
    )
    assert isinstance(plan, Plan) and plan.tier.name == "db-custom-2-13312" and plan.high_availability
    assert len(gcp_server.requests) == before
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="apply to cloud backends"):
        ip.run_line_magic("alien_postgres", "start plan-db --plan")


def test_start_attaches_to_an_aurora_cluster(
    ip: Any,  # noqa: F811
    moto: MotoServer,
    tls_postgres: TlsPostgres,
    default_settings: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = CloudSettings(aws_endpoint_url=moto.url)
    controller = AuroraController(region="us-east-1", settings=settings)
    from alien_nb import Postgres

    binding = controller.create(Postgres(id="nb-aws", version="16"))
    password = moto.client("secretsmanager").get_secret_value(SecretId=binding.password_secret_arn)[
        "SecretString"
    ]
    tls_postgres.serve(binding.cluster_endpoint)
    tls_postgres.set_alien_password(password)
    default_settings(aws_endpoint_url=moto.url, dial={binding.cluster_endpoint: tls_postgres.dial},
                     ca_roots={"aurora": tls_postgres.ca.cert_pem})  # fmt: skip
    db = ip.run_line_magic("alien_postgres", "start nb-aws --backend aurora --region us-east-1")
    assert ip.user_ns["nb_aws"] is db and db.backend == "aurora"
    assert db.sql("SELECT current_user AS u")["u"][0] == "alien"
    out = capsys.readouterr()
    assert "attaching" in out.out
    assert_hidden(password, out.out, out.err, repr(db), db._repr_html_(), json.dumps(db.binding), db.url)


def test_attach_cloud_binding_rereads_a_rotated_password(
    ip: Any,  # noqa: F811
    azure_server: FakeAzure,
    tls_postgres: TlsPostgres,
    default_settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tls_postgres.serve(AZURE_HOST)
    first, second = "First-rotating-Pw1", "Second-rotating-Pw2"
    tls_postgres.set_alien_password(first)
    azure_server.set_secret("nb-rot", first)
    binding = {"service": "flexible-server", "host": AZURE_HOST, "port": 5432, "database": "alien",
               "username": "alien", "passwordSecretUri": "https://alien-vault.vault.azure.net/secrets/nb-rot"}  # fmt: skip
    monkeypatch.setenv("ALIEN_AZ_BINDING", json.dumps(binding))
    default_settings(key_vault_endpoint=azure_server.url, azure_credential=StubCredential(),
                     azure_ca_bundle=str(azure_server.ca_path), dial={AZURE_HOST: tls_postgres.dial},
                     ca_roots={"flexible-server": tls_postgres.ca.cert_pem})  # fmt: skip
    db = ip.run_line_magic("alien_postgres", "attach az")
    assert db.sql("SELECT 1 AS one")["one"][0] == 1
    # Rotate: the server and the vault change; the next new connection reads the vault again.
    tls_postgres.set_alien_password(second)
    azure_server.set_secret("nb-rot", second)
    with db.connect() as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("alien",)
    # A wrong password in the vault: a clear error, and neither password in anything shown.
    azure_server.set_secret("nb-rot", "Wrong-password-Pw3")
    ip.run_cell("az.connect()")
    out = capsys.readouterr()
    assert "password authentication failed" in out.out + out.err
    for secret in (first, second, "Wrong-password-Pw3"):
        assert_hidden(secret, out.out, out.err, repr(db), db._repr_html_(), repr(db.worker_env()))


def test_worker_gets_a_password_free_cloud_binding(ip: Any, azure_server: FakeAzure, tmp_path: Path) -> None:  # noqa: F811
    binding = {"service": "flexible-server", "host": AZURE_HOST, "port": 5432, "database": "alien",
               "username": "alien", "passwordSecretUri": "https://alien-vault.vault.azure.net/secrets/nb-w"}  # fmt: skip
    from alien_nb.core import WorkerEnv, parse_binding

    env = WorkerEnv.for_binding("w", parse_binding(binding))
    assert json.loads(env["ALIEN_W_BINDING"]) == binding  # locators only: the worker reads the vault itself


def test_created_but_unreachable_still_binds_a_handle(
    ip: Any,  # noqa: F811
    azure_server: FakeAzure,
    default_settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on: the private endpoint, unreachable
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    host = "nb-unreach.postgres.database.azure.com"
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", azure_server.subscription)
    monkeypatch.setenv("ALIEN_NB_AZURE_RESOURCE_GROUP", "rg-nb")
    monkeypatch.setenv("ALIEN_NB_KEY_VAULT_URL", "https://alien-vault.vault.azure.net")
    default_settings(key_vault_endpoint=azure_server.url, azure_arm_endpoint=azure_server.url,
                     azure_credential=StubCredential(), azure_ca_bundle=str(azure_server.ca_path),
                     dial={host: f"127.0.0.1:{closed}"})  # fmt: skip
    state = ip.find_line_magic("alien_postgres").__self__.state
    from alien_nb.controllers import FlexibleServerController

    FlexibleServerController.poll_interval = 0.01
    try:
        db = ip.run_line_magic(
            "alien_postgres", "start nb-unreach --backend flexible-server --region westeurope"
        )
    finally:
        FlexibleServerController.poll_interval = 10.0
    assert ip.user_ns["nb_unreach"] is db and db.backend == "flexible-server"
    out = capsys.readouterr().out
    assert "not reachable from this machine yet" in out and "dial" in out
    password = azure_server.secret_value("alien-nb-nb-unreach-password")
    assert password and password not in out
    assert state.redactor.contains_secret(password)  # the generated password is masked in any output
