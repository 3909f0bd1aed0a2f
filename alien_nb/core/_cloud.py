"""Where the cloud APIs are and how long to wait for them: `CloudSettings`.

Defaults reach the real clouds with each SDK's own credential chain. Every
endpoint can be pointed elsewhere (an emulator on loopback, a private
endpoint), and `dial` sends a connection through a tunnel while TLS still
checks the name in the binding.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from ._backends import AURORA, EXTERNAL, FLEXIBLE_SERVER
from ._errors import AlienError, show_as_public

# The services whose CA roots a setting may replace (Cloud SQL sends its own in the binding).
_CA_ROOT_SERVICES = (AURORA, FLEXIBLE_SERVER, EXTERNAL)

ENV_PREFIX = "ALIEN_NB_"


class CloudSettingsInvalid(AlienError):
    """A cloud setting (argument or ALIEN_NB_* variable) is malformed."""

    def __init__(self, setting: str, reason: str, *, hint: str | None = None) -> None:
        self.setting, self.reason = setting, reason
        super().__init__(f"Invalid cloud setting {setting}: {reason}.", hint=hint)


@dataclass(frozen=True)
class CloudSettings:
    """How alien_nb reaches AWS, GCP and Azure.

    ``timeout`` bounds one secret read or one API call, retries included
    (the GCP client would otherwise retry for about a minute). ``retries``
    is the number of extra attempts for AWS and Azure; for GCP, 0 turns
    retrying off and anything else retries with backoff within ``timeout``. Credentials
    left as None come from each SDK's default chain (boto3's, google.auth's,
    azure-identity's `DefaultAzureCredential`).

    ``dial`` maps a binding's host to ``"address:port"`` to connect to
    instead, e.g. an SSH or SSM tunnel to a private endpoint; TLS still
    verifies the certificate against the binding's host name.
    ``ca_roots`` replaces the shipped provider roots for one service
    (``"aurora"``, ``"flexible-server"``) with PEM text.
    """

    timeout: float = 10.0
    retries: int = 2
    aws_endpoint_url: str | None = None
    gcp_secret_manager_endpoint: str | None = None
    gcp_sql_admin_endpoint: str | None = None
    gcp_project: str | None = None
    gcp_credentials: Any = field(default=None, repr=False, compare=False)
    key_vault_endpoint: str | None = None
    azure_arm_endpoint: str | None = None
    azure_credential: Any = field(default=None, repr=False, compare=False)
    #: A CA bundle (path) trusted for Key Vault and ARM calls, for emulators and TLS proxies.
    azure_ca_bundle: str | None = None
    dial: Mapping[str, str] = field(default_factory=dict)
    ca_roots: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not (0 < self.timeout <= 3600):
            raise CloudSettingsInvalid("timeout", f"{self.timeout!r} is not between 0 and 3600 seconds")
        if not (0 <= self.retries <= 10):
            raise CloudSettingsInvalid("retries", f"{self.retries!r} is not between 0 and 10")
        for name in ("aws_endpoint_url", "gcp_secret_manager_endpoint", "gcp_sql_admin_endpoint",
                     "key_vault_endpoint", "azure_arm_endpoint"):  # fmt: skip
            value = getattr(self, name)
            if value is not None:
                _check_endpoint(name, value)
        for host, target in self.dial.items():
            parse_dial_target(host, target)
        for service in self.ca_roots:
            if service not in _CA_ROOT_SERVICES:
                raise CloudSettingsInvalid(
                    "ca_roots",
                    f"unknown service {service!r}",
                    hint="Use aurora, flexible-server or external.",
                )

    def with_(self, **changes: Any) -> CloudSettings:
        """A copy with some settings changed."""
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> CloudSettings:
        """Settings from ``ALIEN_NB_*`` variables (a worker process gets them this way).

        ``ALIEN_NB_CLOUD_TIMEOUT``, ``ALIEN_NB_CLOUD_RETRIES``,
        ``ALIEN_NB_GCP_SECRET_MANAGER_ENDPOINT``, ``ALIEN_NB_GCP_SQL_ADMIN_ENDPOINT``,
        ``ALIEN_NB_GCP_PROJECT``, ``ALIEN_NB_KEY_VAULT_ENDPOINT``,
        ``ALIEN_NB_AZURE_ARM_ENDPOINT``, ``ALIEN_NB_AZURE_CA_BUNDLE``, and
        ``ALIEN_NB_DIAL`` as ``host=address:port`` pairs separated by commas.
        AWS endpoints follow boto3's own ``AWS_ENDPOINT_URL``.
        """
        values: dict[str, Any] = {}
        for key in ("gcp_secret_manager_endpoint", "gcp_sql_admin_endpoint", "gcp_project",
                    "key_vault_endpoint", "azure_arm_endpoint", "azure_ca_bundle"):  # fmt: skip
            text = environ.get(ENV_PREFIX + key.upper())
            if text:
                values[key] = text
        for key, convert in (("cloud_timeout", float), ("cloud_retries", int)):
            text = environ.get(ENV_PREFIX + key.upper())
            if text:
                try:
                    values[key.removeprefix("cloud_")] = convert(text)
                except ValueError:
                    raise CloudSettingsInvalid(
                        ENV_PREFIX + key.upper(), f"{text!r} is not a number"
                    ) from None
        dial_text = environ.get(ENV_PREFIX + "DIAL")
        if dial_text:
            values["dial"] = _parse_dial_list(dial_text)
        values.update(overrides)
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The ``ALIEN_NB_*`` variables that give a child process these settings (no credentials)."""
        env: dict[str, str] = {}
        defaults = CloudSettings()
        for key in ("gcp_secret_manager_endpoint", "gcp_sql_admin_endpoint", "gcp_project",
                    "key_vault_endpoint", "azure_arm_endpoint", "azure_ca_bundle"):  # fmt: skip
            value = getattr(self, key)
            if value:
                env[ENV_PREFIX + key.upper()] = str(value)
        if self.timeout != defaults.timeout:
            env[ENV_PREFIX + "CLOUD_TIMEOUT"] = repr(self.timeout)
        if self.retries != defaults.retries:
            env[ENV_PREFIX + "CLOUD_RETRIES"] = str(self.retries)
        if self.dial:
            env[ENV_PREFIX + "DIAL"] = ",".join(f"{h}={t}" for h, t in self.dial.items())
        if self.aws_endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.aws_endpoint_url
        return env

    def dial_target(self, host: str) -> tuple[str, int] | None:
        """Where to connect for ``host``, if it is tunnelled; else None."""
        target = self.dial.get(host)
        return None if target is None else parse_dial_target(host, target)


