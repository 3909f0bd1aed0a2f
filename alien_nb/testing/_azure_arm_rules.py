"""What ARM refuses in a flexible-server request, with its error codes: the emulator's rules,
apart from its routes and state so that they read as one list."""

from __future__ import annotations

from typing import Any

from ._http import ApiError

_SKU_FAMILY = {"Burstable": "Standard_B", "GeneralPurpose": "Standard_D", "MemoryOptimized": "Standard_E"}
_HA_MODES = ("Disabled", "ZoneRedundant", "SameZone")
# Premium SSD sizes; PremiumV2_LRS storage takes any size.
_STORAGE_SIZES = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767)
_RESERVED_LOGINS = {"azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public"}


def check_login(login: object) -> None:
    if not isinstance(login, str) or not login:
        raise ApiError(400, "properties.administratorLogin is required.", "InvalidParameterValue")
    if login.lower() in _RESERVED_LOGINS or login.lower().startswith("pg_"):
        raise ApiError(400, f"The administrator login '{login}' is reserved.", "InvalidParameterValue")


def check_password(password: object) -> None:
    # Never echo the password in an error.
    if not isinstance(password, str) or not password:
        raise ApiError(400, "properties.administratorLoginPassword is required.", "InvalidParameterValue")
    classes = (
        any(c.isupper() for c in password),
        any(c.islower() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    )
    if not 8 <= len(password) <= 128 or sum(classes) < 3:
        raise ApiError(
            400,
            "The password does not meet policy: 8-128 characters from three of upper case, lower case, "
            "digits and non-alphanumeric characters.",
            "PasswordNotComplex",
        )


def check_server(sku: dict[str, Any], properties: dict[str, Any]) -> None:
    tier, sku_name = sku.get("tier"), sku.get("name")
    if tier not in _SKU_FAMILY:
        raise ApiError(400, f"Unknown sku tier {tier!r}.", "InvalidParameterValue")
    if not isinstance(sku_name, str) or not sku_name.startswith(_SKU_FAMILY[tier]):
        raise ApiError(
            400, f"Sku name {sku_name!r} does not belong to the {tier} tier.", "InvalidParameterValue"
        )
    version = str(properties.get("version", ""))
    if not version.isdigit():
        raise ApiError(400, f"Invalid PostgreSQL version {version!r}.", "InvalidParameterValue")
    storage = properties.get("storage") or {}
    size = storage.get("storageSizeGB")
    if storage.get("type") != "PremiumV2_LRS" and size not in _STORAGE_SIZES:
        raise ApiError(
            400, f"Storage size {size!r} GB is not one of {list(_STORAGE_SIZES)}.", "InvalidStorageSizeValue"
        )
    mode = (properties.get("highAvailability") or {}).get("mode", "Disabled")
    if mode not in _HA_MODES:
        raise ApiError(400, f"Unknown high availability mode {mode!r}.", "InvalidParameterValue")
    if mode != "Disabled" and tier == "Burstable":
        raise ApiError(
            400, "High availability is not supported on the Burstable tier.", "InvalidParameterValue"
        )
