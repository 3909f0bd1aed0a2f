"""What the Cloud SQL Admin API refuses in a request, with its error messages: the emulator's
rules, apart from its routes and state so that they read as one list."""

from __future__ import annotations

import re
from typing import Any

from ._http import ApiError

_DB_VERSION = re.compile(r"POSTGRES_(\d+)")
_TIER = re.compile(r"db-[a-z0-9-]+", re.IGNORECASE)
_IDENTIFIER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@$-]{0,62}")


def check_version(value: object) -> str:
    if not isinstance(value, str) or not _DB_VERSION.fullmatch(value):
        raise ApiError(400, f"Invalid request: databaseVersion {value!r} is not POSTGRES_<major>.")
    return value


def major(version: str) -> int:
    return int(version.split("_")[1])


def check_settings(settings: dict[str, Any]) -> None:
    tier = str(settings.get("tier", ""))
    if not _TIER.fullmatch(tier):
        raise ApiError(400, f"Invalid request: invalid tier {tier!r}.")
    edition = settings.get("edition")
    perf = tier.lower().startswith("db-perf-optimized-")
    if (edition == "ENTERPRISE_PLUS" and not perf) or (edition == "ENTERPRISE" and perf):
        raise ApiError(400, f"Invalid Tier ({tier}) for ({edition}) Edition.")
    availability = settings.get("availabilityType", "ZONAL")
    if availability not in ("ZONAL", "REGIONAL"):
        raise ApiError(400, f"Invalid request: availabilityType {availability!r} is not ZONAL or REGIONAL.")
    size = settings.get("dataDiskSizeGb", 10)
    if not str(size).isdigit() or int(size) < 10:
        raise ApiError(400, f"Invalid request: dataDiskSizeGb {size!r} must be an integer >= 10.")
    ip = settings.get("ipConfiguration") or {}
    if ip.get("ipv4Enabled") is False and not ip.get("privateNetwork"):
        raise ApiError(400, "Invalid request: at least one of public IP or private IP must be enabled.")


def identifier(value: object, what: str) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise ApiError(400, f"Invalid request: {what} name {value!r} is not valid.")
    return value