def is_loopback_url(url: str) -> bool:
    """True for an http(s) URL whose host is 127.0.0.0/8, ::1 or localhost."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_endpoint(name: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CloudSettingsInvalid(
            name, f"{value!r} is not an http(s) URL", hint="e.g. http://127.0.0.1:4566"
        )
    if parts.scheme == "http" and not is_loopback_url(value):
        raise CloudSettingsInvalid(
            name,
            f"{value!r} is plain http to a host that is not this machine",
            hint="Credentials would cross the network unencrypted; use https.",
        )


def parse_dial_target(host: str, target: str) -> tuple[str, int]:
    address, sep, port_text = target.rpartition(":")
    address = address.strip("[]")
    if not sep or not address or not port_text.isdigit() or not (1 <= int(port_text) <= 65535):
        raise CloudSettingsInvalid(
            "dial", f"the target for {host!r} must look like address:port, not {target!r}"
        )
    return address, int(port_text)


def _parse_dial_list(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        host, sep, target = item.partition("=")
        if not sep or not host:
            raise CloudSettingsInvalid(
                ENV_PREFIX + "DIAL",
                f"{item!r} is not host=address:port",
                hint="e.g. db.internal=127.0.0.1:15432",
            )
        out[host] = target
    return out


show_as_public(globals())
