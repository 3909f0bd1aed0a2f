"""Google clients (Cloud SQL Admin session, Secret Manager) and the Google errors alien_nb tells apart."""

from __future__ import annotations

from typing import Any

from ...core._cloud import CloudSettings
from . import Clients, loaded, require

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)


class GcpClients:
    """Google clients for ``settings``, each made on first use and kept.

    Credentials are ``settings.gcp_credentials``, else anonymous for an
    emulator on plain http (loopback: `CloudSettings` refuses plain http
    elsewhere), else google.auth's default chain.
    """

    def __init__(self, settings: CloudSettings) -> None:
        self.settings = settings
        self._clients = Clients()

    def admin_session(self) -> Any:
        """An authorized `requests` session for the Cloud SQL Admin REST API."""
        return self._clients.get("sql-admin", self._make_admin_session)

    def secret_manager(self) -> Any:
        """A `SecretManagerServiceClient`, over REST when an endpoint is set."""
        return self._clients.get("secret-manager", self._make_secret_manager)

    def _make_admin_session(self) -> Any:
        transport = require("google.auth.transport.requests", "gcp", "google-auth")
        credentials = self._credentials(self.settings.gcp_sql_admin_endpoint)
        if credentials is None:
            credentials, _project = require("google.auth", "gcp", "google-auth").default(scopes=list(SCOPES))
        return transport.AuthorizedSession(credentials)

    def _make_secret_manager(self) -> Any:
        secretmanager = require("google.cloud.secretmanager", "gcp", "google-cloud-secret-manager")
        endpoint = self.settings.gcp_secret_manager_endpoint
        # With credentials None the client runs google.auth's default chain itself.
        kwargs: dict[str, Any] = {"credentials": self._credentials(endpoint)}
        if endpoint is not None:
            kwargs |= {"transport": "rest", "client_options": {"api_endpoint": endpoint}}
        return secretmanager.SecretManagerServiceClient(**kwargs)

    def _credentials(self, endpoint: str | None) -> Any:
        if self.settings.gcp_credentials is not None:
            return self.settings.gcp_credentials
        if endpoint is not None and endpoint.startswith("http://"):  # a loopback emulator
            return require("google.auth.credentials", "gcp", "google-auth").AnonymousCredentials()
        return None


def is_missing_credentials(exc: BaseException) -> bool:
    """True when google.auth found no credentials in its default chain."""
    errors = loaded("google.auth.exceptions")
    return errors is not None and isinstance(exc, errors.DefaultCredentialsError)


def is_not_found(exc: BaseException) -> bool:
    """True for a Google API's 404."""
    errors = loaded("google.api_core.exceptions")
    return errors is not None and isinstance(exc, errors.NotFound)


def is_conflict(exc: BaseException) -> bool:
    """True for a Google API's 409 (REST answers it as Conflict; gRPC as its subclass AlreadyExists)."""
    errors = loaded("google.api_core.exceptions")
    return errors is not None and isinstance(exc, errors.Conflict)


def api_error_text(exc: BaseException) -> str | None:
    """``CODE: message`` for an error a Google API answered, else None."""
    errors = loaded("google.api_core.exceptions")
    if errors is None or not isinstance(exc, errors.GoogleAPICallError):
        return None
    return f"{getattr(exc.code, 'name', exc.code)}: {exc.message}"
