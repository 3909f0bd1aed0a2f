"""Google clients (Cloud SQL Admin session, Secret Manager) and the Google errors alien_nb tells apart."""

from __future__ import annotations

import threading
from typing import Any

from ...core import MissingExtra
from ...core._cloud import CloudSettings

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)


class GcpClients:
    """Google clients for ``settings``, each made on first use and kept.

    Credentials are ``settings.gcp_credentials``, else anonymous for an
    emulator on plain http (loopback: `CloudSettings` refuses plain http
    elsewhere), else google.auth's default chain.
    """

    def __init__(self, settings: CloudSettings) -> None:
        self.settings = settings
        self._session: Any = None
        self._secret_manager: Any = None
        self._lock = threading.Lock()

    def admin_session(self) -> Any:
        """An authorized `requests` session for the Cloud SQL Admin REST API."""
        with self._lock:
            if self._session is None:
                try:
                    from google.auth.transport.requests import AuthorizedSession
                except ImportError:
                    raise MissingExtra("gcp", "google-auth") from None
                credentials = self._credentials(self.settings.gcp_sql_admin_endpoint)
                if credentials is None:
                    import google.auth

                    credentials, _project = google.auth.default(scopes=list(SCOPES))
                self._session = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
            return self._session

    def secret_manager(self) -> Any:
        """A `SecretManagerServiceClient`, over REST when an endpoint is set."""
        with self._lock:
            if self._secret_manager is None:
                try:
                    from google.cloud import secretmanager
                except ImportError:
                    raise MissingExtra("gcp", "google-cloud-secret-manager") from None
                endpoint = self.settings.gcp_secret_manager_endpoint
                kwargs: dict[str, Any] = {"credentials": self._credentials(endpoint)}
                if endpoint is not None:
                    kwargs |= {"transport": "rest", "client_options": {"api_endpoint": endpoint}}
                # With credentials None the client runs google.auth's default chain itself.
                self._secret_manager = secretmanager.SecretManagerServiceClient(**kwargs)
            return self._secret_manager

    def _credentials(self, endpoint: str | None) -> Any:
        if self.settings.gcp_credentials is not None:
            return self.settings.gcp_credentials
        if endpoint is not None and endpoint.startswith("http://"):
            from google.auth.credentials import AnonymousCredentials

            return AnonymousCredentials()  # type: ignore[no-untyped-call]  # loopback emulator
        return None


def is_missing_credentials(exc: BaseException) -> bool:
    """True when google.auth found no credentials in its default chain."""
    try:
        from google.auth.exceptions import DefaultCredentialsError
    except ImportError:  # without google-auth, nothing raised can be a google.auth error
        return False
    return isinstance(exc, DefaultCredentialsError)


def is_not_found(exc: BaseException) -> bool:
    """True for a Google API's 404."""
    try:
        from google.api_core.exceptions import NotFound
    except ImportError:
        return False
    return isinstance(exc, NotFound)


def is_conflict(exc: BaseException) -> bool:
    """True for a Google API's 409 (REST answers it as Conflict; gRPC as its subclass AlreadyExists)."""
    try:
        from google.api_core.exceptions import Conflict
    except ImportError:
        return False
    return isinstance(exc, Conflict)


def api_error_text(exc: BaseException) -> str | None:
    """``CODE: message`` for an error a Google API answered, else None."""
    try:
        from google.api_core.exceptions import GoogleAPICallError
    except ImportError:
        return None
    if not isinstance(exc, GoogleAPICallError):
        return None
    return f"{getattr(exc.code, 'name', exc.code)}: {exc.message}"
