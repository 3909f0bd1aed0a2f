"""`FakeGcp`: Secret Manager and Cloud SQL Admin on one loopback HTTP port."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core import MissingExtra
from ._gcp_secrets import SecretManagerApi
from ._gcp_sql import CloudSqlApi
from ._http import LoopbackServer, Route

if TYPE_CHECKING:
    from google.cloud.secretmanager import SecretManagerServiceClient

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class FakeGcp(LoopbackServer):
    """Secret Manager v1 and Cloud SQL Admin v1 REST on ``http://127.0.0.1:PORT``.

    Point the real clients at `url`: Secret Manager through
    ``client_options={"api_endpoint": fake.url}`` with ``transport="rest"`` (or
    use `secret_manager_client`), Cloud SQL Admin by replacing
    ``https://sqladmin.googleapis.com`` with `url`. No authentication is
    checked. Only ``project`` is served; other projects get 403.

    Errors use Google's JSON shape (``{"error": {"code", "status", "message"}}``),
    so the client raises `google.api_core.exceptions.NotFound` and friends.
    Cloud SQL operations are ``DONE`` when created and their change is already
    applied, unless `operation_polls_before_done` or `fail_next_operation` say
    otherwise.

    >>> with FakeGcp() as gcp:
    ...     version = gcp.set_secret("pg-password", "s3cr3t-pw")
    ...     client = gcp.secret_manager_client()
    ...     name = client.secret_version_path(gcp.project, "pg-password", "latest")
    ...     client.access_secret_version(name=name).payload.data
    b's3cr3t-pw'
    """

    def __init__(
        self,
        *,
        project: str = "alien-test",
        server_ca_pem: str | None = None,
        private_ip: str = "10.0.0.100",
    ) -> None:
        super().__init__()
        self.project = project
        self._secrets = SecretManagerApi(project, self._lock)
        self._sql = CloudSqlApi(
            project, self._lock, lambda: self.url, private_ip=private_ip, server_ca_pem=server_ca_pem
        )
        self._clients: list[Any] = []

    def stop(self) -> None:
        """Close the clients made by `secret_manager_client`, then stop serving."""
        clients, self._clients = self._clients, []
        for client in clients:
            client.transport.close()
        super().stop()

    # -- Secret Manager helpers ----------------------------------------------------------------

    @property
    def corrupt_checksums(self) -> bool:
        """When True, access responses carry a wrong ``payload.dataCrc32c`` (the data stays right)."""
        return self._secrets.corrupt_checksums

    @corrupt_checksums.setter
    def corrupt_checksums(self, value: bool) -> None:
        self._secrets.corrupt_checksums = value

    def set_secret(self, secret_id: str, value: bytes | str, *, location: str | None = None) -> int:
        """Add a version holding ``value`` (str is UTF-8 encoded), creating the secret if needed.

        Return the new version number. ``location`` makes it a regional secret.
        """
        return self._secrets.set_secret(secret_id, value, location)

    def secret_versions(self, secret_id: str, *, location: str | None = None) -> list[bytes]:
        """The payloads of every version of a secret, oldest first (``[]`` if there is no such secret)."""
        return self._secrets.secret_versions(secret_id, location)

    def secret_manager_client(self) -> SecretManagerServiceClient:
        """A real ``SecretManagerServiceClient`` (REST transport, anonymous credentials) aimed here.

        `stop` closes it. Pass ``retry=None`` to calls that should fail fast.
        """
        try:
            from google.auth.credentials import AnonymousCredentials
            from google.cloud.secretmanager import SecretManagerServiceClient
        except ImportError:
            raise MissingExtra("gcp", "google-cloud-secret-manager") from None

        client = SecretManagerServiceClient(
            transport="rest",
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call,unused-ignore]
            client_options={"api_endpoint": self.url},
        )
        self._clients.append(client)
        return client

    # -- Cloud SQL helpers ---------------------------------------------------------------------

    @property
    def instances(self) -> dict[str, dict[str, Any]]:
        """A copy of every Cloud SQL instance as ``GET`` returns it, by name. No passwords."""
        return self._sql.instances()

    @property
    def operation_polls_before_done(self) -> int:
        """How many ``GET …/operations/{id}`` answers say RUNNING before DONE (default 0)."""
        return self._sql.operation_polls_before_done

    @operation_polls_before_done.setter
    def operation_polls_before_done(self, value: int) -> None:
        self._sql.operation_polls_before_done = value

    def fail_next_operation(self, code: str = "INTERNAL_ERROR", message: str = "Injected failure.") -> None:
        """Make the next Cloud SQL operation end DONE with ``error.errors[0] = {code, message}``.

        The request itself still gets 200; its change is not applied.
        """
        self._sql.fail_next_operation(code, message)

    def operations(self) -> list[dict[str, Any]]:
        """Every Cloud SQL operation so far, oldest first."""
        return self._sql.operations()

    def users(self, instance: str) -> list[str]:
        """User names on a Cloud SQL instance (``postgres`` is there from the start)."""
        return self._sql.users(instance)

    def databases(self, instance: str) -> list[str]:
        """Database names on a Cloud SQL instance (``postgres`` is there from the start)."""
        return self._sql.databases(instance)

    def user_password(self, instance: str, user: str) -> str | None:
        """Test-only: the password last set for ``user`` (``postgres`` gets ``rootPassword``)."""
        return self._sql.user_password(instance, user)

    # -- LoopbackServer ------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        return self._secrets.routes() + self._sql.routes()

    def _error_body(self, status: int, message: str, code: str | None) -> object:
        return {
            "error": {"code": status, "message": message, "status": code or _STATUS.get(status, "UNKNOWN")}
        }
