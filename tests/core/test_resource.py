from __future__ import annotations

import json

import pytest

from alien_nb.core import (
    InvalidResource,
    InvalidResourceUpdate,
    Postgres,
    parse_cpu,
    parse_size,
    validate_update,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("20Gi", 20 * 1024**3),
        ("1.5Gi", 1536 * 1024**2),
        ("512Mi", 512 * 1024**2),
        ("1Ki", 1024),
        ("2Ti", 2 * 1024**4),
        ("1k", 1000),
        ("1.5M", 1_500_000),
        ("8G", 8 * 10**9),
        ("1T", 10**12),
        ("123", 123),
        ("0.5", 0),  # truncated to whole bytes
        ("1.9", 1),
        (".5Ki", 512),
        ("1.Gi", 1024**3),
    ],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "Gi", "20GB", "20 Gi", "-1Gi", "1e3", "20gi", "1Pi", " 1", "1,5Gi"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


@pytest.mark.parametrize(
    "text, cores", [("2", 2.0), ("0.5", 0.5), ("500m", 0.5), ("1500m", 1.5), ("16", 16.0)]
)
def test_parse_cpu(text: str, cores: float) -> None:
    assert parse_cpu(text) == cores


@pytest.mark.parametrize("text", ["", "m", "0.5m", "2 cores", "-1", "1e2", "0", "0m"])
def test_parse_cpu_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_cpu(text)


def test_defaults_and_camel_case() -> None:
    pg = Postgres.parse({"id": "vec-db", "highAvailability": True, "type": "postgres"})
    assert pg.version == "17"
    assert pg.storage == "20Gi"
    assert pg.cpu is None and pg.memory is None and pg.backend is None
    assert pg.high_availability is True
    assert json.loads(pg.to_json()) == {
        "type": "postgres",
        "id": "vec-db",
        "version": "17",
        "storage": "20Gi",
        "highAvailability": True,
    }
    assert Postgres.parse(pg.to_json()) == pg


def test_backend_and_sizes() -> None:
    pg = Postgres.parse('{"id":"a","cpu":"500m","memory":"8Gi","backend":{"type":"auroraServerlessV2"}}')
    assert pg.cpu_cores == 0.5
    assert pg.memory_bytes == 8 * 1024**3
    assert pg.storage_bytes == 20 * 1024**3
    assert pg.major_version == 17
    assert pg.backend is not None and pg.backend.type == "auroraServerlessV2"


@pytest.mark.parametrize(
    "data, field",
    [
        ({"id": "a", "sizeGb": 5}, "sizeGb"),
        ({"id": "a", "storage": "20GB"}, "storage"),
        ({"id": "a", "memory": "0Gi"}, "memory"),
        ({"id": "a", "cpu": "lots"}, "cpu"),
        ({"id": "a", "version": "17.2"}, "version"),
        ({"id": "a", "version": 17}, "version"),
        ({"id": "a", "backend": {"type": "rds"}}, "backend"),
        ({"id": "a", "backend": {"type": "auroraServerlessV2", "x": 1}}, "backend"),
        ({"id": "a", "highAvailability": "yes"}, "highAvailability"),
        ({"id": "../etc"}, "id"),
        ({"id": ""}, "id"),
        ({}, "id"),
    ],
)
def test_invalid_resources(data: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidResource, match=field):
        Postgres.parse(data)


def test_invalid_resource_json() -> None:
    with pytest.raises(InvalidResource, match="not valid JSON"):
        Postgres.parse("{id: 1}")


def test_resource_is_immutable() -> None:
    pg = Postgres(id="a")
    with pytest.raises(Exception, match="frozen"):
        pg.storage = "1Gi"


def _pg(**fields: object) -> Postgres:
    return Postgres.parse({"id": "a", **fields})


def test_update_allowed_changes() -> None:
    validate_update(_pg(), _pg(storage="30Gi", version="18", cpu="4", memory="16Gi", highAvailability=True))
    validate_update(_pg(cpu="4", memory="16Gi"), _pg())


@pytest.mark.parametrize(
    "old, new, field, reason",
    [
        (_pg(), Postgres(id="b"), "id", "immutable"),
        (_pg(), _pg(backend={"type": "auroraServerlessV2"}), "backend", "immutable"),
        (_pg(backend={"type": "auroraServerlessV2"}), _pg(), "backend", "immutable"),
        (
            _pg(storage="20Gi"),
            _pg(storage="10Gi"),
            "storage",
            "storage cannot shrink (from '20Gi' to '10Gi')",
        ),
        (_pg(storage="20Gi"), _pg(storage="21G"), "storage", "cannot shrink"),
        (_pg(version="17"), _pg(version="16"), "version", "cannot downgrade"),
        # Order: id is checked before everything else, storage before version.
        (_pg(storage="20Gi"), Postgres(id="b", storage="1Gi"), "id", "immutable"),
        (_pg(storage="20Gi", version="17"), _pg(storage="1Gi", version="15"), "storage", "shrink"),
    ],
)
def test_update_refusals(old: Postgres, new: Postgres, field: str, reason: str) -> None:
    with pytest.raises(InvalidResourceUpdate) as info:
        validate_update(old, new)
    assert info.value.field == field
    assert reason in str(info.value)


def test_unparsable_stored_values_are_errors_not_skips() -> None:
    stored = Postgres.model_construct(id="a", version="17", storage="twenty", backend=None)
    with pytest.raises(InvalidResourceUpdate, match="stored value 'twenty' does not parse"):
        validate_update(stored, _pg())
    stored = Postgres.model_construct(id="a", version="latest", storage="20Gi", backend=None)
    with pytest.raises(InvalidResourceUpdate, match="version"):
        validate_update(stored, _pg())
