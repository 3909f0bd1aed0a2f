"""Strict parsing of Azure Key Vault secret URIs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

_VAULT_SUFFIX = ".vault.azure.net"
_VAULT_LABEL = re.compile(r"[A-Za-z](?:[A-Za-z0-9-]{1,22})[A-Za-z0-9]")
_SEGMENT = re.compile(r"[A-Za-z0-9-]+")


@dataclass(frozen=True)
class KeyVaultSecretRef:
    """A Key Vault secret locator: which vault, which secret, which version."""

    vault_name: str
    name: str
    version: str | None = None

    @property
    def vault_url(self) -> str:
        return f"https://{self.vault_name}{_VAULT_SUFFIX}"

    @property
    def uri(self) -> str:
        tail = f"/{self.version}" if self.version else ""
        return f"{self.vault_url}/secrets/{self.name}{tail}"


def parse_key_vault_uri(uri: str) -> KeyVaultSecretRef:
    """Split ``https://<vault>.vault.azure.net/secrets/<name>[/<version>]``.

    Only that exact shape is accepted: https, no user info, port, query or
    fragment; a vault label of 3-24 letters, digits and hyphens that starts
    with a letter, ends with a letter or digit and has no ``--``; name and
    version of letters, digits and hyphens (so no percent-encoding).

    Raise `ValueError` saying which part is wrong.
    """
    if not isinstance(uri, str) or not uri.isascii():
        raise ValueError("must be an ASCII https URL")
    if "#" in uri:
        raise ValueError("must not have a fragment (#...)")
    if "?" in uri:
        raise ValueError("must not have a query (?...)")
    parts = urlsplit(uri)
    if parts.scheme != "https":
        raise ValueError("must use https")
    netloc = parts.netloc
    if "@" in netloc:
        raise ValueError("must not contain user info")
    if ":" in netloc:
        raise ValueError("must not contain a port")
    host = netloc.lower()
    if not host.endswith(_VAULT_SUFFIX):
        raise ValueError(f"host must be <vault>{_VAULT_SUFFIX}")
    label = netloc[: -len(_VAULT_SUFFIX)]
    if not _VAULT_LABEL.fullmatch(label) or "--" in label:
        raise ValueError(
            "vault name must be 3-24 letters, digits or hyphens, start with a letter, "
            "end with a letter or digit, and have no '--'"
        )
    segments = parts.path.split("/")
    if len(segments) not in (3, 4) or segments[0] != "" or segments[1] != "secrets":
        raise ValueError("path must be /secrets/<name> or /secrets/<name>/<version>")
    if not all(_SEGMENT.fullmatch(s) for s in segments[2:]):
        raise ValueError("secret name and version must be letters, digits or hyphens")
    version = segments[3] if len(segments) == 4 else None
    return KeyVaultSecretRef(vault_name=label, name=segments[2], version=version)
