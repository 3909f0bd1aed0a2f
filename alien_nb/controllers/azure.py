"""Azure: Database for PostgreSQL Flexible Server (ARM REST) with its password in Key Vault."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from ..core import (
    CloudCallFailed,
    FlexibleServerBinding,
    InvalidResource,
    Postgres,
    parse_key_vault_uri,
    pick_tier,
    validate_update,
)
from ..core._backends import FLEXIBLE_SERVER
from ..core._cloud import CloudSettings
from ..resolver._clients import Timeouts, azure
from ..resolver._clients.azure import AzureClients
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

ARM = "https://management.azure.com"
API_VERSION = "2024-08-01"
ARM_SCOPE = "https://management.azure.com/.default"
# Azure sells disks in these sizes (GiB); a request is rounded up to the next one.
DISK_SIZES_GIB = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767)

_LIFECYCLE = {
    "Ready": "running", "Provisioning": "creating", "Starting": "updating", "Updating": "updating",
    "Stopping": "stopping", "Stopped": "stopped", "Dropping": "deleting", "Disabled": "failed",
}  # fmt: skip


def secret_name(id: str) -> str:
    """The Key Vault secret that holds server ``id``'s password."""
    return f"alien-nb-{id}-password"


def _with_admin_password(body: dict[str, Any] | None, password: SecretStr | None) -> dict[str, Any] | None:
    if body is None or password is None:
        return body
    properties = {**body["properties"], "administratorLoginPassword": password.get_secret_value()}
    return {**body, "properties": properties}


def disk_gib(resource: Postgres) -> int:
    wanted = storage_gib(resource)
    fits = [size for size in DISK_SIZES_GIB if size >= wanted]
    if not fits:
        raise InvalidResource(f"Azure Flexible Server storage tops out at {DISK_SIZES_GIB[-1]} GiB")
    return fits[0]


