"""Key Vault secrets data plane, as azure-keyvault-secrets' ``SecretClient`` calls it."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._http import ApiError, Reply, Request, Route

_NAME = r"(?P<name>[^/]+)"
_VALID_NAME = re.compile(r"[0-9A-Za-z-]{1,127}")
_RECOVERY_LEVEL = "Recoverable+Purgeable"
_RETENTION_DAYS = 90


@dataclass
class _Version:
    version: str
    value: str
    created: int
    updated: int
    attributes: dict[str, Any]
    tags: dict[str, str]
    content_type: str | None


@dataclass
class _Secret:
    versions: list[_Version] = field(default_factory=list)  # oldest first
    deleted: int | None = None


class KeyVaultApi:
    """State and routes of the Key Vault emulation (soft delete on, 90 days retention)."""

    def __init__(self, lock: threading.RLock, base_url: Callable[[], str]) -> None:
        self._lock = lock
        self._base_url = base_url
        self._secrets: dict[str, _Secret] = {}

    def routes(self) -> list[Route]:
        r = re.compile
        return [
            Route("GET", r("/secrets/?"), self._list),
            Route("PUT", r(f"/secrets/{_NAME}"), self._set),
            Route("DELETE", r(f"/secrets/{_NAME}"), self._delete),
            Route("GET", r(f"/secrets/{_NAME}/versions"), self._list_versions),
            Route("GET", r(f"/secrets/{_NAME}/?(?P<version>[^/]*)"), self._get),
            Route("PATCH", r(f"/secrets/{_NAME}/?(?P<version>[^/]*)"), self._update),
            Route("GET", r("/deletedsecrets/?"), self._list_deleted),
            Route("GET", r(f"/deletedsecrets/{_NAME}"), self._get_deleted),
            Route("DELETE", r(f"/deletedsecrets/{_NAME}"), self._purge),
            Route("POST", r(f"/deletedsecrets/{_NAME}/recover"), self._recover),
        ]

    # -- test helpers --------------------------------------------------------------------------

    def set_secret(self, name: str, value: str) -> str:
        with self._lock:
            return self._add(name, {"value": value}).version

    def secret_value(self, name: str) -> str | None:
        with self._lock:
            secret = self._secrets.get(name)
            if secret is None or secret.deleted is not None or not secret.versions:
                return None
            return secret.versions[-1].value

    def secret_uri(self, name: str, version: str | None) -> str:
        tail = f"/{version}" if version else ""
        return f"{self._base_url()}/secrets/{name}{tail}"

    # -- handlers ------------------------------------------------------------------------------

    def _set(self, request: Request, m: re.Match[str]) -> Reply:
        body = request.json()
        if not isinstance(body.get("value"), str):
            raise ApiError(400, "The parameter 'value' is required and must be a string.", "BadParameter")
        secret = self._secrets.get(m["name"])
        if secret is not None and secret.deleted is not None:
            raise ApiError(
                409,
                f"Secret {m['name']} is currently in a deleted but recoverable state, and its name cannot be "
                "reused; in this state, the secret can only be recovered or purged.",
                "Conflict",
            )
        version = self._add(m["name"], body)
        return Reply(200, self._bundle(m["name"], version, with_value=True))

    def _get(self, request: Request, m: re.Match[str]) -> Reply:
        version = self._version(m["name"], m["version"])
        if not version.attributes.get("enabled", True):
            raise ApiError(403, "Operation get is not allowed on a disabled secret.", "Forbidden")
        return Reply(200, self._bundle(m["name"], version, with_value=True))

    def _update(self, request: Request, m: re.Match[str]) -> Reply:
        version = self._version(m["name"], m["version"])
        body = request.json()
        version.attributes.update(body.get("attributes") or {})
        if "tags" in body:
            version.tags = dict(body["tags"] or {})
        if "contentType" in body:
            version.content_type = body["contentType"]
        version.updated = int(time.time())
        return Reply(200, self._bundle(m["name"], version, with_value=False))

    def _delete(self, request: Request, m: re.Match[str]) -> Reply:
        secret = self._live(m["name"])
        secret.deleted = int(time.time())
        return Reply(200, self._deleted_bundle(m["name"], secret))

    def _list(self, request: Request, m: re.Match[str]) -> Reply:
        items = [
            self._item(name, s.versions[-1], versioned=False)
            for name, s in sorted(self._secrets.items())
            if s.deleted is None and s.versions
        ]
        return Reply(200, {"value": items, "nextLink": None})

    def _list_versions(self, request: Request, m: re.Match[str]) -> Reply:
        secret = self._live(m["name"])
        items = [self._item(m["name"], v, versioned=True) for v in secret.versions]
        return Reply(200, {"value": items, "nextLink": None})

    def _list_deleted(self, request: Request, m: re.Match[str]) -> Reply:
        items = [
            self._deleted_bundle(n, s) for n, s in sorted(self._secrets.items()) if s.deleted is not None
        ]
        return Reply(200, {"value": items, "nextLink": None})

    def _get_deleted(self, request: Request, m: re.Match[str]) -> Reply:
        return Reply(200, self._deleted_bundle(m["name"], self._deleted(m["name"])))

    def _purge(self, request: Request, m: re.Match[str]) -> Reply:
        self._deleted(m["name"])
        del self._secrets[m["name"]]
        return Reply(204)

    def _recover(self, request: Request, m: re.Match[str]) -> Reply:
        secret = self._deleted(m["name"])
        secret.deleted = None
        return Reply(200, self._bundle(m["name"], secret.versions[-1], with_value=False))

    # -- lookups and shapes --------------------------------------------------------------------

    def _add(self, name: str, body: dict[str, Any]) -> _Version:
        if not _VALID_NAME.fullmatch(name):
            raise ApiError(
                400,
                "Secret names must be 1-127 letters, digits and dashes (no other characters).",
                "BadParameter",
            )
        now = int(time.time())
        attributes = {"enabled": True, **(body.get("attributes") or {})}
        version = _Version(
            uuid.uuid4().hex,
            body["value"],
            now,
            now,
            attributes,
            dict(body.get("tags") or {}),
            body.get("contentType"),
        )
        self._secrets.setdefault(name, _Secret()).versions.append(version)
        return version

    def _not_found(self, name: str, version: str = "") -> ApiError:
        what = f"{name} with version {version}" if version else name
        return ApiError(
            404, f"A secret with (name/id) {what} was not found in this key vault.", "SecretNotFound"
        )

    def _live(self, name: str) -> _Secret:
        secret = self._secrets.get(name)
        if secret is None or secret.deleted is not None or not secret.versions:
            raise self._not_found(name)
        return secret

    def _deleted(self, name: str) -> _Secret:
        secret = self._secrets.get(name)
        if secret is None or secret.deleted is None:
            raise ApiError(404, f"Deleted Secret not found: {name}", "SecretNotFound")
        return secret

    def _version(self, name: str, version: str) -> _Version:
        secret = self._live(name)
        if not version:
            return secret.versions[-1]
        for candidate in secret.versions:
            if candidate.version == version:
                return candidate
        raise self._not_found(name, version)

    def _attributes(self, version: _Version) -> dict[str, Any]:
        return {
            **version.attributes,
            "created": version.created,
            "updated": version.updated,
            "recoveryLevel": _RECOVERY_LEVEL,
            "recoverableDays": _RETENTION_DAYS,
        }

    def _item(self, name: str, version: _Version, *, versioned: bool) -> dict[str, Any]:
        tail = f"/{version.version}" if versioned else ""
        item: dict[str, Any] = {
            "id": f"{self._base_url()}/secrets/{name}{tail}",
            "attributes": self._attributes(version),
            "tags": dict(version.tags),
        }
        if version.content_type is not None:
            item["contentType"] = version.content_type
        return item

    def _bundle(self, name: str, version: _Version, *, with_value: bool) -> dict[str, Any]:
        bundle = self._item(name, version, versioned=True)
        if with_value:
            bundle = {"value": version.value, **bundle}
        return bundle

    def _deleted_bundle(self, name: str, secret: _Secret) -> dict[str, Any]:
        deleted = secret.deleted or int(time.time())
        return {
            **self._bundle(name, secret.versions[-1], with_value=False),
            "recoveryId": f"{self._base_url()}/deletedsecrets/{name}",
            "deletedDate": deleted,
            "scheduledPurgeDate": deleted + _RETENTION_DAYS * 86400,
        }
