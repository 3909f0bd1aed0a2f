"""Azure clients (credential, ARM session, Key Vault) and the azure.core errors alien_nb tells apart."""

from __future__ import annotations

from typing import Any

from ...core._cloud import CloudSettings, is_loopback_url
from . import Clients, Timeouts, loaded, require


class AzureClients:
    """Azure clients for ``settings``, each made on first use and kept.

    The credential is ``settings.azure_credential``, else one
    `DefaultAzureCredential` shared by every client made here.
    """

    def __init__(self, settings: CloudSettings, timeouts: Timeouts) -> None:
        self.settings = settings
        self.timeouts = timeouts
        self._clients = Clients()

    def credential(self) -> Any:
        """The token credential (for ARM tokens and Key Vault)."""
        return self._clients.get("credential", self._make_credential)

    def arm_session(self) -> Any:
        """A `requests` session for ARM REST calls (the caller adds the bearer token)."""
        return self._clients.get("arm", lambda: require("requests", "azure", "requests").Session())

    def vault(self, vault_url: str) -> Any:
        """A Key Vault `SecretClient` for ``vault_url``."""
        return self._clients.get(("vault", vault_url), lambda: self._make_vault(vault_url))

    def _make_credential(self) -> Any:
        if self.settings.azure_credential is not None:
            return self.settings.azure_credential
        return require("azure.identity", "azure", "azure-identity").DefaultAzureCredential()

    def _make_vault(self, vault_url: str) -> Any:
        secrets = require("azure.keyvault.secrets", "azure", "azure-keyvault-secrets")
        options: dict[str, Any] = {
            "retry_total": self.settings.retries,
            "connection_timeout": self.timeouts.connect,
            "read_timeout": self.timeouts.read,
            # The challenge's resource check is real security; only an emulator on loopback skips it.
            "verify_challenge_resource": not is_loopback_url(vault_url),
        }
        if self.settings.azure_ca_bundle:
            options["connection_verify"] = self.settings.azure_ca_bundle
        return secrets.SecretClient(vault_url, self.credential(), **options)


def is_sign_in_error(exc: BaseException) -> bool:
    """True when Azure refused or could not find a credential (CredentialUnavailableError included)."""
    errors = loaded("azure.core.exceptions")
    return errors is not None and isinstance(exc, errors.ClientAuthenticationError)


def is_not_found(exc: BaseException) -> bool:
    """True for a Key Vault 404 (the secret does not exist)."""
    errors = loaded("azure.core.exceptions")
    return errors is not None and isinstance(exc, errors.ResourceNotFoundError)


def is_conflict(exc: BaseException) -> bool:
    """True for a Key Vault 409 (e.g. a soft-deleted secret of that name)."""
    errors = loaded("azure.core.exceptions")
    return errors is not None and isinstance(exc, errors.ResourceExistsError)


def sdk_error_text(exc: BaseException) -> str | None:
    """``ErrorType: first line of its message`` for an azure.core error, else None."""
    errors = loaded("azure.core.exceptions")
    if errors is None or not isinstance(exc, errors.AzureError) or not exc.message:
        return None
    return f"{type(exc).__name__}: {str(exc.message).strip().splitlines()[0]}"