class FlexibleServerController(CloudPostgresController):
    """Azure Flexible Server: SKU from `pick_tier`, public network access disabled.

    Zone-redundant HA when asked, the ``vector`` extension allow-listed
    (``azure.extensions = VECTOR``), database and admin login ``alien``. The
    password is generated here and stored in the Key Vault at
    ``key_vault_url``; the binding carries the versionless secret URI, so a
    rotated password is read at the next connect.
    """

    backend = FLEXIBLE_SERVER
    poll_interval = 10.0

    def __init__(
        self,
        *,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        location: str | None = None,
        key_vault_url: str | None = None,
        settings: CloudSettings | None = None,
        notify: Callable[[str], None] | None = None,
        on_secret: Callable[[SecretStr], None] | None = None,
    ) -> None:
        super().__init__(settings=settings, notify=notify, on_secret=on_secret)
        env = os.environ
        self.subscription_id = subscription_id or env.get("AZURE_SUBSCRIPTION_ID") or ""
        self.resource_group = resource_group or env.get("ALIEN_NB_AZURE_RESOURCE_GROUP") or ""
        self.location = location or env.get("ALIEN_NB_AZURE_LOCATION") or "eastus"
        self.key_vault_url = (key_vault_url or env.get("ALIEN_NB_KEY_VAULT_URL") or "").rstrip("/")
        self._clients = AzureClients(self.settings, Timeouts.for_management(self.settings))

    # -- clients ----------------------------------------------------------------

    def credential(self) -> Any:
        return self._clients.credential()

    @property
    def session(self) -> Any:
        return self._clients.arm_session()

    @property
    def vault(self) -> Any:
        return self._clients.vault(self._vault_endpoint)

    @functools.cached_property
    def _vault_endpoint(self) -> str:
        # Checked once, not at every use of the client (a URL that fails the check is not kept).
        return self.settings.key_vault_endpoint or self._vault_url()

    def _vault_url(self) -> str:
        if not self.key_vault_url:
            raise InvalidResource(
                "no Key Vault is set for the password",
                hint="Pass key_vault_url='https://<vault>.vault.azure.net', or set ALIEN_NB_KEY_VAULT_URL.",
            )
        try:
            parse_key_vault_uri(f"{self.key_vault_url}/secrets/check")
        except ValueError as exc:
            raise InvalidResource(f"key_vault_url {self.key_vault_url!r}: {exc}") from None
        return self.key_vault_url

    def _server_url(self, id: str, tail: str = "") -> str:
        if not self.subscription_id or not self.resource_group:
            raise InvalidResource(
                "no Azure subscription or resource group is set",
                hint="Pass subscription_id= and resource_group=, or set AZURE_SUBSCRIPTION_ID and "
                "ALIEN_NB_AZURE_RESOURCE_GROUP.",
            )
        base = (self.settings.azure_arm_endpoint or ARM).rstrip("/")
        return (
            f"{base}/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.DBforPostgreSQL/flexibleServers/{id}{tail}"
        )

    def _arm(self, method: str, url: str, body: dict[str, Any] | None = None) -> tuple[Any, Any]:
        return self._arm_request(method, url, json=body, params={"api-version": API_VERSION})

    def _arm_request(self, method: str, url: str, **kwargs: Any) -> tuple[Any, Any]:
        token = self.credential().get_token(ARM_SCOPE).token
        if self.settings.azure_ca_bundle:
            # Per request: requests lets REQUESTS_CA_BUNDLE override a session's `verify`.
            kwargs["verify"] = self.settings.azure_ca_bundle
        headers = {"Authorization": f"Bearer {token}"}
        return json_request(
            self.session, method, url, headers=headers,
            timeout=Timeouts.for_management(self.settings).read, **kwargs,
        )  # fmt: skip

    def _arm_and_wait(self, action: str, method: str, url: str, body: dict[str, Any] | None = None,
                      *, admin_password: SecretStr | None = None) -> Any:  # fmt: skip
        """One ARM call, then its long-running operation to the end.

        ``admin_password`` is merged into the body only inside the request
        (so no frame of ours holds it in clear while we wait).
        """
        response, data = self.call(
            action, lambda: self._arm(method, url, _with_admin_password(body, admin_password))
        )
        if response.status_code in (201, 202):
            if response.headers.get("Azure-AsyncOperation"):
                self._poll(action, response.headers["Azure-AsyncOperation"], by_status=True)
            elif response.headers.get("Location"):
                self._poll(action, response.headers["Location"], by_status=False)
        return data

    def _poll(self, action: str, url: str, *, by_status: bool) -> None:
        """Azure-AsyncOperation answers a status; a Location URL answers 202 until it is done."""
        retry_after: str | None = None

        def pending() -> str | None:
            nonlocal retry_after
            response, data = self.call(action, lambda: self._arm_request("GET", url))
            retry_after = response.headers.get("Retry-After")
            status = (data or {}).get("status", "InProgress") if by_status else (
                "InProgress" if response.status_code == 202 else "Succeeded"
            )  # fmt: skip
            if status == "Succeeded":
                return None
            if status in ("Failed", "Canceled"):
                error = (data or {}).get("error") or {}
                raise self.failed(
                    action, f"{error.get('code', status)}: {error.get('message', 'no details')}"
                )
            return f"the operation is {status}"

        def pause() -> float:
            try:
                wait = float(retry_after or self.poll_interval)
            except ValueError:
                wait = self.poll_interval
            return min(max(wait, self.poll_interval), 60.0)

        self.poll(action, pending, pause=pause)

    def describe_sdk_error(self, exc: Exception) -> str:
        return azure.sdk_error_text(exc) or super().describe_sdk_error(exc)

    def error_hint(self, exc: Exception) -> str | None:
        if azure.is_sign_in_error(exc):
            return "Sign in with `az login` or configure a service principal (AZURE_CLIENT_ID & co)."
        if isinstance(exc, ApiError) and exc.status in (401, 403):
            return "You need Contributor on the resource group and Key Vault Secrets Officer on the vault."
        return None

    # -- plan -------------------------------------------------------------------

    def plan(self, resource: Postgres) -> Plan:
        check_resource(self.backend, "Azure Flexible Server", resource, 63)
        tier = pick_tier(
            self.backend,
            resource.cpu_cores,
            resource.memory_bytes,
            high_availability=resource.high_availability,
        )
        return Plan(
            backend=self.backend,
            id=resource.id,
            region=self.location,
            tier=tier,
            version=resource.version,
            storage=f"{disk_gib(resource)} GiB Premium SSD (asked {describe_storage(resource)})",
            high_availability=resource.high_availability,
            details={
                "sku tier": tier.family,
                "availability": "zone-redundant standby" if resource.high_availability else "single zone",
                "network": "public network access disabled",
                "extensions": "vector allow-listed",
                "resource group": self.resource_group or "(ALIEN_NB_AZURE_RESOURCE_GROUP not set)",
                "password": f"generated, stored in Key Vault as {secret_name(resource.id)}",
            },
        )

    # -- lifecycle --------------------------------------------------------------

    def _server(self, id: str) -> dict[str, Any] | None:
        found = self.call_or_none(
            f"describe Flexible Server {id!r}", lambda: self._arm("GET", self._server_url(id))[1],
            none_if=is_http_not_found,
        )  # fmt: skip
        return dict(found) if found else None

    def create(self, resource: Postgres) -> FlexibleServerBinding:
        plan = self.plan(resource)
        self._vault_url()
        if self._server(resource.id) is not None:
            self.notify(f"{resource.id}: the Flexible Server exists; attaching to it")
            return self.runtime_binding(resource.id)
        password = new_password()
        with self.holding(password):
            self._store_password(resource.id, password)
            body = {
                "location": self.location,
                "sku": {"name": plan.tier.name, "tier": plan.tier.family},
                "tags": {"alien-nb-resource": resource.id},
                "properties": {
                    "createMode": "Create",
                    "version": resource.version,
                    "administratorLogin": USERNAME,
                    "storage": {"storageSizeGB": disk_gib(resource)},
                    "network": {"publicNetworkAccess": "Disabled"},
                    "highAvailability": {
                        "mode": "ZoneRedundant" if resource.high_availability else "Disabled"
                    },
                },
            }
            self._arm_and_wait(
                f"create Flexible Server {resource.id!r}",
                "PUT",
                self._server_url(resource.id),
                body,
                admin_password=password,
            )
            self.notify(f"{resource.id}: Flexible Server created ({plan.tier.name}); allow-listing vector")
            self._arm_and_wait(
                f"allow-list the vector extension on {resource.id!r}",
                "PUT",
                self._server_url(resource.id, "/configurations/azure.extensions"),
                {"properties": {"value": "VECTOR", "source": "user-override"}},
            )
            self._arm_and_wait(
                f"create database {DATABASE!r} on {resource.id!r}",
                "PUT",
                self._server_url(resource.id, f"/databases/{DATABASE}"),
                {"properties": {"charset": "UTF8", "collation": "en_US.utf8"}},
            )
            return self.runtime_binding(resource.id)

    def _store_password(self, id: str, password: SecretStr) -> None:
        def store() -> None:
            try:
                self.vault.set_secret(
                    secret_name(id), password.get_secret_value(), content_type="text/plain",
                    tags={"alien-nb-resource": id},
                )  # fmt: skip
            except Exception as exc:
                if not azure.is_conflict(exc):
                    raise
                # 409: soft-deleted by an earlier delete of the same name; recover it, then set it.
                self.vault.begin_recover_deleted_secret(secret_name(id)).wait()
                self.vault.set_secret(secret_name(id), password.get_secret_value(), content_type="text/plain")

        self.call(f"store the password of {id!r}", store, secrets=(password,))

    def status(self, id: str) -> CloudStatus:
        server = self._server(id)
        state = None if server is None else str(server.get("properties", {}).get("state", "Unknown"))
        return status_from(state, _LIFECYCLE, f"Flexible Server {id!r}")

    def update(self, old: Postgres, new: Postgres) -> None:
        validate_update(old, new)
        plan, old_plan = self.plan(new), self.plan(old)
        body: dict[str, Any] = {}
        properties: dict[str, Any] = {}
        if plan.tier != old_plan.tier:
            body["sku"] = {"name": plan.tier.name, "tier": plan.tier.family}
        if disk_gib(new) != disk_gib(old):
            properties["storage"] = {"storageSizeGB": disk_gib(new)}
        if new.high_availability != old.high_availability:
            properties["highAvailability"] = {
                "mode": "ZoneRedundant" if new.high_availability else "Disabled"
            }
        if new.version != old.version:
            properties["version"] = new.version
            properties["createMode"] = "Update"  # Azure's in-place major version upgrade
        if properties:
            body["properties"] = properties
        if body:
            self._arm_and_wait(f"modify Flexible Server {new.id!r}", "PATCH", self._server_url(new.id), body)

    def delete(self, id: str) -> None:
        if self._server(id) is not None:
            self._arm_and_wait(f"delete Flexible Server {id!r}", "DELETE", self._server_url(id))

        # Soft delete: the vault keeps it for its retention period.
        self.call_or_none(
            f"delete the password secret of {id!r}",
            lambda: self.vault.begin_delete_secret(secret_name(id)).wait(),
            none_if=azure.is_not_found,
        )

    def runtime_binding(self, id: str) -> FlexibleServerBinding:
        server = self._server(id)
        if server is None:
            raise CloudCallFailed(self.backend, f"find Flexible Server {id!r}", "it does not exist")
        properties = server.get("properties", {})
        return FlexibleServerBinding(
            host=str(properties.get("fullyQualifiedDomainName") or f"{id}.postgres.database.azure.com"),
            port=5432,
            database=DATABASE,
            username=str(properties.get("administratorLogin") or USERNAME),
            password_secret_uri=f"{self._vault_url()}/secrets/{secret_name(id)}",
        )
