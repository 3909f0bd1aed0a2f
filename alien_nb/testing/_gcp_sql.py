"""Cloud SQL Admin API v1 REST (instances, operations, users, databases) for PostgreSQL."""

from __future__ import annotations

import copy
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import _gcp_sql_rules as rules
from ._http import ApiError, Reply, Request, Route, deep_merge, rfc3339_now

# v1 is what alien_nb calls; v1beta4 (same shapes, ``/sql/v1beta4`` prefix) is what discovery clients use.
_PROJECT = r"/(?:v1|sql/v1beta4)/projects/(?P<project>[^/]+)"
_INSTANCE = _PROJECT + r"/instances/(?P<instance>[^/]+)"
_INSTANCE_NAME = re.compile(r"[a-z](?:[a-z0-9-]{0,96}[a-z0-9])?")
_STORED_KEYS = ("name", "databaseVersion", "region", "settings", "labels", "instanceType", "gceZone")


@dataclass
class _Instance:
    data: dict[str, Any]
    created: str
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    databases: dict[str, dict[str, Any]] = field(default_factory=dict)


class CloudSqlApi:
    """State and routes of the Cloud SQL Admin emulation. Every operation is DONE at once."""

    def __init__(
        self,
        project: str,
        lock: threading.RLock,
        base_url: Callable[[], str],
        *,
        private_ip: str,
        server_ca_pem: str | None,
    ) -> None:
        self.project = project
        self.private_ip = private_ip
        self.server_ca_pem = server_ca_pem
        self.operation_polls_before_done = 0
        self._lock = lock
        self._base_url = base_url
        self._instances: dict[str, _Instance] = {}
        self._operations: dict[str, dict[str, Any]] = {}
        self._polls_left: dict[str, int] = {}
        self._next_failure: tuple[str, str] | None = None

    def routes(self) -> list[Route]:
        r = re.compile
        return [
            Route("POST", r(_PROJECT + "/instances"), self._create),
            Route("GET", r(_PROJECT + "/instances"), self._list),
            Route("GET", r(_INSTANCE), self._get),
            Route("PATCH", r(_INSTANCE), self._patch),
            Route("DELETE", r(_INSTANCE), self._delete),
            Route("GET", r(_PROJECT + "/operations"), self._list_operations),
            Route("GET", r(_PROJECT + "/operations/(?P<operation>[^/]+)"), self._get_operation),
            Route("POST", r(_INSTANCE + "/users"), self._create_user),
            Route("PUT", r(_INSTANCE + "/users"), self._update_user),
            Route("DELETE", r(_INSTANCE + "/users"), self._delete_user),
            Route("GET", r(_INSTANCE + "/users"), self._list_users),
            Route("GET", r(_INSTANCE + "/users/(?P<user>[^/]+)"), self._get_user),
            Route("POST", r(_INSTANCE + "/databases"), self._create_database),
            Route("GET", r(_INSTANCE + "/databases"), self._list_databases),
            Route("GET", r(_INSTANCE + "/databases/(?P<database>[^/]+)"), self._get_database),
            Route("DELETE", r(_INSTANCE + "/databases/(?P<database>[^/]+)"), self._delete_database),
        ]

    # -- test helpers --------------------------------------------------------------------------

    def fail_next_operation(self, code: str, message: str) -> None:
        with self._lock:
            self._next_failure = (code, message)

    def instances(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: self._instance_json(inst) for name, inst in self._instances.items()}

    def users(self, instance: str) -> list[str]:
        with self._lock:
            return sorted(self._existing(instance).users)

    def databases(self, instance: str) -> list[str]:
        with self._lock:
            return sorted(self._existing(instance).databases)

    def user_password(self, instance: str, user: str) -> str | None:
        with self._lock:
            return self._existing(instance).passwords.get(user)

    def operations(self) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(op) for op in self._operations.values()]

    # -- instances -----------------------------------------------------------------------------

    def _create(self, request: Request, m: re.Match[str]) -> Reply:
        self._check_project(m)
        body = request.json()
        name = str(body.get("name", ""))
        if not _INSTANCE_NAME.fullmatch(name):
            raise ApiError(
                400,
                "Invalid request: instance name must be 1-98 lowercase letters, digits or hyphens, "
                "start with a letter and not end with a hyphen.",
            )
        rules.check_version(body.get("databaseVersion"))
        settings = body.get("settings")
        if not isinstance(settings, dict) or not settings.get("tier"):
            raise ApiError(400, "Invalid request: settings.tier is required.")
        rules.check_settings(settings)
        if name in self._instances:
            raise ApiError(409, "The Cloud SQL instance already exists.", "ALREADY_EXISTS")
        data: dict[str, Any] = {k: copy.deepcopy(body[k]) for k in _STORED_KEYS if k in body}
        data.setdefault("region", "us-central1")
        stored = data["settings"]
        stored["settingsVersion"] = "1"
        stored.setdefault("availabilityType", "ZONAL")
        stored.setdefault("dataDiskType", "PD_SSD")
        stored.setdefault("activationPolicy", "ALWAYS")
        stored.setdefault("ipConfiguration", {"ipv4Enabled": True})
        stored["dataDiskSizeGb"] = str(stored.get("dataDiskSizeGb", 10))
        instance = _Instance(data, rfc3339_now())
        instance.users["postgres"] = {"name": "postgres", "host": "", "type": "BUILT_IN"}
        if body.get("rootPassword"):
            instance.passwords["postgres"] = str(body["rootPassword"])
        instance.databases["postgres"] = {"name": "postgres", "charset": "UTF8", "collation": "en_US.UTF8"}
        return self._operation(m, "CREATE", name, lambda: self._instances.__setitem__(name, instance))

    def _list(self, request: Request, m: re.Match[str]) -> Reply:
        self._check_project(m)
        items = [self._instance_json(i) for _, i in sorted(self._instances.items())]
        return Reply(
            200, {"kind": "sql#instancesList", "items": items} if items else {"kind": "sql#instancesList"}
        )

    def _get(self, request: Request, m: re.Match[str]) -> Reply:
        return Reply(200, self._instance_json(self._instance(m)))

    def _patch(self, request: Request, m: re.Match[str]) -> Reply:
        instance = self._instance(m)
        body = request.json()
        if body.get("name", instance.data["name"]) != instance.data["name"]:
            raise ApiError(400, "Invalid request: the instance name cannot be changed.")
        current = instance.data["settings"]
        settings = body.get("settings") or {}
        if not isinstance(settings, dict):
            raise ApiError(400, "Invalid request: settings must be an object.")
        expected = settings.get("settingsVersion")
        if expected is not None and str(expected) != current["settingsVersion"]:
            raise ApiError(412, "Precondition check failed: settingsVersion is stale.", "FAILED_PRECONDITION")
        merged = copy.deepcopy(current)
        deep_merge(merged, {k: v for k, v in settings.items() if k != "settingsVersion"})
        rules.check_settings(merged)
        if int(merged.get("dataDiskSizeGb", 0)) < int(current["dataDiskSizeGb"]):
            raise ApiError(400, "Invalid request: the disk size cannot be decreased.")
        merged["dataDiskSizeGb"] = str(merged["dataDiskSizeGb"])
        merged["settingsVersion"] = str(int(current["settingsVersion"]) + 1)
        version = instance.data["databaseVersion"]
        if "databaseVersion" in body:
            version = rules.check_version(body["databaseVersion"])
            if rules.major(version) < rules.major(instance.data["databaseVersion"]):
                raise ApiError(400, "Invalid request: the database major version cannot be downgraded.")

        def apply() -> None:
            instance.data["settings"] = merged
            instance.data["databaseVersion"] = version

        return self._operation(m, "UPDATE", instance.data["name"], apply)

    def _delete(self, request: Request, m: re.Match[str]) -> Reply:
        name = self._instance(m).data["name"]
        return self._operation(m, "DELETE", name, lambda: self._instances.pop(name, None))

    # -- operations ----------------------------------------------------------------------------

    def _operation(self, m: re.Match[str], kind: str, target: str, apply: Callable[[], object]) -> Reply:
        op_id = str(uuid.uuid4())
        project = m["project"]
        now = rfc3339_now()
        prefix = m[0].split("/projects/")[0]
        op: dict[str, Any] = {
            "kind": "sql#operation",
            "name": op_id,
            "status": "DONE",
            "operationType": kind,
            "targetId": target,
            "targetProject": project,
            "targetLink": f"{self._base_url()}{prefix}/projects/{project}/instances/{target}",
            "selfLink": f"{self._base_url()}{prefix}/projects/{project}/operations/{op_id}",
            "user": f"alien-nb-test@{project}.iam.gserviceaccount.com",
            "insertTime": now,
            "startTime": now,
            "endTime": now,
        }
        if self._next_failure is not None:
            code, message = self._next_failure
            self._next_failure = None
            op["error"] = {
                "kind": "sql#operationErrors",
                "errors": [{"kind": "sql#operationError", "code": code, "message": message}],
            }
        else:
            apply()
        self._operations[op_id] = op
        self._polls_left[op_id] = self.operation_polls_before_done
        return Reply(200, self._operation_view(op_id, poll=False))

    def _operation_view(self, op_id: str, *, poll: bool) -> dict[str, Any]:
        view = copy.deepcopy(self._operations[op_id])
        left = self._polls_left.get(op_id, 0)
        if left > 0:
            view["status"] = "RUNNING" if poll else "PENDING"
            view.pop("endTime", None)
            view.pop("error", None)
            if poll:
                self._polls_left[op_id] = left - 1
        return view

    def _get_operation(self, request: Request, m: re.Match[str]) -> Reply:
        self._check_project(m)
        if m["operation"] not in self._operations:
            raise ApiError(404, f"The operation {m['operation']} does not exist.", "NOT_FOUND")
        return Reply(200, self._operation_view(m["operation"], poll=True))

    def _list_operations(self, request: Request, m: re.Match[str]) -> Reply:
        self._check_project(m)
        wanted = request.query.get("instance")
        items = [
            self._operation_view(op_id, poll=False)
            for op_id, op in reversed(self._operations.items())
            if wanted is None or op["targetId"] == wanted
        ]
        return Reply(200, {"kind": "sql#operationsList", "items": items})

    # -- users ---------------------------------------------------------------------------------

    def _create_user(self, request: Request, m: re.Match[str]) -> Reply:
        instance = self._instance(m)
        body = request.json()
        name = rules.identifier(body.get("name"), "user")
        if name in instance.users:
            raise ApiError(409, f"User {name!r} already exists.", "ALREADY_EXISTS")
        user = {"name": name, "host": str(body.get("host", "")), "type": str(body.get("type", "BUILT_IN"))}
        password = body.get("password")

        def apply() -> None:
            instance.users[name] = user
            if password is not None:
                instance.passwords[name] = str(password)

        return self._operation(m, "CREATE_USER", instance.data["name"], apply)

    def _update_user(self, request: Request, m: re.Match[str]) -> Reply:
        instance = self._instance(m)
        name = request.query.get("name", "")
        if name not in instance.users:
            raise ApiError(404, f"User {name!r} does not exist.", "NOT_FOUND")
        password = request.json().get("password")

        def apply() -> None:
            if password is not None:
                instance.passwords[name] = str(password)

        return self._operation(m, "UPDATE_USER", instance.data["name"], apply)

    def _delete_user(self, request: Request, m: re.Match[str]) -> Reply:
        instance = self._instance(m)
        name = request.query.get("name", "")
        if name not in instance.users:
            raise ApiError(404, f"User {name!r} does not exist.", "NOT_FOUND")

        def apply() -> None:
            instance.users.pop(name, None)
            instance.passwords.pop(name, None)

        return self._operation(m, "DELETE_USER", instance.data["name"], apply)

    def _list_users(self, request: Request, m: re.Match[str]) -> Reply:
        instance = self._instance(m)
        items = [self._user_json(m, u) for _, u in sorted(instance.users.items())]
        return Reply(200, {"kind": "sql#usersList", "items": items})

    def _get_user(self, request: Request, m: re.Match[str]) -> Reply:
        instance = self._instance(m)
        user = instance.users.get(m["user"])
        if user is None:
            raise ApiError(404, f"User {m['user']!r} does not exist.", "NOT_FOUND")
        return Reply(200, self._user_json(m, user))

    def _user_json(self, m: re.Match[str], user: dict[str, Any]) -> dict[str, Any]:
        return {"kind": "sql#user", **user, "instance": m["instance"], "project": m["project"]}

    # -- databases -----------------------------------------------------------------------------

    def _create_database(self, request: Request, m: re.Match[str]) -> Reply:
        instance = self._instance(m)
        body = request.json()
        name = rules.identifier(body.get("name"), "database")
        if name in instance.databases:
            raise ApiError(409, f"Database {name!r} already exists.", "ALREADY_EXISTS")
        database = {
            "name": name,
            "charset": str(body.get("charset", "UTF8")),
            "collation": str(body.get("collation", "en_US.UTF8")),
        }
        return self._operation(
            m,
            "CREATE_DATABASE",
            instance.data["name"],
            lambda: instance.databases.__setitem__(name, database),
        )

    def _list_databases(self, request: Request, m: re.Match[str]) -> Reply:
        instance = self._instance(m)
        items = [self._database_json(m, d) for _, d in sorted(instance.databases.items())]
        return Reply(200, {"kind": "sql#databasesList", "items": items})

    def _get_database(self, request: Request, m: re.Match[str]) -> Reply:
        return Reply(200, self._database_json(m, self._database(m)))

    def _delete_database(self, request: Request, m: re.Match[str]) -> Reply:
        instance = self._instance(m)
        name = self._database(m)["name"]
        return self._operation(
            m, "DELETE_DATABASE", instance.data["name"], lambda: instance.databases.pop(name, None)
        )

    def _database(self, m: re.Match[str]) -> dict[str, Any]:
        database = self._instance(m).databases.get(m["database"])
        if database is None:
            raise ApiError(404, f"Database {m['database']!r} does not exist.", "NOT_FOUND")
        return database

    def _database_json(self, m: re.Match[str], database: dict[str, Any]) -> dict[str, Any]:
        return {"kind": "sql#database", **database, "instance": m["instance"], "project": m["project"]}

    # -- lookups and shapes --------------------------------------------------------------------

    def _check_project(self, m: re.Match[str]) -> None:
        if m["project"] != self.project:
            raise ApiError(
                403,
                f"The client is not authorized to make this request (project {m['project']}; "
                f"this fake serves {self.project}).",
                "PERMISSION_DENIED",
            )

    def _instance(self, m: re.Match[str]) -> _Instance:
        self._check_project(m)
        instance = self._instances.get(m["instance"])
        if instance is None:
            raise ApiError(404, "The Cloud SQL instance does not exist.", "NOT_FOUND")
        return instance

    def _existing(self, name: str) -> _Instance:
        if name not in self._instances:
            raise KeyError(f"no Cloud SQL instance {name!r} in the fake")
        return self._instances[name]

    def _instance_json(self, instance: _Instance) -> dict[str, Any]:
        data = copy.deepcopy(instance.data)
        name, region = data["name"], data["region"]
        view: dict[str, Any] = {
            "kind": "sql#instance",
            **data,
            "project": self.project,
            "state": "RUNNABLE",
            "backendType": "SECOND_GEN",
            "instanceType": data.get("instanceType", "CLOUD_SQL_INSTANCE"),
            "connectionName": f"{self.project}:{region}:{name}",
            "databaseInstalledVersion": f"{data['databaseVersion']}_1",
            "gceZone": data.get("gceZone", f"{region}-a"),
            "ipAddresses": [{"type": "PRIVATE", "ipAddress": self.private_ip}],
            "createTime": instance.created,
            "selfLink": f"{self._base_url()}/v1/projects/{self.project}/instances/{name}",
        }
        if data["settings"].get("availabilityType") == "REGIONAL":
            view["secondaryGceZone"] = f"{region}-b"
        if self.server_ca_pem is not None:
            view["serverCaCert"] = {
                "kind": "sql#sslCert",
                "cert": self.server_ca_pem,
                "instance": name,
                "commonName": "C=US,O=Google\\, Inc,CN=Google Cloud SQL Server CA",
            }
        return view
