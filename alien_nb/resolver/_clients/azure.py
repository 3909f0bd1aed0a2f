"""Azure clients (credential, ARM session, Key Vault) and the azure.core errors alien_nb tells apart."""

from __future__ import annotations

import threading
from typing import Any

from ...core import MissingExtra
from ...core._cloud import CloudSettings, is_loopback_url
from . import Timeouts


class AzureClients:
    """Azure clients for ``settings``, each made on first use and kept.

    The credential is ``settings.azure_credential``, else one
    `DefaultAzureCredential` shared by every client made here.
    """

    def __init__(self, settings: CloudSettings, timeouts: Timeouts) -> None:
        self.settings = settings
        self.timeouts = timeouts
        self._credential: Any = settings.azure_credential
        self._session: Any = None
        self._vaults: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._credential_lock = threading.Lock()

    def credential(self) -> Any:
        """The token credential (for ARM tokens and Key Vault)."""
        with self._credential_lock:
            if self._credential is None:
                try:
                    from azure.identity import DefaultAzureCredential
                except ImportError:
                    raise MissingExtra("azure", "azure-identity") from None
                self._credential = DefaultAzureCredential()
            return self._credential

    def arm_session(self) -> Any:
        """A `requests` session for ARM REST calls (the caller adds the bearer token)."""
        with self._lock:
            if self._session is None:
                try:
                    import requests
                except ImportError:
                    raise MissingExtra("azure", "requests") from None
                self._session = requests.Session()
            return self._session

    def vault(self, vault_url: str) -> Any:
        """A Key Vault `SecretClient` for ``vault_url``."""
        with self._lock:
            if vault_url not in self._vaults:
                try:
                    from azure.keyvault.secrets import SecretClient
                except ImportError:
                    raise MissingExtra("azure", "azure-keyvault-secrets") from None
                options: dict[str, Any] = {
                    "retry_total": self.settings.retries,
                    "connection_timeout": self.timeouts.connect,
                    "read_timeout": self.timeouts.read,
                    # The challenge's resource check is real security; only an emulator on loopback skips it.
                    "verify_challenge_resource": not is_loopback_url(vault_url),
                }
                if self.settings.azure_ca_bundle:
                    options["connection_verify"] = self.settings.azure_ca_bundle
                self._vaults[vault_url] = SecretClient(vault_url, self.credential(), **options)
            return self._vaults[vault_url]


def is_sign_in_error(exc: BaseException) -> bool:
    """True when Azure refused or could not find a credential (CredentialUnavailableError included)."""
    try:
        from azure.core.exceptions import ClientAuthenticationError
    except ImportError:  # without azure-core, nothing raised can be an azure.core error
        return False
    return isinstance(exc, ClientAuthenticationError)


def is_not_found(exc: BaseException) -> bool:
    """True for a Key Vault 404 (the secret does not exist)."""
    try:
        from azure.core.exceptions import ResourceNotFoundError
    except ImportError:
        return False
    return isinstance(exc, ResourceNotFoundError)


def is_conflict(exc: BaseException) -> bool:
    """True for a Key Vault 409 (e.g. a soft-deleted secret of that name)."""
    try:
        from azure.core.exceptions import ResourceExistsError
    except ImportError:
        return False
    return isinstance(exc, ResourceExistsError)


def sdk_error_text(exc: BaseException) -> str | None:
    """``ErrorType: first line of its message`` for an azure.core error, else None."""
    try:
        from azure.core.exceptions import AzureError
    except ImportError:
        return None
    if not isinstance(exc, AzureError) or not exc.message:
        return None
    return f"{type(exc).__name__}: {str(exc.message).strip().splitlines()[0]}"
