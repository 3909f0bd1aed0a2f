"""LocalPostgresManager: init, start, attach, stop and delete embedded servers.

Lifecycle of one database, each step a small method::

    start(id)
      ├─ lock                     one starter per database, across processes
      ├─ _load_or_create_metadata metadata.json: written once, 0600
      ├─ _running_server          already up (this or another process)? attach
      ├─ _init_cluster            initdb, only when the data dir is new or empty
      ├─ _pick_port               the kept port, or a new one if it is taken
      ├─ _spawn + _wait_ready     postgres -D data, polled via postmaster.pid
      ├─ _bootstrap               CREATE DATABASE id; CREATE EXTENSION vector
      └─ _verify_credentials      the recorded user and password work (SCRAM, Unix socket)

If anything after the launch fails, the server this call launched is
stopped again and the desired state says "stopped": nothing is left running
half-ready for the monitor to restart in a loop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from ..core import InvalidResource, InvalidResourceUpdate, LocalPostgresBinding, Postgres
from ..core._environ import WorkerEnv
from ._account import ServerAccount, make_traversable, resolve_server_account
from ._errors import (
    CredentialsRejected,
    DatabaseNotFound,
    DataDirInvalid,
    HomeInvalid,
    InitFailed,
    LocalServerError,
    MetadataInvalid,
    StartFailed,
    StopFailed,
)
from ._files import (
    append_no_follow,
    check_ours,
    has_cluster_files,
    log_size,
    log_tail,
    open_log,
    processes_in,
    write_private,
)
from ._installations import Installation, find_installation
from ._layout import DatabasePaths, default_home, dir_size
from ._lock import database_lock
from ._metadata import (
    HOST,
    TEMP_GLOB,
    USERNAME,
    Metadata,
    MetadataProblem,
    new_password,
    read_metadata,
    write_metadata,
)
from ._ports import free_loopback_port, port_is_free
from ._postmaster import (
    PostmasterInfo,
    is_our_postmaster,
    is_postgres_process,
    is_recorded_server,
    is_zombie,
    process_alive,
    process_start_ticks,
    read_postmaster_pid,
)
from ._probe import ProbeResult, probe_login
from ._scram import scram_verifier
from ._session import connect_host, connect_scram
from ._settings import render_conf, server_settings
from ._state import DesiredState, read_state, write_state
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


#: Names Postgres already has: template0 takes no connections, and a database
#: of alien_nb's own in template1 would be copied into every later database.
_RESERVED_NAMES = ("template0", "template1")

_PORT_IN_USE = ("could not bind", "Address already in use", "could not create any TCP/IP sockets")


class LocalPostgresManager:
    """Embedded PostgreSQL servers with pgvector, kept under ``home``.

    >>> manager = LocalPostgresManager()
    >>> binding = manager.start("vec-db")       # init, start, or attach
    >>> manager.status("vec-db").lifecycle
    'running'

    Servers outlive the process that started them; `stop` ends them. As
    root, servers run under an unprivileged account (``server_user``,
    ``$ALIEN_NB_SERVER_USER``, or ``alien-nb``). A missing ``alien-nb`` or
    ``alien-nb-<anything>`` account is created (once, across processes);
    any other name must exist already.

    The manager's own connections (bootstrap, the credential check at every
    start, the status probe) accept only SCRAM and go through the server's
    private Unix socket when there is one, so no impostor on the loopback
    port can learn the password.
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
        self, id: str, version: str | int | None = None, *, progress: Callable[[str], None] | None = None
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
        if isinstance(version, int) and not isinstance(version, bool):
            version = str(version)  # start("x", version=18) means "18"
        _check_name(id, version)
        major = version if isinstance(version, str) else None  # anything else was refused above
        paths = self._paths(id)
        self._prepare_home(paths)
        with database_lock(paths.lock, id):
            binding = self._start_locked(paths, major, progress or (lambda _step: None))
        self._ensure_monitor()
        return binding

    def stop(self, id: str) -> bool:
        """Stop the server (fast shutdown); the data stays. True if a server was stopped.

        A server whose data directory was deleted or moved is still found
        (by the pid and start time recorded when it was launched), stopped,
        and reported through ``notify``.
        """
        paths = self._existing(id)
        with self._locked_existing(paths):
            self._set_desired(paths, "stopped")
            return self._stop_locked(paths)

    def delete(self, id: str) -> None:
        """Stop the server, then remove the database's folder. Refuses if the stop fails."""
        paths = self._existing(id)
        with self._locked_existing(paths):
            self._set_desired(paths, "stopped")
            self._stop_locked(paths)
            pid = self._server_pid(paths)
            if pid is not None:
                raise StopFailed(id, pid, "the server is still running; nothing was deleted")
            shutil.rmtree(paths.root)

    def status(self, id: str) -> LocalStatus:
        """The heartbeat: health, lifecycle, port, version, processRunning, pid, data size."""
        paths = self._existing(id)
        try:
            metadata: Metadata | None = read_metadata(paths.metadata, on_loose_mode=self._loose_notice(paths))
        except (OSError, MetadataProblem):
            metadata = None
        info = self._live_postmaster(paths)
        state = read_state(paths.state)
        orphan = None if info is not None else self._recorded_server(paths, state)
        size = dir_size(paths.data) if paths.data.exists() else 0
        credentials = None
        if info is not None and info.status == "ready" and metadata is not None:
            credentials = self._probe(paths, metadata)
        if not paths.root.is_dir():
            raise DatabaseNotFound(id, self.home)  # deleted while we looked: report that, not "broken"
        return LocalStatus.observe(
            name=id,
            metadata=metadata,
            running=info is not None or orphan is not None,
            server_status=info.status if info else ("orphaned" if orphan else None),
            pid=info.pid if info else orphan,
            desired=state.desired,
            data_size=size,
            credentials=credentials,
        )

    def list(self) -> list[LocalStatus]:
        """Status of every local database under ``home``, by name."""
        root = self.home / "postgres"
        if not root.is_dir():
            return []
        names = sorted(
            p.name
            for p in root.iterdir()
            if _valid_name(p.name) and ((p / "metadata.json").exists() or (p / "data").exists())
        )
        statuses = []
        for name in names:
            try:
                statuses.append(self.status(name))
            except DatabaseNotFound:
                continue  # deleted since the folder listing
        return statuses

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
        self._remove_leftovers(paths)
        metadata = self._load_or_create_metadata(paths, version)
        install = find_installation(metadata.version)
        # A Python environment in a private folder (a root venv under /root or /tmp/...) holds the binaries.
        make_traversable(
            install.bindir, self._server_account(), self._notify, purpose="the PostgreSQL programs"
        )
        state = read_state(paths.state)
        launched = False
        if not self._running_server(paths, metadata):
            progress("init")
            if self._init_cluster(paths, metadata, install):
                state = read_state(paths.state)
            progress("start")
            metadata, state = self._launch(paths, metadata, install)
            launched = True
        try:
            if not state.bootstrapped:
                progress("bootstrap")
                self._bootstrap(paths, metadata, install)
            else:
                self._verify_credentials(paths, metadata)
        except BaseException as exc:
            if not launched:
                raise  # someone else's server: leave it as it is
            self._stop_locked(paths)
            self._set_desired(paths, "stopped")
            if not isinstance(exc, LocalServerError):
                raise  # Ctrl-C, or a bug: still nothing left running behind a "stopped"
            if isinstance(exc, CredentialsRejected):
                raise CredentialsRejected(paths.name, paths.data, paths.metadata, stopped=True) from None
            raise StartFailed(
                paths.data, None, exc.message,
                hint=f"{exc.hint or ''} The server alien_nb had started for it was stopped again.".strip(),
            ) from None  # fmt: skip
        if state.desired != "running" or not state.bootstrapped or not state.initialized:
            write_state(paths.state, replace(state, desired="running", bootstrapped=True, initialized=True))
        return metadata.binding()

    def _remove_leftovers(self, paths: DatabasePaths) -> None:
        """What a start killed mid-way can leave (we hold the lock, so nobody else is writing them).

        - ``.pwfile-*``: the verifier handed to initdb (not the password, but no use kept);
        - ``.data-initdb-*``: initdb's staging folder, and an initdb still running in it;
        - ``.metadata.json.*.tmp``: a complete (fsynced) metadata about to be renamed into
          place. It holds the password, so it is removed, unless metadata.json is missing:
          then it is that file, and is put in place.
        """
        root = paths.root
        if not root.is_dir():
            return
        for path in root.glob(".pwfile-*"):
            path.unlink(missing_ok=True)
        for path in root.glob(".data-initdb-*"):
            for pid in processes_in(path):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            shutil.rmtree(path, ignore_errors=True)
        for path in sorted(root.glob(TEMP_GLOB)):
            if not paths.metadata.exists() and not paths.metadata.is_symlink():
                try:
                    candidate = read_metadata(path)
                except (OSError, MetadataProblem):
                    candidate = None
                if (
                    candidate is not None
                    and candidate.resource_id == paths.name
                    and (Path(candidate.data_dir) == paths.data)
                ):
                    os.replace(path, paths.metadata)
                    self._notify(
                        f"alien_nb: {paths.metadata} was missing, but a complete copy written just before "
                        "a crash was beside it; put it back in place."
                    )
                    continue
            path.unlink(missing_ok=True)
        for pattern in (".state.json.*.tmp", ".alien_nb.conf.*.tmp"):
            for path in root.glob(pattern):
                path.unlink(missing_ok=True)

    def _remove_stale_pid_file(self, paths: DatabasePaths) -> None:
        """Drop a postmaster.pid (and socket lock) whose pid lives on but is not this database's server.

        Postgres refuses to start while the pid in the file is alive, whoever
        it is: a zombie nobody reaps (a container without an init), or, after
        a container restart, an unrelated process that got the same pid, even
        a postgres of another database run by the same account. We hold the
        database lock and `is_our_postmaster` said no, so no server of this
        data directory can be starting. Dead pids Postgres handles itself.
        """
        if self._live_postmaster(paths) is not None:
            return
        info = read_postmaster_pid(paths.data)
        if info is not None and (is_zombie(info.pid) or process_alive(info.pid)):
            logger.info("removing stale postmaster.pid of pid %s in %s", info.pid, paths.data)
            (paths.data / "postmaster.pid").unlink(missing_ok=True)
        # The socket's lock file names the same dead server's pid, and Postgres
        # checks it the same way. The folder is this database's alone.
        if paths.socket_dir.is_dir() and not paths.socket_dir.is_symlink():
            for lock in paths.socket_dir.glob(".s.PGSQL.*.lock"):
                lock.unlink(missing_ok=True)

    def _load_or_create_metadata(self, paths: DatabasePaths, version: str | None) -> Metadata:
        if paths.metadata.exists() or has_cluster_files(paths.data):
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
        if paths.state.exists() or paths.state.is_symlink():
            # A state.json without metadata.json: either a creation killed between the two
            # writes (it says "not initialised"), or metadata.json was lost beside a data dir
            # that is not there (unmounted?): never make a new database over that.
            recorded = read_state(paths.state).initialized
            if recorded is not False:
                raise DataDirInvalid(
                    paths.data,
                    f"it is missing or empty and {paths.metadata} is missing, but {paths.state} "
                    + ("says this database was initialised before" if recorded else "is unreadable"),
                    hint=_refuse_init_hint(paths),
                )
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
        # state.json first, durably: from the moment metadata.json exists, a missing or
        # unreadable state.json means "unknown", and start refuses to run initdb.
        write_state(paths.state, DesiredState(initialized=False))
        write_metadata(paths.metadata, metadata)
        return metadata

    def _read_metadata(self, paths: DatabasePaths) -> Metadata:
        try:
            metadata = read_metadata(paths.metadata, on_loose_mode=self._loose_notice(paths))
        except FileNotFoundError:
            if not paths.root.is_dir():
                raise DatabaseNotFound(paths.name, self.home) from None  # deleted meanwhile
            raise MetadataInvalid(paths.metadata, paths.data, "is missing") from None
        except MetadataProblem as exc:
            raise MetadataInvalid(paths.metadata, paths.data, str(exc)) from None
        except OSError as exc:
            raise MetadataInvalid(paths.metadata, paths.data, f"cannot be read ({exc.strerror})") from None
        if metadata.resource_id != paths.name or Path(metadata.data_dir) != paths.data:
            raise MetadataInvalid(paths.metadata, paths.data, "belongs to another database or folder")
        return metadata

    def _loose_notice(self, paths: DatabasePaths) -> Callable[[int], None]:
        def notice(mode: int) -> None:
            self._notify(
                f"alien_nb: {paths.metadata} was readable by others (mode {mode:04o}); it holds the "
                "password, so alien_nb set it back to 0600. If other users could read it, treat the "
                f"password as known: move the data out with pg_dump into a new database."
            )

        return notice

    def _live_postmaster(self, paths: DatabasePaths) -> PostmasterInfo | None:
        """What postmaster.pid says, if its process really is this data directory's server."""
        info = read_postmaster_pid(paths.data)
        if info is None:
            return None
        state = read_state(paths.state)
        if state.server_pid == info.pid and self._recorded_server(paths, state) is not None:
            # The very process alien_nb launched (pid and boot-relative start time):
            # proof that no wall-clock step since then can blur.
            return info if is_postgres_process(info.pid, paths.data) else None
        socket_file = paths.socket_file(info.port) if info.port and paths.socket_fits(info.port) else None
        return info if is_our_postmaster(info, paths.data, socket_file) else None

    def _recorded_server(self, paths: DatabasePaths, state: DesiredState | None = None) -> int | None:
        """The pid of the postmaster alien_nb launched, if it still lives (found without postmaster.pid)."""
        state = state or read_state(paths.state)
        if state.server_pid is None or state.server_start_ticks is None:
            return None
        return state.server_pid if is_recorded_server(state.server_pid, state.server_start_ticks) else None

    def _server_pid(self, paths: DatabasePaths) -> int | None:
        info = self._live_postmaster(paths)
        return info.pid if info is not None else self._recorded_server(paths)

    def _running_server(self, paths: DatabasePaths, metadata: Metadata) -> bool:
        """True if a server for this data dir is up (waits while it is starting)."""
        deadline = time.monotonic() + self._start_timeout
        while True:
            _reap_children()
            info = self._live_postmaster(paths)
            if info is None:
                return False
            if info.status == "ready":
                if info.port not in (None, metadata.port):
                    logger.warning(
                        "server for %s listens on %s, metadata says %s", paths.name, info.port, metadata.port
                    )
                return True
            if time.monotonic() > deadline:
                raise StartFailed(
                    paths.data, None, log_tail(paths.log, max(log_size(paths.log) - 4000, 0)),
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
        if state.initialized is not False:
            # Only a state.json that says "not initialised yet" (written before metadata.json
            # when the database was created) allows initdb; unknown is treated as initialised.
            raise DataDirInvalid(
                paths.data,
                "it is missing or empty, but this database was initialised before"
                if state.initialized
                else f"it is missing or empty, and {paths.state} (which records whether this database "
                "was ever initialised) is missing or unreadable",
                hint=_refuse_init_hint(paths),
            )
        account = self._server_account()
        staging = paths.root / f".data-initdb-{os.getpid()}-{threading.get_ident()}"
        staging.mkdir(mode=0o700)
        account.own(staging, 0o700)
        # The password itself never reaches a file but metadata.json: initdb
        # gets its SCRAM verifier, which Postgres stores as it is.
        pwfile = paths.root / f".pwfile-{os.getpid()}-{threading.get_ident()}"
        try:
            try:
                write_private(pwfile, scram_verifier(metadata.password))
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
            with open_log(paths.log) as log:
                log.write(output.replace(str(staging), str(paths.data)).encode())
            if done.returncode != 0:
                raise InitFailed(paths.data, output.strip()[-2000:])
            append_no_follow(
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

    def _launch(
        self, paths: DatabasePaths, metadata: Metadata, install: Installation
    ) -> tuple[Metadata, DesiredState]:
        """Start the postmaster on the kept port, moving to a new one if it is taken.

        The new server's pid and start time go to state.json, so that stop
        still finds it if its data directory disappears.
        """
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
            self._remove_stale_pid_file(paths)
            log_start = log_size(paths.log)
            process = self._spawn(paths, install)
            state = replace(
                read_state(paths.state),
                server_pid=process.pid,
                server_start_ticks=process_start_ticks(process.pid),
            )
            write_state(paths.state, state)
            try:
                self._wait_ready(paths, process, log_start)
                return metadata, state
            except StartFailed as exc:
                if process.poll() is None:
                    # Still starting (a long crash recovery): the state says so, and the
                    # monitor or the next start adopts it, rather than a server running
                    # behind a "stopped".
                    write_state(paths.state, replace(state, desired="running"))
                    raise
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
        log = open_log(paths.log)  # the child inherits the descriptor
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
                tail = log_tail(paths.log, log_start)
                raise StartFailed(paths.data, code, tail, hint=_start_hint(tail, paths))
            info = read_postmaster_pid(paths.data)
            if info is not None and info.pid == process.pid and info.status == "ready":
                return
            if time.monotonic() > deadline:
                tail = log_tail(paths.log, log_start)
                raise StartFailed(
                    paths.data, None, tail,
                    hint=f"It may still be recovering; run start again, or see `alien-nb logs {paths.name}`.",
                )  # fmt: skip
            time.sleep(0.005)

    def _bootstrap(self, paths: DatabasePaths, metadata: Metadata, install: Installation) -> None:
        """Create the database and the vector extension, if missing."""
        with self._translated(paths, metadata, "could not be prepared"):
            self._create_database_and_extension(paths, metadata, install)

    def _verify_credentials(self, paths: DatabasePaths, metadata: Metadata) -> None:
        """One SCRAM login with the recorded credentials: start never returns a server nothing can use."""
        result = self._login(paths, metadata, metadata.database)
        if result.rejected:
            raise CredentialsRejected(paths.name, paths.data, paths.metadata, stopped=False)
        if not result.ok:
            reason = f"a test login failed ({result.sqlstate or result.problem})"
            raise StartFailed(
                paths.data, None, reason,
                hint=f"The server runs but does not accept connections; see `alien-nb logs {paths.name}`.",
            )  # fmt: skip

    def _login(self, paths: DatabasePaths, metadata: Metadata, database: str) -> ProbeResult:
        port = metadata.port
        socket_file = paths.socket_file(port) if connect_host(paths, port) != HOST else None
        return probe_login(
            socket_file=socket_file, port=port, user=metadata.username, password=metadata.password,
            database=database,
        )  # fmt: skip

    @contextlib.contextmanager
    def _translated(self, paths: DatabasePaths, metadata: Metadata, what: str) -> Iterator[None]:
        import psycopg

        try:
            yield
        except psycopg.Error as exc:
            # libpq gives a failed login no SQLSTATE: ask the server once more, by hand.
            if exc.sqlstate is None and self._login(paths, metadata, "postgres").rejected:
                raise CredentialsRejected(paths.name, paths.data, paths.metadata, stopped=False) from None
            # The driver's error object holds the connection parameters; keep
            # only its message, and no frames that could show the password.
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise StartFailed(
                paths.data, None, reason,
                hint=f"The server runs but {what}; see `alien-nb logs {paths.name}`.",
            ) from None  # fmt: skip

    def _probe(self, paths: DatabasePaths, metadata: Metadata) -> str:
        """A quick SCRAM login (Unix socket when there is one): "ok", "rejected" or "unreachable"."""
        result = self._login(paths, metadata, metadata.database)
        return "ok" if result.ok else "rejected" if result.rejected else "unreachable"

    def _create_database_and_extension(
        self, paths: DatabasePaths, metadata: Metadata, install: Installation
    ) -> None:
        import psycopg
        from psycopg import sql

        with connect_scram(paths, metadata, "postgres") as conn:
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
            with connect_scram(paths, metadata, metadata.database) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg.errors.UniqueViolation:
            pass  # another session created it at the same moment

    # -- stopping -------------------------------------------------------------

    def _stop_locked(self, paths: DatabasePaths, timeout: float = 60.0) -> bool:
        """Stop this database's postmaster, if one runs; True if one did."""
        _reap_children()
        info = self._live_postmaster(paths)
        if info is not None:
            pid, ticks = info.pid, process_start_ticks(info.pid)
        else:
            state = read_state(paths.state)
            orphan = self._recorded_server(paths, state)
            if orphan is None:
                return False
            pid, ticks = orphan, state.server_start_ticks
            where = "is gone" if not paths.data.exists() else "has no postmaster.pid"
            self._notify(
                f"alien_nb: the data directory {paths.data} of local database {paths.name!r} {where}, "
                f"but the server alien_nb started for it (pid {pid}) was still running; stopping it."
            )

        def alive() -> bool:
            # Identity by pid and start time alone: an exiting postmaster's cmdline reads empty
            # (and its cwd may be gone) for a moment before it is, so those cannot tell "gone".
            return process_alive(pid) and (ticks is None or process_start_ticks(pid) == ticks)

        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 10.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            except PermissionError as exc:
                raise StopFailed(paths.name, pid, f"not allowed to signal it ({exc.strerror})") from None
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                _reap_children()
                if not alive():
                    return True
                time.sleep(0.005)
        _reap_children()
        if alive():
            raise StopFailed(paths.name, pid, "it did not exit after a fast and an immediate shutdown")
        return True

    # -- helpers ----------------------------------------------------------------

    def _paths(self, id: str) -> DatabasePaths:
        _check_name(id, None)
        return DatabasePaths(self.home, id)

    def _existing(self, id: str) -> DatabasePaths:
        paths = self._paths(id)
        if not paths.root.is_dir():
            raise DatabaseNotFound(id, self.home)
        return paths

    @contextlib.contextmanager
    def _locked_existing(self, paths: DatabasePaths) -> Iterator[None]:
        """The database lock, then the folder checked again: a delete may have won the lock first."""
        with database_lock(paths.lock, paths.name):
            if not paths.root.is_dir():
                raise DatabaseNotFound(paths.name, self.home)
            yield

    def _set_desired(self, paths: DatabasePaths, desired: str) -> None:
        state = read_state(paths.state)
        if state.desired != desired:
            write_state(paths.state, replace(state, desired=desired))

    def _server_account(self) -> ServerAccount:
        if self._account is None:
            self._account = resolve_server_account(self._server_user, self._notify)
        return self._account

    def _prepare_home(self, paths: DatabasePaths) -> None:
        """Make (or check) the folders above the database's own; raise `HomeInvalid` if unusable."""
        account = self._server_account()
        shared_mode = 0o700 if account.is_current_user else 0o711
        try:
            if paths.home.exists() and not paths.home.is_dir():
                raise HomeInvalid(paths.home, "it is not a folder")
            for folder in (paths.home, paths.postgres_dir):
                if not folder.exists():
                    folder.mkdir(mode=shared_mode, parents=True, exist_ok=True)
                    os.chmod(folder, shared_mode)
            check_ours(paths.postgres_dir, paths.home)
            make_traversable(paths.postgres_dir, account, self._notify)
            paths.lock.parent.mkdir(mode=0o700, exist_ok=True)
            check_ours(paths.lock.parent, paths.home)
            if paths.root.exists():
                check_ours(paths.root, paths.home)
        except OSError as exc:
            raise HomeInvalid(paths.home, f"{exc.strerror or exc} ({exc.filename or paths.home})") from None

    def _make_private_dir(self, folder: Path) -> None:
        """0700; as root 0710 with the server account's group, which must pass through to data/."""
        account = self._server_account()
        folder.mkdir(mode=0o700, exist_ok=True)
        check_ours(folder, self.home)
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
        if self._live_postmaster(paths) is not None:
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


def _valid_name(name: str) -> bool:
    """A folder under ``postgres/`` alien_nb could have made (others are not listed)."""
    try:
        _check_name(name, None)
    except InvalidResource:
        return False
    return True


def _check_name(id: object, version: object) -> None:
    name_hint = "Name it with letters, digits, '-' or '_', as a string (for example 'vec-db')."
    if not isinstance(id, str):
        raise InvalidResource(f"the database name must be a string, not {type(id).__name__}", hint=name_hint)
    if id in _RESERVED_NAMES:
        raise InvalidResource(
            f"the database name {id!r} is reserved by PostgreSQL",
            hint="Pick another name, for example vec-db.",
        )
    try:
        Postgres.parse({"id": id})
    except InvalidResource as exc:
        raise InvalidResource(exc.reason.replace("`id`", "the database name"), hint=name_hint) from None
    if version is None:
        return
    version_hint = 'Give the major version as a string, for example version="18", or leave it out.'
    if not isinstance(version, str):
        raise InvalidResource(
            f"the version must be a string like '18', not {type(version).__name__}", hint=version_hint
        )
    try:
        Postgres.parse({"id": id, "version": version})
    except InvalidResource as exc:
        raise InvalidResource(exc.reason.replace("`version`", "the version"), hint=version_hint) from None


def _refuse_init_hint(paths: DatabasePaths) -> str:
    return (
        f"Bring the data back (a disk that is not mounted? a restored backup?) and start again; to start "
        f"over with an empty database, run `alien-nb delete {paths.name} --yes` first."
    )


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


def _start_hint(tail: str, paths: DatabasePaths) -> str:
    if "shared memory" in tail or "could not map anonymous shared memory" in tail:
        return "Not enough shared memory: free some RAM, or lower shared_buffers via settings=."
    if "No space left" in tail:
        return f"The disk holding {paths.data} is full; free space and start again."
    if any(marker in tail for marker in _PORT_IN_USE):
        return "The port was taken at the same moment; start again to pick another one."
    return f"See the full log with `alien-nb logs {paths.name}` ({paths.log})."
