"""The one state object the extension owns: databases, the redactor, the controllers.

The magics and the panel get and drop databases through it only; it talks
to the controllers' public interface only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..core import AlienError, Postgres, PostgresBinding, Redactor, binding_env_var, parse_binding
from ..core._backends import LOCAL
from ..core._bindings import MAX_BINDING_BYTES
from ._database import Database

if TYPE_CHECKING:
    from ..controllers import CloudPostgresController, LocalPostgresController
    from ..local import LocalStart
    from ..resolver import ConnectionDetails

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
        self._controller: LocalPostgresController | None = None

    @property
    def controller(self) -> LocalPostgresController:
        """The local controller; a home that is /dev/null or a file is one clear error, not "no databases"."""
        if self._controller is None:
            from ..controllers import LocalPostgresController

            self._controller = LocalPostgresController.at(self._home, notify=self._print)
        return self._controller

    # -- getting a database ---------------------------------------------------

    def start(self, name: str, version: str | None = None, *, show_progress: bool = True) -> Database:
        """Start (or attach to) local database ``name``, with a progress bar and one line saying where."""
        started = time.perf_counter()
        from ..core._progress import Progress

        bar = Progress(len(START_STAGES), f"starting {name}", enabled=show_progress, delay=0.3)
        with bar:
            db, start = self.start_local(name, version, progress=bar.stages(START_STAGES))
        elapsed = time.perf_counter() - started
        self._print(
            f"{name}: running on {start.binding.host}:{start.binding.port} (PostgreSQL {start.version}, "
            f"pgvector) in {elapsed:.1f} s"
        )
        return db

    def start_local(
        self, name: str, version: str | None = None, *, progress: Callable[[str], None] | None = None
    ) -> tuple[Database, LocalStart]:
        """`start` without its display: the handle, and what the controller started."""
        controller = self.controller
        controller.check_home(create=True)
        start = controller.launch(name, version, progress=progress)
        return self._register(name, start.binding, backend=LOCAL), start

    def attach(
        self,
        name: str,
        *,
        binding_env: str | None = None,
        binding_file: str | None = None,
        binding: PostgresBinding | None = None,
    ) -> Database:
        """A handle for ``binding`` (or the one in ``binding_env`` / ``binding_file``), checked with
        ``SELECT 1`` before it replaces a handle of that name."""
        if binding is None:
            binding = self._read_binding(name, binding_env, binding_file)
        return self._register(name, binding, backend=binding.service, check=True)

    # -- cloud ----------------------------------------------------------------

    def cloud_controller(self, backend: str, *, region: str | None = None) -> CloudPostgresController:
        from ..controllers import cloud_controller
        from ..resolver import default_settings

        return cloud_controller(
            backend,
            region=region,
            settings=default_settings(),
            notify=self._print,
            on_secret=self.redactor.add,
        )

    def create_cloud(self, resource: Postgres, backend: str, *, region: str | None = None) -> Database:
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
        if backend == LOCAL:
            # Re-read from metadata at each new connection: the server may move to another port.
            controller = self.controller
            db = Database(
                name,
                _local_details(controller, name),
                backend=backend,
                redactor=self.redactor,
                refresh=lambda: _local_details(controller, name, wait=self.restart_wait, report=self._print),
                peek=lambda: _local_details(controller, name),
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
            return self.controller.exists(name)
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
            self._controller.close()


def _local_details(
    controller: LocalPostgresController, name: str, *, wait: float = 0.0, report: Printer | None = None
) -> ConnectionDetails:
    """The connection details of local database ``name`` now (see `LocalPostgresController.endpoint`)."""
    from ..resolver._connection import connection_for

    endpoint = controller.endpoint(name, wait=wait, report=report)
    password = endpoint.binding.inline_password
    assert password is not None, "local bindings carry their password"
    socket_dir = None if endpoint.socket_dir is None else str(endpoint.socket_dir)
    return connection_for(endpoint.binding, password, socket_dir=socket_dir)


#: What the local controller reports as it starts a database, in order.
START_STAGES = ("init", "start", "bootstrap")
