"""The Alien Postgres resource contract as pure code: models, bindings,
connection strings, sizing, and redaction. No I/O happens here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from ._azure_uri import KeyVaultSecretRef, parse_key_vault_uri
    from ._backends import SERVICES
    from ._bindings import (
        AuroraBinding,
        CloudSqlBinding,
        ExternalBinding,
        FlexibleServerBinding,
        LocalPostgresBinding,
        PostgresBinding,
        parse_binding,
        synced_params,
    )
    from ._cloud import CloudSettings, CloudSettingsInvalid
    from ._connection import connection_string, redacted_connection_string
    from ._conninfo import build_connection_string, encode_userinfo, is_ipv6_literal, url_host
    from ._environ import WorkerEnv, binding_env_var, binding_from_env
    from ._errors import (
        AlienError,
        BindingConfigInvalid,
        BindingError,
        BindingNotConfigured,
        CloudCallFailed,
        ConnectionFailed,
        InvalidResource,
        InvalidResourceUpdate,
        MissingExtra,
        NoTierFits,
        ResourceError,
        SecretError,
        SecretResolutionFailed,
        SecretValueInvalid,
    )
    from ._quantity import format_size, parse_cpu, parse_size
    from ._redact import MASK, PARTIAL_RUN, Redactor, known_redactor, remember_secret, secret_forms
    from ._resource import Postgres, PostgresBackend, validate_update
    from ._sizing import (
        CLOUD_SQL_TIERS,
        FLEXIBLE_SERVER_TIERS,
        Tier,
        aurora_max_acu,
        pick_tier,
    )
    from ._sql import SqlTextInvalid

# Each name loads its module on first use, so a layer that needs only the
# redactor or the errors does not pay for the pydantic models.
_MODULES: dict[str, str] = {
    "AlienError": "._errors",
    "AuroraBinding": "._bindings",
    "BindingConfigInvalid": "._errors",
    "BindingError": "._errors",
    "BindingNotConfigured": "._errors",
    "ConnectionFailed": "._errors",
    "CLOUD_SQL_TIERS": "._sizing",
    "CloudCallFailed": "._errors",
    "CloudSettings": "._cloud",
    "CloudSettingsInvalid": "._cloud",
    "CloudSqlBinding": "._bindings",
    "ExternalBinding": "._bindings",
    "FLEXIBLE_SERVER_TIERS": "._sizing",
    "FlexibleServerBinding": "._bindings",
    "InvalidResource": "._errors",
    "InvalidResourceUpdate": "._errors",
    "KeyVaultSecretRef": "._azure_uri",
    "LocalPostgresBinding": "._bindings",
    "MASK": "._redact",
    "MissingExtra": "._errors",
    "NoTierFits": "._errors",
    "PARTIAL_RUN": "._redact",
    "Postgres": "._resource",
    "PostgresBackend": "._resource",
    "PostgresBinding": "._bindings",
    "Redactor": "._redact",
    "ResourceError": "._errors",
    "SERVICES": "._backends",
    "SecretError": "._errors",
    "SecretResolutionFailed": "._errors",
    "SecretValueInvalid": "._errors",
    "SqlTextInvalid": "._sql",
    "Tier": "._sizing",
    "WorkerEnv": "._environ",
    "aurora_max_acu": "._sizing",
    "binding_env_var": "._environ",
    "binding_from_env": "._environ",
    "build_connection_string": "._conninfo",
    "connection_string": "._connection",
    "encode_userinfo": "._conninfo",
    "format_size": "._quantity",
    "is_ipv6_literal": "._conninfo",
    "known_redactor": "._redact",
    "parse_binding": "._bindings",
    "parse_cpu": "._quantity",
    "parse_key_vault_uri": "._azure_uri",
    "parse_size": "._quantity",
    "pick_tier": "._sizing",
    "redacted_connection_string": "._connection",
    "remember_secret": "._redact",
    "secret_forms": "._redact",
    "synced_params": "._bindings",
    "url_host": "._conninfo",
    "validate_update": "._resource",
}

__all__ = [
    "CLOUD_SQL_TIERS",
    "FLEXIBLE_SERVER_TIERS",
    "MASK",
    "PARTIAL_RUN",
    "SERVICES",
    "AlienError",
    "AuroraBinding",
    "BindingConfigInvalid",
    "BindingError",
    "BindingNotConfigured",
    "CloudCallFailed",
    "CloudSettings",
    "CloudSettingsInvalid",
    "CloudSqlBinding",
    "ConnectionFailed",
    "ExternalBinding",
    "FlexibleServerBinding",
    "InvalidResource",
    "InvalidResourceUpdate",
    "KeyVaultSecretRef",
    "LocalPostgresBinding",
    "MissingExtra",
    "NoTierFits",
    "Postgres",
    "PostgresBackend",
    "PostgresBinding",
    "Redactor",
    "ResourceError",
    "SecretError",
    "SecretResolutionFailed",
    "SecretValueInvalid",
    "SqlTextInvalid",
    "Tier",
    "WorkerEnv",
    "aurora_max_acu",
    "binding_env_var",
    "binding_from_env",
    "build_connection_string",
    "connection_string",
    "encode_userinfo",
    "format_size",
    "is_ipv6_literal",
    "known_redactor",
    "parse_binding",
    "parse_cpu",
    "parse_key_vault_uri",
    "parse_size",
    "pick_tier",
    "redacted_connection_string",
    "remember_secret",
    "secret_forms",
    "synced_params",
    "url_host",
    "validate_update",
]


__getattr__, __dir__ = _lazy_exports(__name__, _MODULES)
