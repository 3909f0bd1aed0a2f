"""LocalPostgresManager: init, start, attach, stop and delete embedded servers.

Lifecycle of one database, each step a small method::

    start(id)
      ├─ lock                     one starter per database, across processes
      ├─ _load_or_create_metadata metadata.json: written once, 0600
      ├─ _running_server          already up (this or another process)? attach
      ├─ _init_cluster            initdb, only when the data dir is new or empty
      ├─ _pick_port               the kept port, or a new one if it is taken
      ├─ _spawn + _wait_ready     postgres -D data, polled via postmaster.pid
      └─ _bootstrap               CREATE DATABASE id; CREATE EXTENSION vector
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from pydantic import SecretStr

from ..core import InvalidResource, InvalidResourceUpdate, LocalPostgresBinding, Postgres
from ..core._environ import WorkerEnv
from ._account import ServerAccount, make_traversable, resolve_server_account
from ._errors import (
    DatabaseNotFound,
    DataDirInvalid,
    InitFailed,
    MetadataInvalid,
    StartFailed,
    StopFailed,
)
from ._installations import Installation, find_installation
from ._layout import DatabasePaths, default_home, dir_size
from ._lock import database_lock
from ._metadata import HOST, USERNAME, Metadata, MetadataProblem, new_password, read_metadata, write_metadata
from ._ports import free_loopback_port, port_is_free
from ._postmaster import is_postgres_process, is_zombie, read_postmaster_pid
from ._settings import render_conf, server_settings
from ._state import read_state, write_state
from ._status import LocalStatus

logger = logging.getLogger("alien_nb.local")

Notify = Callable[[str], None]


def _print_notice(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# Servers this process started, so their exit status can be collected: an
# unreaped postmaster stays a zombie whose pid blocks the restart. Kept for
# the life of the process, since the servers outlive any one manager.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
_CHILDREN_LOCK = threading.Lock()


def _reap_children() -> None:
    with _CHILDREN_LOCK:
        for pid, process in list(_CHILDREN.items()):
            if process.poll() is not None:
                del _CHILDREN[pid]


_PORT_IN_USE = ("could not bind", "Address already in use", "could not create any TCP/IP sockets")


class LocalPostgresManager:
    """Embedded PostgreSQL servers with pgvector, kept under ``home``.

    >>> manager = LocalPostgresManager()
    >>> binding = manager.start("vec-db")       # init, start, or attach
    >>> manager.status("vec-db").lifecycle
    'running'

    Servers outlive the process that started them; `stop` ends them. As
    root, servers run under an unprivileged account (``server_user``,
    ``$ALIEN_NB_SERVER_USER``, or ``alien-nb``, created if missing).
    ``notify`` receives one-line notices (account created, port changed,
    server restarted); by default they go to stderr.
    """

    def __init__(
        self,
        home: Path | str | None = None,
        *,
        server_user: str | None = None,
        notify: Notify | None = None,
        monitor: bool = True,
        monitor_interval: float = 1.0,
        start_timeout: float = 60.0,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.home = Path(home).expanduser().absolute() if home is not None else default_home()
        self._server_user = server_user
        self._notify = notify if notify is not None else _print_notice
        self._monitor_enabled = monitor
        self._start_timeout = start_timeout
        self._settings_overrides = dict(settings or {})
        self._monitor_interval = monitor_interval
        self._account: ServerAccount | None = None
        self._monitor: object | None = None

    def __repr__(self) -> str:
        return f"<LocalPostgresManager home={str(self.home)!r}>"

    def close(self) -> None:
        """Stop this manager's monitor thread; the servers keep running."""
        monitor, self._monitor = self._monitor, None
        if monitor is not None:
            monitor.stop()  # type: ignore[attr-defined]

    # -- public API -----------------------------------------------------------

    def start(
        self, id: str, version: str | None = None, *, progress: Callable[[str], None] | None = None
    ) -> LocalPostgresBinding:
        """Start database ``id`` (init, start, or attach) and return its full binding.

        Idempotent and safe to call from many processes at once. ``version``
        is a major version; unset means the bundled one for a new database
        and the recorded one for an existing database.

        Raise `InvalidResource` for a bad id, `InvalidResourceUpdate` for a
        version change, `MetadataInvalid` / `DataDirInvalid` when existing
        files cannot be used (nothing is changed), `StartFailed` when the
        server does not come up. ``progress`` is told each step as it begins:
        "init", "start", "bootstrap".
        """
        _check_name(id, version)
        paths = self._paths(id)
        self._prepare_home(paths)
        with database_lock(paths.lock, id):
            binding = self._start_locked(paths, version, progress or (lambda _step: None))
        self._ensure_monitor()
        return binding

    def stop(self, id: str) -> None:
        """Stop the server (fast shutdown); the data stays. No-op if not running."""
        paths = self._existing(id)
        with database_lock(paths.lock, id):
            self._set_desired(paths, "stopped")
            self._stop_locked(paths)

    def delete(self, id: str) -> None:
        """Stop the server, then remove the database's folder. Refuses if the stop fails."""
        paths = self._existing(id)
        with database_lock(paths.lock, id):
            self._set_desired(paths, "stopped")
            self._stop_locked(paths)
            info = read_postmaster_pid(paths.data)
            if info is not None and is_postgres_process(info.pid, paths.data):
                raise StopFailed(id, info.pid, "the server is still running; nothing was deleted")
            shutil.rmtree(paths.root)

    def status(self, id: str) -> LocalStatus:
        """The heartbeat: health, lifecycle, port, version, processRunning, pid, data size."""
        paths = self._existing(id)
        try:
            metadata: Metadata | None = read_metadata(paths.metadata)
        except (OSError, MetadataProblem):
            metadata = None
        info = read_postmaster_pid(paths.data)
        running = info is not None and is_postgres_process(info.pid, paths.data)
        state = read_state(paths.state)
        size = dir_size(paths.data) if paths.data.exists() else 0
        return LocalStatus.observe(
            name=id,
            metadata=metadata,
            running=running,
            server_status=info.status if running and info else None,
            pid=info.pid if running and info else None,
            desired=state.desired,
            data_size=size,
        )

    def list(self) -> list[LocalStatus]:
        """Status of every local database under ``home``, by name."""
        root = self.home / "postgres"
        if not root.is_dir():
            return []
        names = sorted(
            p.name for p in root.iterdir() if (p / "metadata.json").exists() or (p / "data").exists()
        )
        return [self.status(name) for name in names]

    def binding(self, id: str) -> LocalPostgresBinding:
        """The full binding from metadata, without starting anything."""
        paths = self._existing(id)
        return self._read_metadata(paths).binding()

    def worker_env(self, id: str) -> WorkerEnv:
        """``{"ALIEN_<ID>_BINDING": <full binding JSON>}`` for a child process."""
        return WorkerEnv.for_binding(id, self.binding(id))

    def log_path(self, id: str) -> Path:
        return self._existing(id).log

    def paths(self, id: str) -> DatabasePaths:
        return self._paths(id)

    # -- the start sequence ---------------------------------------------------

    def _start_locked(
        self, paths: DatabasePaths, version: str | None, progress: Callable[[str], None]
    ) -> LocalPostgresBinding:
        _remove_leftovers(paths.root)
        metadata = self._load_or_create_metadata(paths, version)
        install = find_installation(metadata.version)
        # A Python environment in a private folder (a root venv under /root or /tmp/...) holds the binaries.
        make_traversable(
            install.bindir, self._server_account(), self._notify, purpose="the PostgreSQL programs"
        )
        state = read_state(paths.state)
        if not self._running_server(paths, metadata):
            progress("init")
            if self._init_cluster(paths, metadata, install):
                state = read_state(paths.state)
            progress("start")
            metadata = self._launch(paths, metadata, install)
        if not state.bootstrapped:
            progress("bootstrap")
            self._bootstrap(metadata, install)
        if state.desired != "running" or not state.bootstrapped or not state.initialized:
            write_state(paths.state, replace(state, desired="running", bootstrapped=True, initialized=True))
        return metadata.binding()

    def _load_or_create_metadata(self, paths: DatabasePaths, version: str | None) -> Metadata:
        if paths.metadata.exists() or _has_cluster_files(paths.data):
            metadata = self._read_metadata(paths)
            if version is not None and version != metadata.version:
                raise InvalidResourceUpdate(
                    "version",
                    f"a local database cannot change version in place (it was created with "
                    f"{metadata.version}, {version} was asked for)",
                    hint=f"Leave the version out to use {metadata.version}, or start a new database "
                    f"with --version {version} and move the data with pg_dump.",
                )
            return metadata
        install = find_installation(version)
        metadata = Metadata(
            resource_id=paths.name,
            version=install.major,
            port=free_loopback_port(),
            username=USERNAME,
            password=new_password(),
            database=paths.name,
            data_dir=str(paths.data),
        )
        self._make_private_dir(paths.root)
        write_metadata(paths.metadata, metadata)
        return metadata

    def _read_metadata(self, paths: DatabasePaths) -> Metadata:
        try:
            metadata = read_metadata(paths.metadata)
        except FileNotFoundError:
            raise MetadataInvalid(paths.metadata, paths.data, "is missing") from None
        except MetadataProblem as exc:
            raise MetadataInvalid(paths.metadata, paths.data, str(exc)) from None
        if metadata.resource_id != paths.name or Path(metadata.data_dir) != paths.data:
            raise MetadataInvalid(paths.metadata, paths.data, "belongs to another database or folder")
        return metadata

    def _running_server(self, paths: DatabasePaths, metadata: Metadata) -> bool:
        """True if a server for this data dir is up (waits while it is starting)."""
        deadline = time.monotonic() + self._start_timeout
        while True:
            _reap_children()
            info = read_postmaster_pid(paths.data)
            if info is None or not is_postgres_process(info.pid, paths.data):
                return False
            if info.status == "ready":
                if info.port not in (None, metadata.port):
                    logger.warning(
                        "server for %s listens on %s, metadata says %s", paths.name, info.port, metadata.port
                    )
                return True
            if time.monotonic() > deadline:
                raise StartFailed(
                    paths.data, None, _log_tail(paths.log, max(_log_size(paths.log) - 4000, 0)),
                    hint=f"It is {info.status or 'busy'} (pid {info.pid}); wait, then run start again.",
                )  # fmt: skip
            time.sleep(0.01)  # starting, or stopping: wait until it settles

    def _init_cluster(self, paths: DatabasePaths, metadata: Metadata, install: Installation) -> bool:
        """initdb a new cluster; True if it ran.

        Never touches a non-empty data dir, and never re-creates one that was
        initialised before (an empty or missing one then means a disk that is
        not mounted, or a folder emptied by hand: that is for the user to look
        at). initdb runs in a staging folder that becomes ``data`` only when
        it succeeds, so a crash half-way leaves no half-built cluster behind.
        """
        if (paths.data / "PG_VERSION").exists():
            recorded = (paths.data / "PG_VERSION").read_text().strip()
            if recorded != metadata.version:
                raise DataDirInvalid(
                    paths.data,
                    f"it holds a PostgreSQL {recorded} cluster but metadata says {metadata.version}",
                    hint=f"Restore the metadata of {paths.data}, or move the folder aside.",
                )
            return False
        if paths.data.exists() and any(paths.data.iterdir()):
            raise DataDirInvalid(
                paths.data,
                "it is not empty but holds no PostgreSQL cluster (no PG_VERSION)",
                hint="Move its contents elsewhere; alien_nb never deletes or re-initialises "
                "a data directory.",
            )
        state = read_state(paths.state)
        if state.initialized:
            raise DataDirInvalid(
                paths.data,
                "it is missing or empty, but this database was initialised before",
                hint=f"Bring the data back (a disk that is not mounted?) and start again; to start over "
                f"with an empty database, run `alien-nb delete {paths.name} --yes` first.",
            )
        account = self._server_account()
        staging = paths.root / f".data-initdb-{os.getpid()}-{threading.get_ident()}"
        staging.mkdir(mode=0o700)
        account.own(staging, 0o700)
        pwfile = paths.root / f".pwfile-{os.getpid()}-{threading.get_ident()}"
        try:
            try:
                _write_private(pwfile, metadata.password)
                account.own(pwfile, 0o600)
                cmd = [str(install.exe("initdb")), "-D", str(staging), "-U", metadata.username,
                       f"--pwfile={pwfile}", "--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
                       "--encoding=UTF8", "--no-instructions", *_locale_args(install.major)]  # fmt: skip
                done = subprocess.run(
                    cmd,
                    cwd=staging,
                    env=_server_env(),
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    **account.popen_kwargs(),  # type: ignore[call-overload]
                )
            finally:
                pwfile.unlink(missing_ok=True)
            output = (done.stdout + done.stderr).decode("utf-8", "replace")
            with _open_log(paths.log) as log:
                log.write(output.replace(str(staging), str(paths.data)).encode())
            if done.returncode != 0:
                raise InitFailed(paths.data, output.strip()[-2000:])
            _append_no_follow(
                staging / "postgresql.conf",
                "\n# alien_nb's settings (rewritten at every start)\ninclude_if_exists = 'alien_nb.conf'\n",
            )
            if paths.data.exists():
                paths.data.rmdir()  # empty, checked above
            os.rename(staging, paths.data)
        finally:
            if staging.exists():
                shutil.rmtree(staging)  # our own staging folder, never user data
        write_state(paths.state, replace(state, initialized=True, bootstrapped=False))
        return True

    def _launch(self, paths: DatabasePaths, metadata: Metadata, install: Installation) -> Metadata:
        """Start the postmaster on the kept port, moving to a new one if it is taken."""
        for attempt in range(3):
            if not port_is_free(metadata.port):
                old = metadata.port
                metadata = metadata.with_port(free_loopback_port())
                write_metadata(paths.metadata, metadata)
                self._notify(
                    f"alien_nb: port {old} of local database {paths.name!r} is taken by another program; "
                    f"it now uses port {metadata.port} (metadata and binding updated)."
                )
            self._write_conf(paths, metadata)
            _remove_stale_pid_file(paths.data)
            log_start = _log_size(paths.log)
            process = self._spawn(paths, install)
            try:
                self._wait_ready(paths, process, log_start)
                return metadata
            except StartFailed as exc:
                if attempt < 2 and any(marker in exc.log_tail for marker in _PORT_IN_USE):
                    continue  # lost a race for the port; pick again
                raise
        raise AssertionError("unreachable")

    def _write_conf(self, paths: DatabasePaths, metadata: Metadata) -> None:
        socket_dir = self._prepare_socket_dir(paths, metadata.port)
        settings = server_settings(metadata.port, socket_dir=str(socket_dir) if socket_dir else "")
        settings.update(self._settings_overrides)
        # Written in our own folder (not in data/, which the server account
        # owns and could plant a symlink in), then renamed into place.
        account = self._server_account()
        tmp = paths.root / f".alien_nb.conf.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(render_conf(settings))
                if not account.is_current_user:
                    os.fchown(f.fileno(), account.uid, account.gid)
            os.replace(tmp, paths.conf)
        finally:
            tmp.unlink(missing_ok=True)

    def _prepare_socket_dir(self, paths: DatabasePaths, port: int) -> Path | None:
        """The private socket folder, owned by the server account; None if its path is too long."""
        if not paths.socket_fits(port):
            logger.info("socket path under %s is too long for a Unix socket; TCP only", paths.root)
            return None
        folder = paths.socket_dir
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            if folder.is_symlink() or not folder.is_dir():
                raise DataDirInvalid(
                    folder, "it is not a folder", hint="Remove it; alien_nb makes it again at start."
                ) from None
        self._server_account().own(folder, 0o700)
        return folder

    def socket_dir(self, id: str) -> Path | None:
        """Where the server's Unix socket lives (None when its path is too long for one).

        Only the server account (and root) can reach it, so connections made
        through it cannot meet an impostor the way a loopback port can.
        """
        paths = self._existing(id)
        metadata = self._read_metadata(paths)
        return paths.socket_dir if paths.socket_fits(metadata.port) else None

    def _spawn(self, paths: DatabasePaths, install: Installation) -> subprocess.Popen[bytes]:
        account = self._server_account()
        log = _open_log(paths.log)  # the child inherits the descriptor
        try:
            process: subprocess.Popen[bytes] = subprocess.Popen(
                [str(install.exe("postgres")), "-D", str(paths.data)],
                cwd=paths.data,
                env=_server_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives the kernel, and its Ctrl-C
                close_fds=True,
                **account.popen_kwargs(),  # type: ignore[call-overload]
            )
        finally:
            log.close()
        with _CHILDREN_LOCK:
            _CHILDREN[process.pid] = process
        return process

    def _wait_ready(self, paths: DatabasePaths, process: subprocess.Popen[bytes], log_start: int) -> None:
        deadline = time.monotonic() + self._start_timeout
        while True:
            code = process.poll()
            if code is not None:
                tail = _log_tail(paths.log, log_start)
                raise StartFailed(paths.data, code, tail, hint=_start_hint(tail, paths))
            info = read_postmaster_pid(paths.data)
            if info is not None and info.pid == process.pid and info.status == "ready":
                return
            if time.monotonic() > deadline:
                tail = _log_tail(paths.log, log_start)
                raise StartFailed(
                    paths.data, None, tail,
                    hint=f"It may still be recovering; run start again, or see `alien-nb logs {paths.name}`.",
                )  # fmt: skip
            time.sleep(0.005)

    def _bootstrap(self, metadata: Metadata, install: Installation) -> None:
        """Create the database and the vector extension, if missing."""
        import psycopg

        try:
            self._create_database_and_extension(metadata, install)
        except psycopg.Error as exc:
            # The driver's error object holds the connection parameters; keep
            # only its message, and no frames that could show the password.
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise StartFailed(
                Path(metadata.data_dir), None, reason,
                hint=f"The server runs but could not be prepared; `alien-nb logs {metadata.resource_id}`.",
            ) from None  # fmt: skip

    def _create_database_and_extension(self, metadata: Metadata, install: Installation) -> None:
        import psycopg
        from psycopg import sql

        with _connect(metadata, "postgres") as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (metadata.database,)
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(metadata.database)))
        if not install.has_pgvector:
            self._notify(
                f"alien_nb: PostgreSQL {install.major} at {install.bindir} has no pgvector; "
                "the database works, but CREATE EXTENSION vector will fail there."
            )
            return
        try:
            with _connect(metadata, metadata.database) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg.errors.UniqueViolation:
            pass  # another session created it at the same moment

    # -- stopping -------------------------------------------------------------

    def _stop_locked(self, paths: DatabasePaths, timeout: float = 60.0) -> None:
        info = read_postmaster_pid(paths.data)
        if info is None or not is_postgres_process(info.pid, paths.data):
            _reap_children()
            return
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 10.0)):
            try:
                os.kill(info.pid, sig)
            except ProcessLookupError:
                break
            except PermissionError as exc:
                raise StopFailed(paths.name, info.pid, f"not allowed to signal it ({exc.strerror})") from None
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                _reap_children()
                if not is_postgres_process(info.pid, paths.data):
                    return
                time.sleep(0.005)
        _reap_children()
        if is_postgres_process(info.pid, paths.data):
            raise StopFailed(paths.name, info.pid, "it did not exit after a fast and an immediate shutdown")

    # -- helpers ----------------------------------------------------------------

    def _paths(self, id: str) -> DatabasePaths:
        _check_name(id, None)
        return DatabasePaths(self.home, id)

    def _existing(self, id: str) -> DatabasePaths:
        paths = self._paths(id)
        if not paths.root.is_dir():
            raise DatabaseNotFound(id, self.home)
        return paths

    def _set_desired(self, paths: DatabasePaths, desired: str) -> None:
        state = read_state(paths.state)
        if state.desired != desired:
            write_state(paths.state, replace(state, desired=desired))

    def _server_account(self) -> ServerAccount:
        if self._account is None:
            self._account = resolve_server_account(self._server_user, self._notify)
        return self._account

    def _prepare_home(self, paths: DatabasePaths) -> None:
        account = self._server_account()
        shared_mode = 0o700 if account.is_current_user else 0o711
        for folder in (paths.home, paths.postgres_dir):
            if not folder.exists():
                folder.mkdir(mode=shared_mode, parents=True, exist_ok=True)
                os.chmod(folder, shared_mode)
        make_traversable(paths.postgres_dir, account, self._notify)
        paths.lock.parent.mkdir(mode=0o700, exist_ok=True)

    def _make_private_dir(self, folder: Path) -> None:
        """0700; as root 0710 with the server account's group, which must pass through to data/."""
        account = self._server_account()
        folder.mkdir(mode=0o700, exist_ok=True)
        if account.is_current_user:
            os.chmod(folder, 0o700)
        else:
            os.chown(folder, os.geteuid(), account.gid)
            os.chmod(folder, 0o710)

    def _ensure_monitor(self) -> None:
        if not self._monitor_enabled or self._monitor is not None:
            return
        from ._monitor import ServerMonitor

        monitor = ServerMonitor(self, interval=self._monitor_interval)
        monitor.start()
        self._monitor = monitor

    def _restart_if_down(self, id: str) -> bool:
        """Monitor hook: restart ``id`` if it should run and does not. True if restarted."""
        from ._lock import release, try_lock

        paths = self._paths(id)
        _reap_children()
        if read_state(paths.state).desired != "running" or not paths.metadata.exists():
            return False
        info = read_postmaster_pid(paths.data)
        if info is not None and is_postgres_process(info.pid, paths.data):
            return False
        fd = try_lock(paths.lock)
        if fd is None:
            return False  # someone else is starting or stopping it
        try:
            if read_state(paths.state).desired != "running":
                return False
            binding = self._start_locked(paths, None, lambda _step: None)
        finally:
            release(fd)
        self._notify(
            f"alien_nb: local database {id!r} had stopped unexpectedly; restarted it on port {binding.port}."
        )
        return True


