from __future__ import annotations

import pytest

from alien_nb.core import (
    CLOUD_SQL_TIERS,
    FLEXIBLE_SERVER_TIERS,
    NoTierFits,
    Postgres,
    aurora_max_acu,
    pick_tier,
)

GiB = 1024**3


def test_unset_means_smallest() -> None:
    assert pick_tier("cloud-sql").name == "db-f1-micro"
    assert pick_tier("flexible-server").name == "Standard_B1ms"
    assert pick_tier("aurora").max_acu == 1.0


@pytest.mark.parametrize(
    "cpu, memory, name",
    [
        (1, None, "db-custom-1-3840"),
        (2, 8 * GiB, "db-custom-2-13312"),
        (2, 7 * GiB, "db-custom-2-7680"),
        (None, 15 * GiB, "db-custom-4-15360"),
        (0.5, None, "db-g1-small"),
        (96, 600 * GiB, "db-custom-96-638976"),
    ],
)
def test_cloud_sql(cpu: float | None, memory: int | None, name: str) -> None:
    assert pick_tier("cloud-sql", cpu, memory).name == name


@pytest.mark.parametrize(
    "cpu, memory, ha, name",
    [
        (2, 8 * GiB, False, "Standard_B2ms"),
        (2, 8 * GiB, True, "Standard_D2ds_v5"),
        (2, 16 * GiB, True, "Standard_E2ds_v5"),
        (None, None, True, "Standard_D2ds_v5"),
        (64, 512 * GiB, False, "Standard_E64ds_v5"),
    ],
)
def test_flexible_server(cpu: float | None, memory: int | None, ha: bool, name: str) -> None:
    assert pick_tier("flexible-server", cpu, memory, high_availability=ha).name == name


def test_pick_is_the_cheapest_that_fits() -> None:
    for table in (CLOUD_SQL_TIERS, FLEXIBLE_SERVER_TIERS):
        for wanted in table:
            got = pick_tier(wanted.backend, wanted.vcpus, wanted.memory_bytes)
            assert got.vcpus >= wanted.vcpus and got.memory_bytes >= wanted.memory_bytes
            assert got.hourly_usd <= wanted.hourly_usd


@pytest.mark.parametrize(
    "backend, cpu, memory, largest",
    [
        ("cloud-sql", 128, None, "db-custom-96-638976"),
        ("cloud-sql", None, 1024 * GiB, "db-custom-96-638976"),
        ("flexible-server", 2, 4096 * GiB, "Standard_E96ds_v5"),
        ("aurora", None, 513 * GiB, "256 ACU"),
    ],
)
def test_nothing_fits_names_the_largest(
    backend: str, cpu: float | None, memory: int | None, largest: str
) -> None:
    with pytest.raises(NoTierFits, match=largest) as info:
        pick_tier(backend, cpu, memory)
    assert info.value.backend == backend


@pytest.mark.parametrize(
    "memory, acu",
    [
        (None, 1.0),
        (1 * GiB, 1.0),
        (2 * GiB, 1.0),
        (3 * GiB, 1.5),
        (8 * GiB, 4.0),
        (9 * GiB, 4.5),
        (512 * GiB, 256.0),
    ],
)
def test_aurora_acu_ceiling(memory: int | None, acu: float) -> None:
    assert aurora_max_acu(memory) == acu
    tier = pick_tier("aurora", 64, memory)  # cpu is ignored
    assert tier.name == "db.serverless" and tier.min_acu == 0 and tier.max_acu == acu


def test_from_a_resource() -> None:
    pg = Postgres(id="a", cpu="2", memory="8Gi")
    assert pick_tier("cloud-sql", pg.cpu_cores, pg.memory_bytes).describe() == (
        "db-custom-2-13312 (2 vCPU, 13 GiB, highmem)"
    )


def test_unknown_backend() -> None:
    with pytest.raises(ValueError, match="unknown backend"):
        pick_tier("oracle")
