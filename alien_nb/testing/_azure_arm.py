"""ARM for Microsoft.DBforPostgreSQL flexible servers: servers, parameters, databases, async operations."""

from __future__ import annotations

import copy
import datetime as dt
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from . import _azure_arm_rules as rules
from ._http import ApiError, Reply, Request, Route, deep_merge

_PROVIDER = "Microsoft.DBforPostgreSQL"
_GROUP = r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
_SERVERS = _GROUP + rf"/providers/{re.escape(_PROVIDER)}/flexibleServers"
_SERVER = _SERVERS + r"/(?P<server>[^/]+)"
_OPERATION = (
    rf"/subscriptions/(?P<sub>[^/]+)/providers/{re.escape(_PROVIDER)}"
    r"/locations/(?P<location>[^/]+)/azureAsyncOperation/(?P<operation>[^/]+)"
)
_SERVER_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])")
_DB_NAME = re.compile(r"[-\w._]{1,63}")
_DEFAULT_CONFIGURATIONS = {"azure.extensions": "", "shared_preload_libraries": "pg_cron,pg_stat_statements"}
_INITIAL_DATABASES = ("azure_maintenance", "azure_sys", "postgres")


@dataclass
class _Server:
    resource_group: str
    location: str
    sku: dict[str, Any]
    properties: dict[str, Any]
    tags: dict[str, str]
    configurations: dict[str, dict[str, Any]] = field(default_factory=dict)
    databases: dict[str, dict[str, Any]] = field(default_factory=dict)


