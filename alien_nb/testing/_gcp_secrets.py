"""Secret Manager v1 REST, as ``SecretManagerServiceClient(transport="rest")`` calls it."""

from __future__ import annotations

import base64
import binascii
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from ..core._crc32c import crc32c
from ._http import ApiError, Reply, Request, Route, rfc3339_now

_PARENT = r"/v1/projects/(?P<project>[^/:]+)(?:/locations/(?P<location>[^/:]+))?"
_SECRET = _PARENT + r"/secrets/(?P<secret>[^/:]+)"
_VERSION = _SECRET + r"/versions/(?P<version>[^/:]+)"
_SECRET_ID = re.compile(r"[A-Za-z0-9_-]{1,255}")
_MAX_PAYLOAD = 64 * 1024
_STATES = {"ENABLED": 1, "DISABLED": 2, "DESTROYED": 3}


@dataclass
class _Version:
    number: int
    data: bytes
    created: str
    client_checksum: bool
    state: str = "ENABLED"


@dataclass
class _Secret:
    resource: dict[str, Any]
    versions: list[_Version] = field(default_factory=list)


class SecretManagerApi:
    """State and routes of the Secret Manager emulation (global and regional secrets)."""

    def __init__(self, project: str, lock: threading.RLock) -> None:
        self.project = project
        self.corrupt_checksums = False
        self._lock = lock
        self._secrets: dict[tuple[str, str], _Secret] = {}

    def routes(self) -> list[Route]:
        r = re.compile
        return [
            Route("POST", r(_PARENT + "/secrets"), self._create),
            Route("GET", r(_PARENT + "/secrets"), self._list),
            Route("GET", r(_SECRET), self._get),
            Route("DELETE", r(_SECRET), self._delete),
            Route("POST", r(_SECRET + ":addVersion"), self._add_version),
            Route("GET", r(_SECRET + "/versions"), self._list_versions),
            Route("GET", r(_VERSION), self._get_version),
            Route("GET", r(_VERSION + ":access"), self._access),
            Route("POST", r(_VERSION + ":(?P<action>enable|disable|destroy)"), self._set_state),
        ]

    # -- test helpers (called under the server lock by FakeGcp) --------------------------------

    def set_secret(self, secret_id: str, value: bytes | str, location: str | None) -> int:
        data = value.encode() if isinstance(value, str) else bytes(value)
        with self._lock:
            key = (location or "", secret_id)
            if key not in self._secrets:
                self._secrets[key] = _Secret(self._new_resource(secret_id, location, {}))
            return self._append(self._secrets[key], data, client_checksum=False).number

    def secret_versions(self, secret_id: str, location: str | None) -> list[bytes]:
        with self._lock:
            secret = self._secrets.get((location or "", secret_id))
            return [v.data for v in secret.versions] if secret else []

    # -- handlers ------------------------------------------------------------------------------

    def _create(self, request: Request, m: re.Match[str]) -> Reply:
        self._check_project(m)
        secret_id = request.query.get("secretId", "")
        if not _SECRET_ID.fullmatch(secret_id):
            raise ApiError(400, "secretId must be 1-255 letters, digits, '_' or '-'.", "INVALID_ARGUMENT")
        body = request.json()
        location = m["location"]
        if location is None and not body.get("replication"):
            raise ApiError(400, "Secret.replication must be specified.", "INVALID_ARGUMENT")
        key = (location or "", secret_id)
        if key in self._secrets:
            raise ApiError(409, f"Secret [{self._name(m, secret_id)}] already exists.", "ALREADY_EXISTS")
        secret = _Secret(self._new_resource(secret_id, location, body))
        self._secrets[key] = secret
        return Reply(200, secret.resource)

    def _list(self, request: Request, m: re.Match[str]) -> Reply:
        self._check_project(m)
        location = m["location"] or ""
        found = [s.resource for (loc, _), s in sorted(self._secrets.items()) if loc == location]
        return Reply(200, {"secrets": found, "totalSize": len(found)} if found else {})

    def _get(self, request: Request, m: re.Match[str]) -> Reply:
        return Reply(200, self._secret(m).resource)

    def _delete(self, request: Request, m: re.Match[str]) -> Reply:
        self._secret(m)
        del self._secrets[(m["location"] or "", m["secret"])]
        return Reply(200, {})

    def _add_version(self, request: Request, m: re.Match[str]) -> Reply:
        secret = self._secret(m)
        payload = request.json().get("payload") or {}
        try:
            data = base64.b64decode(str(payload.get("data", "")).replace("-", "+").replace("_", "/"))
        except (binascii.Error, ValueError):
            raise ApiError(400, "payload.data is not valid base64.", "INVALID_ARGUMENT") from None
        if len(data) > _MAX_PAYLOAD:
            raise ApiError(400, "Secret payload exceeds the 65536 byte limit.", "INVALID_ARGUMENT")
        sent = payload.get("dataCrc32c")
        if sent is not None and str(sent) != str(crc32c(data)):
            raise ApiError(
                400,
                "The checksum in field SecretPayload.data_crc32c does not match the payload data.",
                "INVALID_ARGUMENT",
            )
        version = self._append(secret, data, client_checksum=sent is not None)
        return Reply(200, self._version_json(m, version, request))

    def _list_versions(self, request: Request, m: re.Match[str]) -> Reply:
        secret = self._secret(m)
        found = [self._version_json(m, v, request) for v in reversed(secret.versions)]
        return Reply(200, {"versions": found, "totalSize": len(found)} if found else {})

    def _get_version(self, request: Request, m: re.Match[str]) -> Reply:
        return Reply(200, self._version_json(m, self._version(m), request))

    def _access(self, request: Request, m: re.Match[str]) -> Reply:
        version = self._version(m)
        if version.state != "ENABLED":
            raise ApiError(
                400,
                f"{self._name(m, m['secret'])}/versions/{version.number} is in {version.state} state.",
                "FAILED_PRECONDITION",
            )
        checksum = crc32c(version.data)
        if self.corrupt_checksums:
            checksum ^= 0x1
        return Reply(
            200,
            {
                "name": f"{self._name(m, m['secret'])}/versions/{version.number}",
                "payload": {
                    "data": base64.b64encode(version.data).decode("ascii"),
                    "dataCrc32c": str(checksum),
                },
            },
        )

    def _set_state(self, request: Request, m: re.Match[str]) -> Reply:
        version = self._version(m)
        if version.state == "DESTROYED":
            raise ApiError(400, "The version is destroyed.", "FAILED_PRECONDITION")
        version.state = {"enable": "ENABLED", "disable": "DISABLED", "destroy": "DESTROYED"}[m["action"]]
        if version.state == "DESTROYED":
            version.data = b""
        return Reply(200, self._version_json(m, version, request))

    # -- lookups and shapes --------------------------------------------------------------------

    def _check_project(self, m: re.Match[str]) -> None:
        if m["project"] != self.project:
            raise ApiError(
                403,
                f"Permission denied on project {m['project']} (this fake serves {self.project}).",
                "PERMISSION_DENIED",
            )

    def _name(self, m: re.Match[str], secret_id: str) -> str:
        where = f"/locations/{m['location']}" if m["location"] else ""
        return f"projects/{m['project']}{where}/secrets/{secret_id}"

    def _new_resource(self, secret_id: str, location: str | None, body: dict[str, Any]) -> dict[str, Any]:
        where = f"/locations/{location}" if location else ""
        resource: dict[str, Any] = {
            "name": f"projects/{self.project}{where}/secrets/{secret_id}",
            "createTime": rfc3339_now(),
            "etag": '"1"',
        }
        if location is None:
            resource["replication"] = body.get("replication") or {"automatic": {}}
        for key in ("labels", "annotations", "topics", "expireTime", "ttl", "rotation", "versionAliases"):
            if key in body:
                resource[key] = body[key]
        return resource

    def _secret(self, m: re.Match[str]) -> _Secret:
        self._check_project(m)
        secret = self._secrets.get((m["location"] or "", m["secret"]))
        if secret is None:
            raise ApiError(404, f"Secret [{self._name(m, m['secret'])}] not found.", "NOT_FOUND")
        return secret

    def _version(self, m: re.Match[str]) -> _Version:
        secret = self._secret(m)
        wanted = m["version"]
        if wanted == "latest":
            if secret.versions:
                return secret.versions[-1]
        elif not wanted.isdigit():
            raise ApiError(400, f"Invalid version id {wanted!r}.", "INVALID_ARGUMENT")
        elif 1 <= int(wanted) <= len(secret.versions):
            return secret.versions[int(wanted) - 1]
        raise ApiError(
            404, f"Secret Version [{self._name(m, m['secret'])}/versions/{wanted}] not found.", "NOT_FOUND"
        )

    @staticmethod
    def _append(secret: _Secret, data: bytes, *, client_checksum: bool) -> _Version:
        version = _Version(len(secret.versions) + 1, data, rfc3339_now(), client_checksum)
        secret.versions.append(version)
        return version

    def _version_json(self, m: re.Match[str], version: _Version, request: Request) -> dict[str, Any]:
        int_enums = "enum-encoding=int" in request.query.get("$alt", "")
        return {
            "name": f"{self._name(m, m['secret'])}/versions/{version.number}",
            "createTime": version.created,
            "state": _STATES[version.state] if int_enums else version.state,
            "etag": f'"{version.number}"',
            "clientSpecifiedPayloadChecksum": version.client_checksum,
        }
