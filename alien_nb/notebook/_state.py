"""The one state object the extension owns: databases, the redactor, the controller."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core import AlienError, PostgresBinding, Redactor, binding_env_var, parse_binding
from ..core._bindings import MAX_BINDING_BYTES
from ._database import Database

Printer = Callable[[str], None]


class NotebookState:
    #: Seconds a local handle waits for a crashed server's restart before its next connection fails.
    restart_wait = 20.0

    def __init__(
        self, *, redactor: Redactor | None = None, printer: Printer = print, home: str | None = None
    ) -> None:
        self.redactor = redactor if redactor is not None else Redactor()
        self.databases: dict[str, Database] = {}
        self.current: str | None = None
        self._print = printer
        self._home = home
        self._controller: Any = None

    @property
    def controller(self) -> Any:
        if self._controller is None:
            from ..controllers import LocalPostgresController
            from ..local import LocalPostgresManager
            from ..local._home import check_home

            manager = LocalPostgresManager(self._home, notify=self._print)
            # A home that is /dev/null or a file: one clear error, not "no databases" or a raw OSError.
            check_home(manager.home, create=False)
            self._controller = LocalPostgresController(manager)
        return self._controller

    def writable_manager(self) -> Any:
        """The local manager, once its home is known to take new databases."""
        from ..local._home import check_home

        manager = self.controller.manager
        check_home(manager.home, create=True)
        return manager

    # -- getting a database ---------------------------------------------------

    def start(self, name: str, version: str | None = None, *, show_progress: bool = True) -> Database:
        started = time.perf_counter()
        bar = _StartProgress(name) if show_progress else None
        try:
            binding = self.writable_manager().start(name, version, progress=bar.step if bar else None)
        finally:
            if bar is not None:
                bar.close()
        db = self._register(name, binding, backend="local")
        from ..local._metadata import read_metadata

        # The version as recorded: a full status (disk usage, two test logins) would triple an attach.
        version = read_metadata(self.controller.manager.paths(name).metadata).version
        elapsed = time.perf_counter() - started
        self._print(
            f"{name}: running on {binding.host}:{binding.port} (PostgreSQL {version}, pgvector) "
            f"in {elapsed:.1f} s"
        )
        return db

    def attach(
        self,
        name: str,
        *,
        binding_env: str | None = None,
        binding_file: str | None = None,
        binding: PostgresBinding | None = None,
    ) -> Database:
        if binding is None:
            binding = self._read_binding(name, binding_env, binding_file)
        return self._register(name, binding, backend=binding.service, check=True)

    # -- cloud ----------------------------------------------------------------

    def cloud_controller(self, backend: str, *, region: str | None = None) -> Any:
        from ..controllers import cloud_controller
        from ..resolver import default_settings

        return cloud_controller(
            backend,
            region=region,
            settings=default_settings(),
            notify=self._print,
            on_secret=self.redactor.add,
        )

    def create_cloud(self, resource: Any, backend: str, *, region: str | None = None) -> Database:
        controller = self.cloud_controller(backend, region=region)
        started = time.perf_counter()
        binding = controller.create(resource)
        controller.wait_ready(resource.id, on_wait=lambda message: self._print(f"{resource.id}: {message}"))
        db = self._register(resource.id, binding, backend=binding.service)
        self._print(f"{resource.id}: {backend} ready in {time.perf_counter() - started:.0f} s ({db.url})")
        from ..core import ConnectionFailed

        try:
            with db.connection.cursor() as cur:
                cur.execute("SELECT 1")
        except ConnectionFailed as exc:
            # Managed endpoints are private: unreachable from here is normal, not a failed create.
            self._print(
                f"{resource.id}: created, but not reachable from this machine yet ({exc.reason}).\n"
                f"  Reach {binding.dial_host} from inside its network, or through a tunnel: "
                f"alien_nb.resolver.set_default_settings(CloudSettings(dial={{{binding.dial_host!r}: "
                "'127.0.0.1:LOCAL_PORT'}))"
            )
        return db

    def _read_binding(self, name: str, env: str | None, file: str | None) -> PostgresBinding:
        if file is not None:
            path = Path(file).expanduser()
            try:
                with path.open("rb") as f:  # bounded: the "file" may be /dev/zero or a FIFO
                    data = f.read(MAX_BINDING_BYTES + 1)
            except OSError as exc:
                raise AlienError(
                    f"Cannot read binding file {path}: {exc.strerror or 'not a readable file'}.",
                    hint="Give the path of a JSON file you can read (--binding-file), "
                    f"or set {binding_env_var(name)} instead.",
                ) from None
            return parse_binding(data, name=name, variable=str(path))
        variable = env or binding_env_var(name)
        text_or_none = os.environ.get(variable)
        if text_or_none is None:
            from ..core import BindingNotConfigured

            raise BindingNotConfigured(name, variable)
        return parse_binding(text_or_none, name=name, variable=variable)

    def _register(
        self, name: str, binding: PostgresBinding, *, backend: str, check: bool = False
    ) -> Database:
        """Make the handle for ``binding`` and put it in place of any handle of that name.

        With ``check`` the new handle must answer ``SELECT 1`` first: a failed
        attach leaves a working handle of the same name bound and open.
        """
        from ..resolver import default_settings, resolver_for

        resolver = resolver_for(default_settings())
        if backend == "local":
            # Re-read from metadata at each new connection: the server may move to another port.
            from ._database import local_connection

            manager = self.controller.manager
            db = Database(
                name,
                local_connection(manager, name),
                backend=backend,
                redactor=self.redactor,
                refresh=lambda: local_connection(manager, name, wait=self.restart_wait, report=self._print),
                peek=lambda: local_connection(manager, name),
            )
        elif binding.inline_password is not None:
            # Through the resolver too, for its settings (dial, ca_roots["external"]).
            db = Database(name, resolver.resolve(binding, name=name), backend=backend, redactor=self.redactor)
        else:
            db = Database(
                name,
                resolver.resolve(binding, name=name),
                backend=backend,
                redactor=self.redactor,
                refresh=lambda: resolver.resolve(binding, name=name),
            )
        db.report = self._print
        if check:
            try:
                with db.connection.cursor() as cur:  # fail now, with a clear error, if it is unreachable
                    cur.execute("SELECT 1")
            except BaseException:
                db.close()
                raise
        old = self.databases.pop(name, None)
        if old is not None and old is not db:
            old.close()
        self.databases[name] = db
        self.current = name
        return db

    def database(self, name: str | None) -> Database:
        key = name or self.current
        if key is None:
            raise AlienError(
                "No database yet in this notebook.",
                hint="Run `%alien_postgres start NAME` or `%alien_postgres attach NAME` first.",
            )
        if key not in self.databases:
            if name is not None and self._is_local(name):
                return self.start(name, show_progress=False)
            raise AlienError(
                f"No database {key!r} in this notebook.",
                hint=f"Start it with `%alien_postgres start {key}`; "
                f"known here: {', '.join(self.databases) or 'none'}.",
            )
        return self.databases[key]

    def _is_local(self, name: str) -> bool:
        try:
            return self.controller.manager.paths(name).metadata.exists()
        except AlienError:
            return False

    def forget(self, name: str) -> None:
        db = self.databases.pop(name, None)
        if db is not None:
            db.close()
        if self.current == name:
            self.current = next(iter(self.databases), None)

    def close(self) -> None:
        for name in list(self.databases):
            self.forget(name)
        if self._controller is not None:
            self._controller.manager.close()

    def statuses_json(self) -> str:
        return json.dumps([s.to_dict() for s in self.controller.manager.list()], indent=2)


class _StartProgress:
    """A progress bar over the start steps; shown only if the start takes a moment, and someone watches."""

    _STEPS = ("init", "start", "bootstrap")

    def __init__(self, name: str) -> None:
        from ..core._progress import Progress

        self._bar = Progress(len(self._STEPS), f"starting {name}", delay=0.3)
        self._done = 0

    def step(self, name: str) -> None:
        target = self._STEPS.index(name) if name in self._STEPS else self._done
        self._done = max(target, self._done)
        self._bar.show(self._done, name)  # not tqdm's set_postfix_str: that draws before the delay

    def close(self, *, complete: bool = True) -> None:
        self._bar.close(complete=complete)