class FlexibleServerApi:
    """State and routes of the ARM emulation. Changes apply at once; operations report Succeeded."""

    def __init__(self, subscription: str, lock: threading.RLock, base_url: Callable[[], str]) -> None:
        self.subscription = subscription
        self.operation_polls_before_done = 0
        self._lock = lock
        self._base_url = base_url
        self._servers: dict[str, _Server] = {}
        self._passwords: dict[str, str] = {}
        self._operations: dict[str, dict[str, Any]] = {}
        self._polls_left: dict[str, int] = {}
        self._next_failure: tuple[str, str] | None = None

    def routes(self) -> list[Route]:
        def r(pattern: str) -> re.Pattern[str]:
            return re.compile(pattern, re.IGNORECASE)

        return [
            Route("GET", r(_SERVERS), self._list_servers),
            Route("PUT", r(_SERVER), self._put_server),
            Route("GET", r(_SERVER), self._get_server),
            Route("PATCH", r(_SERVER), self._patch_server),
            Route("DELETE", r(_SERVER), self._delete_server),
            Route("PUT", r(_SERVER + "/configurations/(?P<config>[^/]+)"), self._put_configuration),
            Route("GET", r(_SERVER + "/configurations/(?P<config>[^/]+)"), self._get_configuration),
            Route("GET", r(_SERVER + "/databases"), self._list_databases),
            Route("PUT", r(_SERVER + "/databases/(?P<database>[^/]+)"), self._put_database),
            Route("GET", r(_SERVER + "/databases/(?P<database>[^/]+)"), self._get_database),
            Route("DELETE", r(_SERVER + "/databases/(?P<database>[^/]+)"), self._delete_database),
            Route("GET", r(_OPERATION), self._get_operation),
        ]

    # -- test helpers --------------------------------------------------------------------------

    def fail_next_operation(self, code: str, message: str) -> None:
        with self._lock:
            self._next_failure = (code, message)

    def servers(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: self._server_json(name, s, "Ready") for name, s in self._servers.items()}

    def configurations(self) -> dict[str, dict[str, str]]:
        with self._lock:
            return {n: {k: c["value"] for k, c in s.configurations.items()} for n, s in self._servers.items()}

    def databases(self) -> dict[str, list[str]]:
        with self._lock:
            return {name: sorted(s.databases) for name, s in self._servers.items()}

    def admin_password(self, server: str) -> str | None:
        with self._lock:
            return self._passwords.get(server)

    # -- servers -------------------------------------------------------------------------------

    def _put_server(self, request: Request, m: re.Match[str]) -> Reply:
        self._check_subscription(m)
        name = m["server"]
        if not _SERVER_NAME.fullmatch(name):
            raise ApiError(
                400,
                f"Server name '{name}' must be 3-63 lowercase letters, digits or hyphens, "
                "and not start or end with a hyphen.",
                "InvalidServerName",
            )
        existing = self._servers.get(name)
        if existing is not None:
            if existing.resource_group.lower() != m["rg"].lower():
                raise ApiError(
                    409, f"Specified server name '{name}' is already used.", "ServerNameAlreadyExists"
                )
            return self._update(request, m, existing, status=200)
        body = request.json()
        properties = dict(body.get("properties") or {})
        location = body.get("location")
        if not isinstance(location, str) or not location:
            raise ApiError(400, "The 'location' property is required.", "LocationRequired")
        if properties.get("createMode", "Create") not in ("Create", "Default"):
            raise ApiError(400, f"createMode {properties['createMode']!r} is not supported by this fake.")
        login = properties.get("administratorLogin")
        rules.check_login(login)
        password = properties.pop("administratorLoginPassword", None)
        rules.check_password(password)
        sku = dict(body.get("sku") or {})
        properties.setdefault("version", "16")
        properties.setdefault("storage", {"storageSizeGB": 32})
        properties.setdefault("highAvailability", {"mode": "Disabled"})
        properties.setdefault("network", {"publicNetworkAccess": "Enabled"})
        properties.pop("createMode", None)
        rules.check_server(sku, properties)
        server = _Server(m["rg"], location, sku, properties, dict(body.get("tags") or {}))
        server.databases = {db: {"charset": "UTF8", "collation": "en_US.utf8"} for db in _INITIAL_DATABASES}

        def apply() -> None:
            self._servers[name] = server
            self._passwords[name] = str(password)

        headers = self._operation(request, m, location, apply)
        return Reply(201, self._server_json(name, server, "Provisioning"), headers)

    def _get_server(self, request: Request, m: re.Match[str]) -> Reply:
        return Reply(200, self._server_json(m["server"], self._server(m), "Ready"))

    def _list_servers(self, request: Request, m: re.Match[str]) -> Reply:
        self._check_subscription(m)
        items = [
            self._server_json(name, s, "Ready")
            for name, s in sorted(self._servers.items())
            if s.resource_group.lower() == m["rg"].lower()
        ]
        return Reply(200, {"value": items})

    def _patch_server(self, request: Request, m: re.Match[str]) -> Reply:
        return self._update(request, m, self._server(m), status=202)

    def _update(self, request: Request, m: re.Match[str], server: _Server, *, status: int) -> Reply:
        body = request.json()
        patch = copy.deepcopy(dict(body.get("properties") or {}))
        if patch.pop("createMode", "Update") not in ("Update", "Default", "Create"):
            raise ApiError(400, "createMode must be absent or 'Update' when updating a server.")
        login = patch.pop("administratorLogin", server.properties["administratorLogin"])
        if login != server.properties["administratorLogin"]:
            raise ApiError(400, "The administrator login cannot be changed.", "InvalidParameterValue")
        password = patch.pop("administratorLoginPassword", None)
        if password is not None:
            rules.check_password(password)
        sku = copy.deepcopy(server.sku)
        deep_merge(sku, body.get("sku") or {})
        properties = copy.deepcopy(server.properties)
        deep_merge(properties, patch)
        rules.check_server(sku, properties)
        if int(properties["storage"]["storageSizeGB"]) < int(server.properties["storage"]["storageSizeGB"]):
            raise ApiError(400, "Storage size cannot be decreased.", "InvalidStorageSizeValue")
        if int(properties["version"]) < int(server.properties["version"]):
            raise ApiError(400, "The major version cannot be downgraded.", "InvalidParameterValue")
        tags = dict(body["tags"] or {}) if "tags" in body else server.tags

        def apply() -> None:
            server.sku, server.properties, server.tags = sku, properties, tags
            if password is not None:
                self._passwords[m["server"]] = str(password)

        headers = self._operation(request, m, server.location, apply)
        if status == 200:
            return Reply(200, self._server_json(m["server"], server, "Updating"), headers)
        return Reply(202, None, headers)

    def _delete_server(self, request: Request, m: re.Match[str]) -> Reply:
        self._check_subscription(m)
        server = self._servers.get(m["server"])
        if server is None or server.resource_group.lower() != m["rg"].lower():
            return Reply(204)
        name = m["server"]

        def apply() -> None:
            self._servers.pop(name, None)
            self._passwords.pop(name, None)

        return Reply(202, None, self._operation(request, m, server.location, apply))

    # -- configurations and databases ----------------------------------------------------------

    def _put_configuration(self, request: Request, m: re.Match[str]) -> Reply:
        server = self._server(m)
        properties = request.json().get("properties") or {}
        value = properties.get("value")
        if not isinstance(value, str):
            raise ApiError(400, "properties.value is required and must be a string.", "InvalidParameterValue")
        config = {"value": value, "source": str(properties.get("source", "user-override"))}
        name = m["config"]
        headers = self._operation(
            request, m, server.location, lambda: server.configurations.__setitem__(name, config)
        )
        return Reply(202, self._configuration_json(m, config), headers)

    def _get_configuration(self, request: Request, m: re.Match[str]) -> Reply:
        server = self._server(m)
        config = server.configurations.get(m["config"])
        if config is None:
            if m["config"] not in _DEFAULT_CONFIGURATIONS:
                raise ApiError(404, f"Configuration '{m['config']}' does not exist.", "ResourceNotFound")
            config = {"value": _DEFAULT_CONFIGURATIONS[m["config"]], "source": "system-default"}
        return Reply(200, self._configuration_json(m, config))

    def _put_database(self, request: Request, m: re.Match[str]) -> Reply:
        server = self._server(m)
        name = m["database"]
        if not _DB_NAME.fullmatch(name):
            raise ApiError(400, f"Database name '{name}' is not valid.", "InvalidParameterValue")
        properties = request.json().get("properties") or {}
        database = {
            "charset": str(properties.get("charset", "UTF8")),
            "collation": str(properties.get("collation", "en_US.utf8")),
        }
        headers = self._operation(
            request, m, server.location, lambda: server.databases.__setitem__(name, database)
        )
        return Reply(202, self._database_json(m, name, database), headers)

    def _get_database(self, request: Request, m: re.Match[str]) -> Reply:
        return Reply(200, self._database_json(m, m["database"], self._database(m)))

    def _list_databases(self, request: Request, m: re.Match[str]) -> Reply:
        server = self._server(m)
        return Reply(
            200, {"value": [self._database_json(m, n, d) for n, d in sorted(server.databases.items())]}
        )

    def _delete_database(self, request: Request, m: re.Match[str]) -> Reply:
        server = self._server(m)
        if m["database"] not in server.databases:
            return Reply(204)
        name = m["database"]
        return Reply(
            202, None, self._operation(request, m, server.location, lambda: server.databases.pop(name, None))
        )

    def _database(self, m: re.Match[str]) -> dict[str, Any]:
        database = self._server(m).databases.get(m["database"])
        if database is None:
            raise ApiError(404, f"Database '{m['database']}' was not found.", "ResourceNotFound")
        return database

    # -- async operations ----------------------------------------------------------------------

    def _operation(
        self, request: Request, m: re.Match[str], location: str, apply: Callable[[], object]
    ) -> dict[str, str]:
        op_id = str(uuid.uuid4())
        op: dict[str, Any] = {"name": op_id, "status": "Succeeded", "startTime": _now(), "endTime": _now()}
        if self._next_failure is not None:
            code, message = self._next_failure
            self._next_failure = None
            op["status"] = "Failed"
            op["error"] = {"code": code, "message": message}
        else:
            apply()
        self._operations[op_id] = op
        self._polls_left[op_id] = self.operation_polls_before_done
        api_version = quote(request.query.get("api-version", "2024-08-01"), safe="")
        loc = quote(location.replace(" ", "").lower(), safe="")
        url = (
            f"{self._base_url()}/subscriptions/{m['sub']}/providers/{_PROVIDER}/locations/{loc}"
            f"/azureAsyncOperation/{op_id}?api-version={api_version}"
        )
        return {"Azure-AsyncOperation": url, "Retry-After": "0"}

    def _get_operation(self, request: Request, m: re.Match[str]) -> Reply:
        self._check_subscription(m)
        op = self._operations.get(m["operation"])
        if op is None:
            raise ApiError(404, f"Operation {m['operation']} was not found.", "ResourceNotFound")
        left = self._polls_left.get(m["operation"], 0)
        if left > 0:
            self._polls_left[m["operation"]] = left - 1
            return Reply(200, {"name": op["name"], "status": "InProgress", "startTime": op["startTime"]})
        return Reply(200, copy.deepcopy(op))

    # -- lookups and shapes --------------------------------------------------------------------

    def _check_subscription(self, m: re.Match[str]) -> None:
        if m["sub"] != self.subscription:
            raise ApiError(404, f"The subscription '{m['sub']}' could not be found.", "SubscriptionNotFound")

    def _server(self, m: re.Match[str]) -> _Server:
        self._check_subscription(m)
        server = self._servers.get(m["server"])
        if server is None or server.resource_group.lower() != m["rg"].lower():
            raise ApiError(
                404,
                f"The Resource '{_PROVIDER}/flexibleServers/{m['server']}' under resource group "
                f"'{m['rg']}' was not found.",
                "ResourceNotFound",
            )
        return server

    def _server_id(self, name: str, server: _Server) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{server.resource_group}"
            f"/providers/{_PROVIDER}/flexibleServers/{name}"
        )

    def _server_json(self, name: str, server: _Server, state: str) -> dict[str, Any]:
        properties = copy.deepcopy(server.properties)
        ha = properties.setdefault("highAvailability", {"mode": "Disabled"})
        ha["state"] = "NotEnabled" if ha.get("mode", "Disabled") == "Disabled" else "Healthy"
        properties.update(
            state=state,
            fullyQualifiedDomainName=f"{name}.postgres.database.azure.com",
            minorVersion="4",
        )
        return {
            "id": self._server_id(name, server),
            "name": name,
            "type": f"{_PROVIDER}/flexibleServers",
            "location": server.location,
            "sku": copy.deepcopy(server.sku),
            "tags": dict(server.tags),
            "properties": properties,
        }

    def _configuration_json(self, m: re.Match[str], config: dict[str, Any]) -> dict[str, Any]:
        server_id = self._server_id(m["server"], self._server(m))
        return {
            "id": f"{server_id}/configurations/{m['config']}",
            "name": m["config"],
            "type": f"{_PROVIDER}/flexibleServers/configurations",
            "properties": {
                "value": config["value"],
                "source": config["source"],
                "defaultValue": _DEFAULT_CONFIGURATIONS.get(m["config"], ""),
                "dataType": "String",
                "isDynamicConfig": True,
                "isReadOnly": False,
                "isConfigPendingRestart": False,
            },
        }

    def _database_json(self, m: re.Match[str], name: str, database: dict[str, Any]) -> dict[str, Any]:
        server_id = self._server_id(m["server"], self._server(m))
        return {
            "id": f"{server_id}/databases/{name}",
            "name": name,
            "type": f"{_PROVIDER}/flexibleServers/databases",
            "properties": dict(database),
        }


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")
