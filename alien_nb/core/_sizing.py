"""Cloud sizing: from a resource's cpu and memory to a provider tier.

The tables are alien_nb's own, written from each provider's public machine
catalogue (sources next to each table). ``hourly_usd`` is an approximate
on-demand list price in a US region, used only to order tiers by cost and to
show a cost class; it is not a quote.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._backends import AURORA, CLOUD_BACKENDS, CLOUD_SQL, FLEXIBLE_SERVER
from ._errors import NoTierFits
from ._quantity import GiB, format_size

MiB = 1024**2


@dataclass(frozen=True)
class Tier:
    """One machine shape a managed Postgres can run on."""

    backend: str
    name: str
    vcpus: float
    memory_bytes: int
    family: str
    hourly_usd: float
    #: Aurora Serverless v2 only: the capacity range in ACUs.
    min_acu: float | None = None
    max_acu: float | None = None
    #: False where the provider offers no high availability on this tier.
    supports_ha: bool = True

    @property
    def cost_class(self) -> str:
        """``$``: under $0.10/h, ``$$``: under $1/h, ``$$$``: more."""
        return "$" if self.hourly_usd < 0.1 else "$$" if self.hourly_usd < 1 else "$$$"

    def describe(self) -> str:
        if self.max_acu is not None:
            return (
                f"{self.name} ({self.min_acu:g}-{self.max_acu:g} ACU, up to {format_size(self.memory_bytes)})"
            )
        return f"{self.name} ({self.vcpus:g} vCPU, {format_size(self.memory_bytes)}, {self.family})"


def _custom(vcpus: int, mib: int, family: str) -> Tier:
    # Cloud SQL Enterprise: $0.0413 per vCPU-hour, $0.0070 per GiB-hour.
    hourly = vcpus * 0.0413 + mib / 1024 * 0.0070
    return Tier(CLOUD_SQL, f"db-custom-{vcpus}-{mib}", vcpus, mib * MiB, family, round(hourly, 4))


# Cloud SQL for PostgreSQL, Enterprise edition machine types
# (https://cloud.google.com/sql/docs/postgres/instance-settings#machine-type-2ndgen,
#  https://cloud.google.com/sql/pricing). Shared-core tiers carry no SLA but are
# the smallest; custom types are the standard (3.75 GiB/vCPU) and high-memory
# (6.5 GiB/vCPU) points of the custom range (memory a multiple of 256 MiB).
CLOUD_SQL_TIERS: tuple[Tier, ...] = (
    Tier(CLOUD_SQL, "db-f1-micro", 0.2, 614 * MiB, "shared-core", 0.0105),
    Tier(CLOUD_SQL, "db-g1-small", 0.5, 1741 * MiB, "shared-core", 0.0350),
    *(_custom(v, v * 3840, "standard") for v in (1, 2, 4, 8, 16, 32, 64, 96)),
    *(_custom(v, v * 6656, "highmem") for v in (2, 4, 8, 16, 32, 64, 96)),
)


def _azure(name: str, vcpus: int, gib: int, family: str, hourly: float) -> Tier:
    # Zone-redundant HA is not offered on the Burstable tier.
    return Tier(FLEXIBLE_SERVER, name, vcpus, gib * GiB, family, hourly, supports_ha=family != "Burstable")


# Azure Database for PostgreSQL Flexible Server compute
# (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-compute,
#  https://azure.microsoft.com/pricing/details/postgresql/flexible-server/):
# Burstable B-series, General Purpose Ddsv5, Memory Optimized Edsv5.
FLEXIBLE_SERVER_TIERS: tuple[Tier, ...] = (
    _azure("Standard_B1ms", 1, 2, "Burstable", 0.0170),
    _azure("Standard_B2s", 2, 4, "Burstable", 0.0680),
    _azure("Standard_B2ms", 2, 8, "Burstable", 0.1360),
    _azure("Standard_B4ms", 4, 16, "Burstable", 0.2720),
    _azure("Standard_B8ms", 8, 32, "Burstable", 0.5440),
    _azure("Standard_B12ms", 12, 48, "Burstable", 0.8160),
    _azure("Standard_B16ms", 16, 64, "Burstable", 1.0880),
    _azure("Standard_B20ms", 20, 80, "Burstable", 1.3600),
    _azure("Standard_D2ds_v5", 2, 8, "GeneralPurpose", 0.1780),
    _azure("Standard_D4ds_v5", 4, 16, "GeneralPurpose", 0.3560),
    _azure("Standard_D8ds_v5", 8, 32, "GeneralPurpose", 0.7120),
    _azure("Standard_D16ds_v5", 16, 64, "GeneralPurpose", 1.4240),
    _azure("Standard_D32ds_v5", 32, 128, "GeneralPurpose", 2.8480),
    _azure("Standard_D48ds_v5", 48, 192, "GeneralPurpose", 4.2720),
    _azure("Standard_D64ds_v5", 64, 256, "GeneralPurpose", 5.6960),
    _azure("Standard_D96ds_v5", 96, 384, "GeneralPurpose", 8.5440),
    _azure("Standard_E2ds_v5", 2, 16, "MemoryOptimized", 0.2380),
    _azure("Standard_E4ds_v5", 4, 32, "MemoryOptimized", 0.4760),
    _azure("Standard_E8ds_v5", 8, 64, "MemoryOptimized", 0.9520),
    _azure("Standard_E16ds_v5", 16, 128, "MemoryOptimized", 1.9040),
    _azure("Standard_E20ds_v5", 20, 160, "MemoryOptimized", 2.3800),
    _azure("Standard_E32ds_v5", 32, 256, "MemoryOptimized", 3.8080),
    _azure("Standard_E48ds_v5", 48, 384, "MemoryOptimized", 5.7120),
    _azure("Standard_E64ds_v5", 64, 512, "MemoryOptimized", 7.6160),
    _azure("Standard_E96ds_v5", 96, 672, "MemoryOptimized", 11.4240),
)

# Aurora Serverless v2 (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/
# aurora-serverless-v2.how-it-works.html): 1 ACU ≈ 2 GiB with matching CPU,
# capacity 0-256 ACU in 0.5 steps, and the maximum must be above 0.5.
AURORA_GIB_PER_ACU = 2
AURORA_MIN_ACU = 0.0
AURORA_SMALLEST_MAX_ACU = 1.0
AURORA_LARGEST_MAX_ACU = 256.0
# $0.12 per ACU-hour (aurora-postgresql, standard storage config, us-east-1).
_AURORA_USD_PER_ACU_HOUR = 0.12

_TABLES = {CLOUD_SQL: CLOUD_SQL_TIERS, FLEXIBLE_SERVER: FLEXIBLE_SERVER_TIERS}


def aurora_max_acu(memory_bytes: int | None) -> float:
    """The Aurora Serverless v2 maximum capacity that gives at least ``memory_bytes``.

    Rounded up to the next 0.5 ACU, at least 1 ACU. Raise `NoTierFits` past 256 ACU.
    """
    if memory_bytes is None:
        return AURORA_SMALLEST_MAX_ACU
    acu = math.ceil(memory_bytes / (AURORA_GIB_PER_ACU * GiB) * 2) / 2
    if acu > AURORA_LARGEST_MAX_ACU:
        raise NoTierFits(
            AURORA,
            format_size(memory_bytes),
            f"{AURORA_LARGEST_MAX_ACU:g} ACU ({format_size(int(AURORA_LARGEST_MAX_ACU * 2 * GiB))})",
        )
    return max(acu, AURORA_SMALLEST_MAX_ACU)


def pick_tier(
    backend: str,
    cpu: float | None = None,
    memory: int | None = None,
    *,
    high_availability: bool = False,
) -> Tier:
    """The cheapest tier of ``backend`` with at least ``cpu`` cores and ``memory`` bytes.

    ``backend`` is ``"cloud-sql"``, ``"flexible-server"`` or ``"aurora"``
    (Aurora Serverless v2: ``cpu`` is ignored, the maximum ACU follows memory).
    Unset values mean "the smallest". With ``high_availability`` only tiers
    that offer it qualify.

    Raise `NoTierFits` naming the largest tier if none is large enough, and
    `ValueError` for an unknown backend.
    """
    if backend == AURORA:
        max_acu = aurora_max_acu(memory)
        memory_bytes = int(max_acu * AURORA_GIB_PER_ACU * GiB)
        return Tier(
            AURORA, "db.serverless", max_acu, memory_bytes, "Aurora Serverless v2",
            round(max_acu * _AURORA_USD_PER_ACU_HOUR, 4), min_acu=AURORA_MIN_ACU, max_acu=max_acu,
        )  # fmt: skip
    table = _TABLES.get(backend)
    if table is None:
        raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(CLOUD_BACKENDS)}")
    fits = [
        tier
        for tier in table
        if (cpu is None or tier.vcpus >= cpu)
        and (memory is None or tier.memory_bytes >= memory)
        and (tier.supports_ha or not high_availability)
    ]
    if not fits:
        wanted = " and ".join(
            part
            for part in (
                f"{cpu:g} vCPU" if cpu is not None else "",
                format_size(memory) if memory is not None else "",
            )
            if part
        )
        largest = max(table, key=lambda t: (t.vcpus, t.memory_bytes))
        raise NoTierFits(backend, wanted, largest.describe())
    return min(fits, key=lambda t: (t.hourly_usd, t.vcpus, t.memory_bytes))
