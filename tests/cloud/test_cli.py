"""`alien-nb` on cloud backends: --plan, and create / status / delete against moto."""

from __future__ import annotations

import json

import pytest

from alien_nb.cli import main
from alien_nb.testing import MotoServer


def test_plan_as_json_without_any_cloud(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIEN_NB_AZURE_RESOURCE_GROUP", "rg")
    assert (
        main(["start", "big-db", "--backend", "flexible-server", "--memory", "64Gi", "--plan", "--json"]) == 0
    )
    plan = json.loads(capsys.readouterr().out)
    assert plan["tier"] == "Standard_E8ds_v5" and plan["costClass"] == "$$" and plan["region"] == "eastus"
    assert main(["start", "big-db", "--plan"]) == 1
    assert "cloud backends only" in capsys.readouterr().err


def test_create_status_delete_on_aurora(moto: MotoServer, capsys: pytest.CaptureFixture[str]) -> None:
    # moto's fixture points boto3's default chain (AWS_ENDPOINT_URL) at the emulator.
    assert main(["start", "cli-aws", "--backend", "aurora", "--region", "us-east-1", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["binding"]["service"] == "aurora" and "password" not in created["binding"]
    assert created["status"]["lifecycle"] == "running"
    assert main(["status", "cli-aws", "--backend", "aurora", "--region", "us-east-1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["health"] == "healthy"
    assert main(["delete", "cli-aws", "--backend", "aurora", "--region", "us-east-1", "--yes"]) == 0
    assert "deleted" in capsys.readouterr().out
    assert main(["status", "cli-aws", "--backend", "aurora", "--region", "us-east-1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lifecycle"] == "deleted"
