"""GCP: Cloud SQL for PostgreSQL (Admin API v1) with its password in Secret Manager."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import SecretStr

from ..core import CloudCallFailed, CloudSqlBinding, InvalidResource, Postgres, pick_tier, validate_update
from ..core._backends import CLOUD_SQL
from ..core._cloud import CloudSettings
from ..resolver._clients import Timeouts, gcp
from ..resolver._clients.gcp import GcpClients
from ._cloud import (
    DATABASE,
    USERNAME,
    CloudPostgresController,
    CloudStatus,
    Plan,
    check_resource,
    describe_storage,
    new_password,
    status_from,
    storage_gib,
)
from ._http import ApiError, is_http_not_found, json_request

SQL_ADMIN = "https://sqladmin.googleapis.com"

_LIFECYCLE = {
    "PENDING_CREATE": "creating", "RUNNABLE": "running", "MAINTENANCE": "updating", "SUSPENDED": "stopped",
    "STOPPED": "stopped", "PENDING_DELETE": "deleting", "FAILED": "failed", "REPAIRING": "updating",
}  # fmt: skip


def secret_id(id: str) -> str:
    """The Secret Manager secret that holds instance ``id``'s password."""
    return f"alien-nb-{id}-password"


class CloudSqlController(CloudPostgresController):
    """Cloud SQL Enterprise: tier from `pick_tier`, ``POSTGRES_<major>``, private IP only.

    The instance joins ``network`` (a VPC with private services access) and
    gets no public IPv4; TLS is required. User and database are ``alien``;
    the password is generated here and stored in Secret Manager.
    """

    backend = CLOUD_SQL
    poll_interval = 10.0

    def __init__(
        self,
        *,
        project: str | None = None,
        region: str | None = None,
        network: str | None = None,
        settings: CloudSettings | None = None,
        notify: Callable[[str], None] | None = None,
        on_secret: Callable[[SecretStr], None] | None = None,
    ) -> None:
        super().__init__(settings=settings, notify=notify, on_secret=on_secret)
        self.project = (
            project or self.settings.gcp_project or os.environ.get("ALIEN_NB_GCP_PROJECT")
            or os.environ.get("GOOGLE_CLOUD_PROJECT") or ""
        )  # fmt: skip
        self.region = region or os.environ.get("ALIEN_NB_GCP_REGION") or "us-central1"
        self.network = (
            network
            or os.environ.get("ALIEN_NB_GCP_NETWORK")
            or (f"projects/{self.project}/global/networks/default")
        )
        self._clients = GcpClients(self.settings)

    # -- clients ----------------------------------------------------------------

    @property
    def session(self) -> Any:
        return self._clients.admin_session()

    @property
    def secret_manager(self) -> Any:
        return self._clients.secret_manager()

    def _require_project(self) -> str:
        if not self.project:
            raise InvalidResource(
                "no GCP project is set",
                hint="Pass project=..., or set ALIEN_NB_GCP_PROJECT (or GOOGLE_CLOUD_PROJECT).",
            )
        return self.project

    def _api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        base = (self.settings.gcp_sql_admin_endpoint or SQL_ADMIN).rstrip("/")
        url = f"{base}/v1/projects/{self._require_project()}{path}"
        _response, data = json_request(
            self.session, method, url, json=body, timeout=Timeouts.for_management(self.settings).read
        )
        return data

    def describe_sdk_error(self, exc: Exception) -> str:
        return gcp.api_error_text(exc) or super().describe_sdk_error(exc)

    def error_hint(self, exc: Exception) -> str | None:
        if gcp.is_missing_credentials(exc):
            return "Run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS."
        if isinstance(exc, ApiError) and exc.status == 403:
            return "Your identity needs the Cloud SQL Admin role (and Secret Manager Admin for the password)."
        return None

    # -- plan -------------------------------------------------------------------

    def plan(self, resource: Postgres) -> Plan:
        check_resource(self.backend, "Cloud SQL", resource, 84)
        tier = pick_tier(self.backend, resource.cpu_cores, resource.memory_bytes)
        return Plan(
            backend=self.backend,
            id=resource.id,
            region=self.region,
            tier=tier,
            version=resource.version,
            storage=f"{describe_storage(resource)} SSD",
            high_availability=resource.high_availability,
            details={
                "availability": "REGIONAL (standby in another zone)"
                if resource.high_availability
                else "ZONAL",
                "network": f"private IP only, on {self.network}",
                "project": self.project or "(ALIEN_NB_GCP_PROJECT not set)",
                "password": f"generated, stored in Secret Manager as {secret_id(resource.id)}",
            },
        )

    # -- lifecycle --------------------------------------------------------------

    def _instance(self, id: str) -> dict[str, Any] | None:
        found = self.call_or_none(
            f"describe Cloud SQL instance {id!r}", lambda: self._api("GET", f"/instances/{id}"),
            none_if=is_http_not_found,
        )  # fmt: skip
        return dict(found) if found else None

    def _wait(self, action: str, operation: dict[str, Any]) -> None:
        """Poll a long-running operation until it is DONE; raise if it ended in errors."""
        name = operation.get("name")

        def answers() -> Iterator[dict[str, Any]]:
            yield operation  # the request's own answer first, then the operation as it is now
            while True:
                yield self.call(action, lambda: self._api("GET", f"/operations/{name}"))

        latest = answers()

        def pending() -> str | None:
            answer = next(latest)
            if answer.get("status") != "DONE":
                return f"operation {name} is {answer.get('status', 'PENDING')}"
            errors = (answer.get("error") or {}).get("errors") or []
            if errors:
                reason = "; ".join(f"{e.get('code', 'error')}: {e.get('message', '')}" for e in errors)
                raise self.failed(action, reason)
            return None

        self.poll(action, pending)

    def create(self, resource: Postgres) -> CloudSqlBinding:
        plan = self.plan(resource)
        self._require_project()
        if self._instance(resource.id) is not None:
            self.notify(f"{resource.id}: the Cloud SQL instance exists; attaching to it")
            self._ensure_user_and_database(resource.id)
            return self.runtime_binding(resource.id)
        password = new_password()
        with self.holding(password):
            self._store_password(resource.id, password)
            body = {
                "name": resource.id,
                "databaseVersion": f"POSTGRES_{resource.version}",
                "region": self.region,
                "settings": {
                    "tier": plan.tier.name,
                    "edition": "ENTERPRISE",
                    "dataDiskSizeGb": str(storage_gib(resource)),
                    "dataDiskType": "PD_SSD",
                    "availabilityType": "REGIONAL" if resource.high_availability else "ZONAL",
                    "ipConfiguration": {
                        "ipv4Enabled": False,
                        "privateNetwork": self.network,
                        "sslMode": "ENCRYPTED_ONLY",
                    },
                    "userLabels": {"alien-nb-resource": resource.id},
                },
            }
            action = f"create Cloud SQL instance {resource.id!r}"
            self._wait(action, self.call(action, lambda: self._api("POST", "/instances", body)))
            self.notify(
                f"{resource.id}: Cloud SQL instance created ({plan.tier.name}); adding user and database"
            )
            self._create_user(resource.id, password)
            self._create_database(resource.id)
            return self.runtime_binding(resource.id)

    def _create_user(self, id: str, password: SecretStr) -> None:
        action = f"create user {USERNAME!r} on {id!r}"
        operation = self.call(
            action,
            lambda: self._api(
                "POST", f"/instances/{id}/users", {"name": USERNAME, "password": password.get_secret_value()}
            ),
            secrets=(password,),
        )
        self._wait(action, operation)

    def _create_database(self, id: str) -> None:
        action = f"create database {DATABASE!r} on {id!r}"
        path = f"/instances/{id}/databases"
        self._wait(action, self.call(action, lambda: self._api("POST", path, {"name": DATABASE})))

    def _ensure_user_and_database(self, id: str) -> None:
        """Finish a create that stopped half-way: the user (with a new stored password) and database."""
        users = self.call(f"list users of {id!r}", lambda: self._api("GET", f"/instances/{id}/users")) or {}
        if not any(u.get("name") == USERNAME for u in users.get("items", [])):
            self.notify(f"{id}: user {USERNAME!r} is missing (an earlier create stopped half-way); adding it")
            password = new_password()
            with self.holding(password):
                self._store_password(id, password)
                self._create_user(id, password)
        databases = self.call(
            f"list databases of {id!r}", lambda: self._api("GET", f"/instances/{id}/databases")
        )
        if not any(d.get("name") == DATABASE for d in (databases or {}).get("items", [])):
            self._create_database(id)

    def _secret_path(self, id: str) -> str:
        return f"projects/{self._require_project()}/secrets/{secret_id(id)}"

    def _store_password(self, id: str, password: SecretStr) -> None:
        from ..core._crc32c import crc32c

        client = self.call("connect to Secret Manager", lambda: self.secret_manager)
        parent = f"projects/{self._require_project()}"
        # A conflict: left by an earlier create that failed later on; a new version follows.
        self.call_or_none(
            f"create the password secret of {id!r}",
            lambda: client.create_secret(
                parent=parent,
                secret_id=secret_id(id),
                secret={"replication": {"automatic": {}}, "labels": {"alien-nb-resource": id}},
            ),
            none_if=gcp.is_conflict,
        )
        self.call(
            f"store the password of {id!r}",
            lambda: client.add_secret_version(
                parent=self._secret_path(id),
                payload={
                    "data": password.get_secret_value().encode(),
                    "data_crc32c": crc32c(password.get_secret_value().encode()),
                },
            ),
            secrets=(password,),
        )

    def status(self, id: str) -> CloudStatus:
        instance = self._instance(id)
        state = None if instance is None else str(instance.get("state", "UNKNOWN"))
        if state == "RUNNABLE" and (instance or {}).get("settings", {}).get("activationPolicy") == "NEVER":
            state = "STOPPED"  # a stopped instance still reports RUNNABLE, with activation policy NEVER
        return status_from(state, _LIFECYCLE, f"Cloud SQL instance {id!r}")

    def update(self, old: Postgres, new: Postgres) -> None:
        validate_update(old, new)
        plan = self.plan(new)
        settings: dict[str, Any] = {}
        if plan.tier != self.plan(old).tier:
            settings["tier"] = plan.tier.name
        if storage_gib(new) != storage_gib(old):
            settings["dataDiskSizeGb"] = str(storage_gib(new))
        if new.high_availability != old.high_availability:
            settings["availabilityType"] = "REGIONAL" if new.high_availability else "ZONAL"
        body: dict[str, Any] = {"settings": settings} if settings else {}
        if new.version != old.version:
            body["databaseVersion"] = f"POSTGRES_{new.version}"  # an in-place major upgrade
        if body:
            action = f"modify Cloud SQL instance {new.id!r}"
            self._wait(action, self.call(action, lambda: self._api("PATCH", f"/instances/{new.id}", body)))

    def delete(self, id: str) -> None:
        if self._instance(id) is not None:
            action = f"delete Cloud SQL instance {id!r}"
            self._wait(action, self.call(action, lambda: self._api("DELETE", f"/instances/{id}")))
        self.call_or_none(
            f"delete the password secret of {id!r}",
            lambda: self.secret_manager.delete_secret(name=self._secret_path(id)),
            none_if=gcp.is_not_found,
        )

    def runtime_binding(self, id: str) -> CloudSqlBinding:
        instance = self._instance(id)
        if instance is None:
            raise CloudCallFailed(self.backend, f"find Cloud SQL instance {id!r}", "it does not exist")
        private = [a["ipAddress"] for a in instance.get("ipAddresses", []) if a.get("type") == "PRIVATE"]
        ca = (instance.get("serverCaCert") or {}).get("cert")
        if not private or not ca:
            raise CloudCallFailed(
                self.backend, f"bind Cloud SQL instance {id!r}",
                "it has no private IP or server CA certificate yet", hint="Wait until it is RUNNABLE.",
            )  # fmt: skip
        return CloudSqlBinding(
            host=private[0],
            port=5432,
            database=DATABASE,
            username=USERNAME,
            server_ca_certificates=[ca],
            password_secret_name=self._secret_path(id),
        )
