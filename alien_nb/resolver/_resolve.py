"""Binding → `ConnectionDetails`, reading cloud passwords at the moment of connecting."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

from ..core import (
    AuroraBinding,
    CloudSqlBinding,
    FlexibleServerBinding,
    PostgresBinding,
    binding_from_env,
    parse_binding,
)
from ..core._backends import AURORA, EXTERNAL, FLEXIBLE_SERVER
from ..core._cloud import CloudSettings
from ..core._redact import remember_secret
from ._connection import ConnectionDetails, connection_for
from ._roots import provider_roots_pem
from ._secrets import AwsSecrets, AzureSecrets, GcpSecrets


class Resolver:
    """Resolves bindings with one set of `CloudSettings`.

    SDK clients are made on first use and kept; passwords are read from the
    secret store on every `resolve`, so a rotated secret is picked up.
    """

    def __init__(self, settings: CloudSettings | None = None) -> None:
        self.settings = settings or CloudSettings()
        self._aws: AwsSecrets | None = None
        self._gcp: GcpSecrets | None = None
        self._azure: AzureSecrets | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Resolver({self.settings!r})"

    def resolve(
        self, binding: PostgresBinding | str | Mapping[str, Any], *, name: str | None = None
    ) -> ConnectionDetails:
        """Resolve ``binding`` (object, JSON text or mapping) to connection details."""
        binding = parse_binding(binding, name=name)
        password, roots = self._password_and_roots(binding)
        remember_secret(password)
        return connection_for(
            binding, password, ca_roots=roots, dial=self.settings.dial_target(binding.dial_host)
        )

    def connection(self, name: str, *, environ: Mapping[str, str] | None = None) -> ConnectionDetails:
        """Resolve the binding in ``ALIEN_<NAME>_BINDING``."""
        return self.resolve(binding_from_env(name, os.environ if environ is None else environ), name=name)

    def _password_and_roots(self, binding: PostgresBinding) -> tuple[SecretStr, tuple[str, ...]]:
        inline = binding.inline_password
        if inline is not None:
            override = self.settings.ca_roots.get(EXTERNAL) if binding.sslmode != "disable" else None
            return inline, (override,) if override else ()
        if isinstance(binding, AuroraBinding):
            return self._aws_reader().read(binding), self._provider_roots(AURORA)
        if isinstance(binding, CloudSqlBinding):
            return self._gcp_reader().read(binding), tuple(binding.server_ca_certificates)
        if isinstance(binding, FlexibleServerBinding):
            return self._azure_reader().read(binding), self._provider_roots(FLEXIBLE_SERVER)
        raise TypeError(f"unknown binding service {binding.service!r}")

    def _provider_roots(self, service: str) -> tuple[str, ...]:
        pem = self.settings.ca_roots.get(service) or provider_roots_pem(service)
        return (pem,) if pem else ()

    def _aws_reader(self) -> AwsSecrets:
        with self._lock:
            if self._aws is None:
                self._aws = AwsSecrets(self.settings)
            return self._aws

    def _gcp_reader(self) -> GcpSecrets:
        with self._lock:
            if self._gcp is None:
                self._gcp = GcpSecrets(self.settings)
            return self._gcp

    def _azure_reader(self) -> AzureSecrets:
        with self._lock:
            if self._azure is None:
                self._azure = AzureSecrets(self.settings)
            return self._azure


_resolvers: dict[tuple[Any, ...], Resolver] = {}
_resolvers_lock = threading.Lock()


def _settings_key(settings: CloudSettings) -> tuple[Any, ...]:
    return (
        settings.timeout, settings.retries, settings.aws_endpoint_url, settings.gcp_secret_manager_endpoint,
        settings.gcp_sql_admin_endpoint, settings.gcp_project, settings.key_vault_endpoint,
        settings.azure_arm_endpoint, settings.azure_ca_bundle, tuple(sorted(settings.dial.items())),
        tuple(sorted(settings.ca_roots.items())), id(settings.gcp_credentials), id(settings.azure_credential),
    )  # fmt: skip


def resolver_for(settings: CloudSettings) -> Resolver:
    """The process-wide `Resolver` for these settings (clients are shared between calls)."""
    key = _settings_key(settings)
    with _resolvers_lock:
        resolver = _resolvers.get(key)
        if resolver is None:
            resolver = _resolvers[key] = Resolver(settings)
        return resolver


_default_settings: CloudSettings | None = None


def set_default_settings(settings: CloudSettings | None) -> None:
    """Use ``settings`` wherever none are passed (None: back to ``ALIEN_NB_*`` variables).

    >>> alien_nb.resolver.set_default_settings(CloudSettings(dial={"db.internal": "127.0.0.1:15432"}))
    """
    global _default_settings
    _default_settings = settings


def default_settings(environ: Mapping[str, str] | None = None) -> CloudSettings:
    """The settings `set_default_settings` chose, else `CloudSettings.from_env`."""
    if _default_settings is not None:
        return _default_settings
    return CloudSettings.from_env(os.environ if environ is None else environ)


def get_postgres_connection(
    name: str,
    *,
    environ: Mapping[str, str] | None = None,
    settings: CloudSettings | None = None,
) -> ConnectionDetails:
    """Resolve binding ``name`` from ``ALIEN_<NAME>_BINDING`` into connection details.

    Cloud passwords are read from their secret store now (Secrets Manager,
    Secret Manager, Key Vault); inline ones come from the binding. Settings
    default to the ones given to `set_default_settings`, else `CloudSettings.from_env`.

    >>> conn = get_postgres_connection("vec-db")
    >>> with conn.connect() as pg: ...

    Raise `BindingNotConfigured` / `BindingConfigInvalid` before any network
    call, `SecretResolutionFailed` when the secret cannot be read and
    `SecretValueInvalid` when it holds no usable password.
    """
    env = os.environ if environ is None else environ
    binding = binding_from_env(name, env)
    return resolver_for(settings or default_settings(env)).resolve(binding, name=name)