def _check_name(id: str, version: str | None) -> None:
    fields: dict[str, str] = {"id": id}
    if version is not None:
        fields["version"] = version
    try:
        Postgres.parse(fields)
    except InvalidResource as exc:
        raise InvalidResource(
            exc.reason.replace("`id`", "the database name"),
            hint="Name it with letters, digits, '-' or '_' (for example vec-db); "
            'a version is a major number such as "18".',
        ) from None


def _remove_leftovers(root: Path) -> None:
    """What a start killed mid-way can leave: the initdb password file and its staging folder."""
    if not root.is_dir():
        return
    for path in root.glob(".pwfile-*"):
        path.unlink(missing_ok=True)
    for path in root.glob(".data-initdb-*"):
        shutil.rmtree(path, ignore_errors=True)


def _append_no_follow(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write(text)


def _remove_stale_pid_file(data: Path) -> None:
    """Drop a postmaster.pid whose process is an unreaped zombie.

    Postgres treats a zombie's pid as a live postmaster and refuses to start;
    where nothing reaps orphans (a container whose pid 1 is not an init)
    that would block the restart forever. Dead pids Postgres handles itself.
    """
    info = read_postmaster_pid(data)
    if info is not None and is_zombie(info.pid):
        logger.info("removing stale postmaster.pid of dead pid %s in %s", info.pid, data)
        (data / "postmaster.pid").unlink(missing_ok=True)


def _has_cluster_files(data: Path) -> bool:
    return data.is_dir() and any(data.iterdir())


def _write_private(path: Path, secret: SecretStr) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secret.get_secret_value())


