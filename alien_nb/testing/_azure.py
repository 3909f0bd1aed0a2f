"""`FakeAzure`: Key Vault secrets and ARM flexible servers on one loopback HTTPS port."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import MissingExtra
from ._azure_arm import FlexibleServerApi
from ._azure_credential import FAKE_TOKEN, StubCredential
from ._azure_keyvault import KeyVaultApi
from ._http import ApiError, LoopbackServer, Reply, Request, Route

if TYPE_CHECKING:
    from azure.keyvault.secrets import SecretClient
    from typing_extensions import Self

    from ._tls import IssuedCertificate

_CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}


class FakeAzure(LoopbackServer):
    """Key Vault secrets (data plane) and ARM ``Microsoft.DBforPostgreSQL/flexibleServers`` over HTTPS.

    Both need the bearer token ``fake-token`` (see `StubCredential`). Key Vault
    paths (``/secrets``, ``/deletedsecrets``) answer an untokened request with
    the real 401 challenge, so ``SecretClient`` goes through its normal
    challenge -> token -> retry flow; pass ``verify_challenge_resource=False``
    (the challenge names ``vault.azure.net``, not 127.0.0.1) and trust
    `ca_path` (or use `secret_client`). ARM paths (``/subscriptions/…``) answer
    401 ``AuthenticationFailed``. Every request must carry ``api-version``
    (any value).

    Without ``certificate`` the fake makes its own CA and a certificate for
    127.0.0.1 and localhost. ARM changes are applied at once and their async
    operations report ``Succeeded`` unless `operation_polls_before_done` or
    `fail_next_operation` say otherwise.

    >>> with FakeAzure() as azure:
    ...     version = azure.set_secret("pg-password", "s3cr3t-pw")
    ...     azure.secret_client().get_secret("pg-password").value
    's3cr3t-pw'
    """

    scheme = "https"

    def __init__(
        self,
        *,
        certificate: IssuedCertificate | None = None,
        subscription: str = "00000000-0000-0000-0000-000000000001",
        tenant: str = "00000000-0000-0000-0000-000000000000",
    ) -> None:
        if certificate is None:
            from ._tls import TestCertificateAuthority

            certificate = TestCertificateAuthority().issue("127.0.0.1", "localhost")
        super().__init__(certificate=certificate)
        self.subscription = subscription
        self.tenant = tenant
        self.ca_pem: str = certificate.ca_pem
        """PEM of the CA that issued the fake's certificate: what clients must trust."""
        self._ca_dir: Path | None = None
        self._clients: list[Any] = []
        self._vault = KeyVaultApi(self._lock, lambda: self.url)
        self._arm = FlexibleServerApi(subscription, self._lock, lambda: self.url)

    def start(self) -> Self:
        """Serve, and write `ca_path`."""
        super().start()
        self._ca_dir = Path(tempfile.mkdtemp(prefix="alien-nb-fake-azure-"))
        (self._ca_dir / "ca.crt").write_text(self.ca_pem, encoding="ascii")
        return self

    def stop(self) -> None:
        """Close the clients made by `secret_client`, stop serving and delete `ca_path`."""
        clients, self._clients = self._clients, []
        for client in clients:
            client.close()
        super().stop()
        if self._ca_dir is not None:
            shutil.rmtree(self._ca_dir, ignore_errors=True)
            self._ca_dir = None

    @property
    def ca_path(self) -> Path:
        """A file holding `ca_pem` while the fake runs (for ``connection_verify=`` or ``verify=``)."""
        if self._ca_dir is None:
            raise RuntimeError("FakeAzure is not running: call start() or use it in a with block")
        return self._ca_dir / "ca.crt"

    @property
    def auth_headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer fake-token"}``, for hand-made ARM requests."""
        return {"Authorization": f"Bearer {FAKE_TOKEN}"}

    # -- Key Vault helpers ---------------------------------------------------------------------

    def set_secret(self, name: str, value: str) -> str:
        """Add a version of secret ``name`` and return its version id (32 hex digits)."""
        return self._vault.set_secret(name, value)

    def secret_value(self, name: str) -> str | None:
        """The latest value of secret ``name``, or None if it does not exist or is deleted."""
        return self._vault.secret_value(name)

    def secret_uri(self, name: str, version: str | None = None) -> str:
        """``https://127.0.0.1:PORT/secrets/<name>[/<version>]``: the fake's own secret identifier."""
        return self._vault.secret_uri(name, version)

    def secret_client(self, credential: Any = None) -> SecretClient:
        """A real ``SecretClient`` for this vault (a fresh `StubCredential` unless one is given).

        `stop` closes it.
        """
        try:
            from azure.keyvault.secrets import SecretClient
        except ImportError:
            raise MissingExtra("azure", "azure-keyvault-secrets") from None

        client = SecretClient(
            vault_url=self.url,
            credential=credential if credential is not None else StubCredential(),
            verify_challenge_resource=False,
            connection_verify=str(self.ca_path),
        )
        self._clients.append(client)
        return client

    # -- ARM helpers ---------------------------------------------------------------------------

    @property
    def servers(self) -> dict[str, dict[str, Any]]:
        """A copy of every flexible server as ``GET`` returns it, by name. No passwords."""
        return self._arm.servers()

    @property
    def configurations(self) -> dict[str, dict[str, str]]:
        """Server parameters set with PUT, per server: ``{server: {name: value}}``."""
        return self._arm.configurations()

    @property
    def databases(self) -> dict[str, list[str]]:
        """Database names per server (``postgres``, ``azure_sys``, ``azure_maintenance`` from the start)."""
        return self._arm.databases()

    @property
    def operation_polls_before_done(self) -> int:
        """How many polls of an async operation answer ``InProgress`` before its end state (default 0)."""
        return self._arm.operation_polls_before_done

    @operation_polls_before_done.setter
    def operation_polls_before_done(self, value: int) -> None:
        self._arm.operation_polls_before_done = value

    def fail_next_operation(
        self, code: str = "InternalServerError", message: str = "Injected failure."
    ) -> None:
        """Make the next ARM async operation end ``Failed`` with ``error = {code, message}``.

        The request itself still succeeds (201/202); its change is not applied.
        """
        self._arm.fail_next_operation(code, message)

    def admin_password(self, server: str) -> str | None:
        """Test-only: the administrator password last set on ``server``."""
        return self._arm.admin_password(server)

    # -- LoopbackServer ------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        return self._vault.routes() + self._arm.routes()

    def _error_body(self, status: int, message: str, code: str | None) -> object:
        return {"error": {"code": code or _CODES.get(status, "Error"), "message": message}}

    def _authorize(self, request: Request) -> Reply | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        authorized = scheme.lower() == "bearer" and token.strip() == FAKE_TOKEN
        if request.path.startswith(("/secrets", "/deletedsecrets")):
            if not authorized:
                challenge = (
                    f'Bearer authorization="https://login.microsoftonline.com/{self.tenant}", '
                    'resource="https://vault.azure.net"'
                )
                body = self._error_body(401, "AKV10000: Request is missing a Bearer or PoP token.", None)
                return Reply(401, body, {"WWW-Authenticate": challenge})
        elif not authorized:
            challenge = (
                f'Bearer authorization_uri="https://login.microsoftonline.com/{self.tenant}", '
                'error="invalid_token", error_description="The access token is missing or invalid."'
            )
            body = self._error_body(
                401,
                "The access token is missing or invalid: this fake accepts only 'Bearer fake-token'.",
                "AuthenticationFailed",
            )
            return Reply(401, body, {"WWW-Authenticate": challenge})
        if "api-version" not in request.query:
            raise ApiError(400, "The api-version query parameter is required.", "MissingApiVersionParameter")
        return None
