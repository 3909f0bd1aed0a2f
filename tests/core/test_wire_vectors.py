"""Every case of ../shared/vectors/postgres-wire.json, read from the file."""

from __future__ import annotations

import json
from typing import Any

import pytest

from alien_nb.core import (
    BindingConfigInvalid,
    binding_env_var,
    connection_string,
    encode_userinfo,
    parse_binding,
    parse_key_vault_uri,
)
from tests.conftest import shared_path


def _vectors() -> dict[str, Any]:
    with shared_path("vectors", "postgres-wire.json").open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


VECTORS = _vectors()


def _cases(section: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("case", VECTORS[section], ids=[c["id"] for c in VECTORS[section]])


@_cases("encodeUserinfo")
def test_encode_userinfo(case: dict[str, Any]) -> None:
    assert encode_userinfo(case["value"]) == case["encoded"]


@_cases("connectionString")
def test_connection_string(case: dict[str, Any]) -> None:
    binding = parse_binding(case["binding"], name=case["bindingName"])
    assert binding.sslmode == case["sslmode"]
    assert connection_string(binding).get_secret_value() == case["connectionString"]


@_cases("connectionString")
def test_binding_json_round_trips(case: dict[str, Any]) -> None:
    binding = parse_binding(case["binding"])
    wire = json.loads(binding.runtime_json().get_secret_value())
    assert wire == case["binding"]
    assert list(wire) == list(case["binding"])
    assert parse_binding(binding.runtime_json().get_secret_value()) == binding


@_cases("invalidBinding")
def test_invalid_binding(case: dict[str, Any]) -> None:
    assert case["error"] == "config-invalid"
    with pytest.raises(BindingConfigInvalid) as info:
        parse_binding(case["binding"], name=case["bindingName"])
    assert case["bindingName"] in str(info.value)
    assert case["binding"]["password"] not in str(info.value)


@_cases("envVarName")
def test_env_var_name(case: dict[str, Any]) -> None:
    assert binding_env_var(case["bindingName"]) == case["envVar"]


@_cases("azureSecretUri")
def test_azure_secret_uri(case: dict[str, Any]) -> None:
    if case["valid"]:
        ref = parse_key_vault_uri(case["uri"])
        assert ref.uri == case["uri"]
    else:
        with pytest.raises(ValueError):
            parse_key_vault_uri(case["uri"])
        binding = {
            "service": "flexible-server",
            "host": "pg.example.com",
            "port": 5432,
            "database": "app",
            "username": "alien",
            "passwordSecretUri": case["uri"],
        }
        with pytest.raises(BindingConfigInvalid, match="passwordSecretUri"):
            parse_binding(binding)


@_cases("resolvedConnection")
def test_resolved_connection_string(case: dict[str, Any]) -> None:
    """The URL a resolver builds once it holds the secret (the resolver itself is tested apart)."""
    binding = parse_binding(case["binding"])
    assert binding.sslmode == case["sslmode"]
    secret = case["secretValue"]
    url = connection_string(binding) if secret is None else connection_string(binding, password=secret)
    assert url.get_secret_value() == case["connectionString"]
    defaults = {"sslMode": "verify-full"} if case["binding"]["service"] == "external" else {}
    assert json.loads(binding.runtime_json().get_secret_value()) == {**defaults, **case["binding"]}