def _locale_args(major: str) -> list[str]:
    if int(major) >= 17:
        return ["--locale-provider=builtin", "--builtin-locale=C.UTF-8"]
    return ["--no-locale"]


def _server_env() -> dict[str, str]:
    """A minimal environment: nothing of the caller's (PG*, secrets) reaches the server."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C", "LANG": "C"}
    if "TZ" in os.environ:
        env["TZ"] = os.environ["TZ"]
    return env


def _connect(metadata: Metadata, dbname: str):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(
        host=HOST,
        port=metadata.port,
        user=metadata.username,
        password=metadata.password.get_secret_value(),
        dbname=dbname,
        autocommit=True,
        connect_timeout=10,
    )


def _open_log(path: Path) -> BinaryIO:
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab")


def _log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _log_tail(path: Path, start: int, lines: int = 15) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(start)
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _start_hint(tail: str, paths: DatabasePaths) -> str:
    if "shared memory" in tail or "could not map anonymous shared memory" in tail:
        return "Not enough shared memory: free some RAM, or lower shared_buffers via settings=."
    if "No space left" in tail:
        return f"The disk holding {paths.data} is full; free space and start again."
    if any(marker in tail for marker in _PORT_IN_USE):
        return "The port was taken at the same moment; start again to pick another one."
    return f"See the full log with `alien-nb logs {paths.name}` ({paths.log})."
