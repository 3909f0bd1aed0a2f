"""The Alien Postgres resource contract as pure code: models, bindings,
connection strings, sizing, and redaction. No I/O happens here."""

from ._azure_uri import KeyVaultSecretRef, parse_key_vault_uri
from ._bindings import (
    SERVICES,
    AuroraBinding,
    CloudSqlBinding,
    ExternalBinding,
    FlexibleServerBinding,
    LocalPostgresBinding,
    PostgresBinding,
    parse_binding,
    synced_params,
)
from ._connection import connection_string, redacted_connection_string
from ._conninfo import build_connection_string, encode_userinfo, is_ipv6_literal, url_host
from ._environ import WorkerEnv, binding_env_var, binding_from_env
from ._errors import (
    AlienError,
    BindingConfigInvalid,
    BindingError,
    BindingNotConfigured,
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
from ._redact import MASK, Redactor, secret_forms
from ._resource import Postgres, PostgresBackend, validate_update
from ._sizing import (
    CLOUD_SQL_TIERS,
    FLEXIBLE_SERVER_TIERS,
    Tier,
    aurora_max_acu,
    pick_tier,
)

__all__ = [
    "CLOUD_SQL_TIERS",
    "FLEXIBLE_SERVER_TIERS",
    "MASK",
    "SERVICES",
    "AlienError",
    "AuroraBinding",
    "BindingConfigInvalid",
    "BindingError",
    "BindingNotConfigured",
    "CloudSqlBinding",
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
    "parse_binding",
    "parse_cpu",
    "parse_key_vault_uri",
    "parse_size",
    "pick_tier",
    "redacted_connection_string",
    "secret_forms",
    "synced_params",
    "url_host",
    "validate_update",
]
