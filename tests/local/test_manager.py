"""The embedded-Postgres manager against real servers it starts itself."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from alien_nb.core import InvalidResource, InvalidResourceUpdate, LocalPostgresBinding, connection_string
from alien_nb.local import (
    DatabaseNotFound,
    DataDirInvalid,
    LocalPostgresManager,
    MetadataInvalid,
    VersionUnavailable,
    system_installations,
)
from alien_nb.local._files import processes_in
from alien_nb.local._lock import release, try_lock
from alien_nb.local._ports import LoopbackPorts, port_is_free
from alien_nb.local._postmaster import read_postmaster_pid
from tests.local.conftest import Notices, SteppedMonitor, secret_spellings


def connect(binding: LocalPostgresBinding) -> psycopg.Connection:
    return psycopg.connect(connection_string(binding).get_secret_value(), autocommit=True)


def postmaster_pid(manager: LocalPostgresManager, name: str) -> int:
    info = read_postmaster_pid(manager.paths(name).data)
    assert info is not None
    return info.pid


def test_cold_start_attach_stop_restart_delete(manager: LocalPostgresManager, home: Path) -> None:
    binding = manager.start("vec-db")
    assert isinstance(binding, LocalPostgresBinding)
    assert (binding.host, binding.database, binding.username) == ("127.0.0.1", "vec-db", "postgres")
    with connect(binding) as conn:
        assert conn.execute("SELECT extname FROM pg_extension WHERE extname = 'vector'").fetchone()
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, embedding vector(3))")
        conn.execute("INSERT INTO items VALUES (1, '[1,2,3]')")
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        assert conn.execute("SHOW password_encryption").fetchone() == ("scram-sha-256",)
    pid = postmaster_pid(manager, "vec-db")

    # Attach from a second process: same server, same binding.
    code = (
        "import sys, json; from alien_nb.local import LocalPostgresManager;"
        f"b = LocalPostgresManager({str(home)!r}, monitor=False).start('vec-db');"
        "print(json.dumps(b.synced()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == binding.synced()
    assert postmaster_pid(manager, "vec-db") == pid

    status = manager.status("vec-db")
    assert (status.health, status.lifecycle, status.process_running) == ("healthy", "running", True)
    assert status.port == binding.port and status.version == "18" and status.pid == pid
    assert status.data_size > 0
    assert set(status.to_dict()) >= {
        "health",
        "lifecycle",
        "port",
        "version",
        "processRunning",
        "pid",
        "dataSize",
    }

    manager.stop("vec-db")
    status = manager.status("vec-db")
    assert (status.lifecycle, status.process_running, status.pid) == ("stopped", False, None)
    manager.stop("vec-db")  # stopping a stopped database is fine

    again = manager.start("vec-db")
    assert again.port == binding.port
    assert again.inline_password == binding.inline_password
    with connect(again) as conn:
        assert conn.execute("SELECT embedding::text FROM items").fetchone() == ("[1,2,3]",)

    manager.delete("vec-db")
    assert not manager.paths("vec-db").root.exists()
    assert manager.list() == []
    with pytest.raises(DatabaseNotFound, match="alien-nb start vec-db"):
        manager.status("vec-db")


def test_metadata_file_and_modes(shared_manager: LocalPostgresManager) -> None:
    binding = shared_manager.start("meta-db")
    paths = shared_manager.paths("meta-db")
    meta = json.loads(paths.metadata.read_text())
    assert list(meta) == ["resourceId", "version", "port", "username", "password", "database", "dataDir"]
    assert (
        meta["resourceId"] == "meta-db" and meta["database"] == "meta-db" and meta["username"] == "postgres"
    )
    assert meta["version"] == "18" and meta["port"] == binding.port and meta["dataDir"] == str(paths.data)
    assert re.fullmatch(r"[A-Za-z0-9]{24}", meta["password"])
    assert stat.S_IMODE(paths.metadata.stat().st_mode) == 0o600
    root_mode = stat.S_IMODE(paths.root.stat().st_mode)
    # As root the server account must pass through to data/: group search only.
    assert root_mode == (0o700 if os.geteuid() != 0 else 0o710)
    assert stat.S_IMODE(paths.data.stat().st_mode) == 0o700
    before = paths.metadata.read_bytes()
    shared_manager.start("meta-db")
    assert paths.metadata.read_bytes() == before


def test_password_is_nowhere_but_metadata(shared_manager: LocalPostgresManager, shared_home: Path) -> None:
    binding = shared_manager.start("leak-db")
    password = binding.inline_password.get_secret_value()  # type: ignore[union-attr]
    with connect(binding) as conn:  # a connection, and a failed one, in the log
        conn.execute("SELECT 1")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(
            host="127.0.0.1", port=binding.port, user="postgres", password="wrong", dbname="leak-db"
        )
    spellings = secret_spellings(password)

    ps = subprocess.run(["ps", "auxww"], capture_output=True, check=True).stdout
    assert not any(s in ps for s in spellings)
    server_pids = [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit()
        and (p / "cmdline").exists()
        and _is_server_of(p, shared_manager.paths("leak-db").data)
    ]
    assert len(server_pids) >= 3  # postmaster and its auxiliary processes
    assert postmaster_pid(shared_manager, "leak-db") in server_pids
    for pid in server_pids:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            continue  # a backend that exited meanwhile
        assert not any(s in environ or s in cmdline for s in spellings)
        assert b"PGPASSWORD" not in environ

    metadata = shared_manager.paths("leak-db").metadata
    for path in shared_home.rglob("*"):
        if path.is_file() and path != metadata:
            try:
                content = path.read_bytes()
            except FileNotFoundError:
                continue  # a temporary file the server renamed meanwhile
            assert not any(s in content for s in spellings), path
    assert password in metadata.read_text()


def _is_server_of(proc: Path, data: Path) -> bool:
    try:
        first = proc.joinpath("cmdline").read_bytes().split(b"\0")[0]
        if first.endswith(b"postgres") or first.startswith(b"postgres:"):  # postmaster, or its children
            return Path(os.readlink(proc / "cwd")) == data
        return False
    except OSError:
        return False


def test_port_taken_while_stopped(manager: LocalPostgresManager, notices: Notices) -> None:
    first = manager.start("port-db")
    manager.stop("port-db")
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the stop leaves TIME_WAIT
        squatter.bind(("127.0.0.1", first.port))
        squatter.listen()
        moved = manager.start("port-db")
        assert moved.port != first.port
        assert json.loads(manager.paths("port-db").metadata.read_text())["port"] == moved.port
        assert manager.binding("port-db").port == moved.port
        assert any(str(first.port) in n and str(moved.port) in n for n in notices)
        with connect(moved) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("port-db",)
    assert moved.inline_password == first.inline_password
    assert not list(manager.paths("port-db").root.glob(".*.tmp"))


class _RacedPorts(LoopbackPorts):
    """Hands out ``taken`` first and calls it free once: another program binds it between check and launch."""

    def __init__(self, taken: int) -> None:
        self.taken = taken
        self.handed_out = self.lied = False

    def free_port(self) -> int:
        if not self.handed_out:
            self.handed_out = True
            return self.taken
        return super().free_port()

    def is_free(self, port: int) -> bool:
        if port == self.taken and not self.lied:
            self.lied = True
            return True
        return super().is_free(port)


def test_a_port_lost_at_launch_is_picked_again(home: Path, notices: Notices) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        manager = LocalPostgresManager(home, notify=notices, monitor=False, ports=_RacedPorts(taken))
        binding = manager.start("race-port-db")
        assert binding.port != taken
        assert manager.binding("race-port-db").port == binding.port
        assert any(str(taken) in n and str(binding.port) in n for n in notices), notices
        assert "could not bind" in manager.log_path("race-port-db").read_text()  # the first launch lost
        with connect(binding) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("race-port-db",)
    manager.stop("race-port-db")


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.mark.parametrize("damage", ["garbage", "missing", "wrong-field", "truncated"])
def test_corrupt_metadata_leaves_everything_untouched(
    shared_manager: LocalPostgresManager, damage: str
) -> None:
    name = f"corrupt-{damage}"
    binding = shared_manager.start(name)
    shared_manager.stop(name)
    paths = shared_manager.paths(name)
    original = paths.metadata.read_bytes()
    if damage == "garbage":
        paths.metadata.write_bytes(b"\x00\xffnot json")
    elif damage == "missing":
        paths.metadata.unlink()
    elif damage == "wrong-field":
        paths.metadata.write_text(json.dumps({**json.loads(original), "port": "5432"}))
    else:
        paths.metadata.write_bytes(original[: len(original) // 2])
    before = _tree_digest(paths.root)
    with pytest.raises(MetadataInvalid) as info:
        shared_manager.start(name)
    text = str(info.value)
    assert str(paths.metadata) in text and str(paths.data) in text
    assert binding.inline_password.get_secret_value() not in text  # type: ignore[union-attr]
    assert _tree_digest(paths.root) == before
    assert read_postmaster_pid(paths.data) is None
    paths.metadata.write_bytes(original)
    assert shared_manager.start(name).port == binding.port
    shared_manager.stop(name)


def test_non_empty_data_dir_without_cluster_is_refused(manager: LocalPostgresManager) -> None:
    manager.start("odd-db")
    manager.stop("odd-db")
    paths = manager.paths("odd-db")
    (paths.data / "PG_VERSION").rename(paths.data / "PG_VERSION.moved")
    before = _tree_digest(paths.root)
    with pytest.raises(DataDirInvalid, match="no PG_VERSION"):
        manager.start("odd-db")
    assert _tree_digest(paths.root) == before


def test_a_first_init_that_never_finished_is_done_again(manager: LocalPostgresManager) -> None:
    """Metadata written, initdb killed: the empty data dir and leftovers are taken care of."""
    manager.start("retry-db")
    manager.stop("retry-db")
    paths = manager.paths("retry-db")
    password = json.loads(paths.metadata.read_text())["password"]
    import shutil

    shutil.rmtree(paths.data)
    paths.data.mkdir()
    # As a first start killed during initdb leaves it: state.json, written before metadata.json,
    # still says "not initialised" (a missing one now means "unknown", and start refuses).
    paths.state.write_text(json.dumps({"desired": "stopped", "bootstrapped": False, "initialized": False}))
    (paths.root / ".pwfile-1-2").write_text(password)  # what a SIGKILL could leave behind
    (paths.root / ".data-initdb-1-2").mkdir()
    binding = manager.start("retry-db")
    assert binding.inline_password.get_secret_value() == password  # type: ignore[union-attr]
    with connect(binding) as conn:
        conn.execute("SELECT 1")
    assert not list(paths.root.glob(".pwfile-*")) and not list(paths.root.glob(".data-initdb-*"))


@pytest.mark.parametrize("how", ["emptied", "missing"])
def test_an_initialised_database_is_never_recreated_empty(manager: LocalPostgresManager, how: str) -> None:
    manager.start("kept-db")
    manager.stop("kept-db")
    paths = manager.paths("kept-db")
    import shutil

    shutil.rmtree(paths.data)
    if how == "emptied":
        paths.data.mkdir()
    before = _tree_digest(paths.root)
    with pytest.raises(DataDirInvalid, match="initialised before") as info:
        manager.start("kept-db")
    assert "alien-nb delete kept-db" in str(info.value)
    assert _tree_digest(paths.root) == before


def test_version_rules(shared_manager: LocalPostgresManager) -> None:
    shared_manager.start("ver-db")
    with pytest.raises(InvalidResourceUpdate, match="cannot change version in place"):
        shared_manager.start("ver-db", version="17")
    with pytest.raises(VersionUnavailable) as info:
        shared_manager.start("ver-other", version="9")
    assert "18 (bundled" in str(info.value) and "apt-get install postgresql-9" in str(info.value)
    assert not shared_manager.paths("ver-other").root.exists()


def test_system_postgres_without_pgvector_is_reported(
    manager: LocalPostgresManager, notices: Notices
) -> None:
    found = {m: i for m, i in system_installations().items() if m != "18"}
    if not found:
        pytest.skip("no PostgreSQL other than the bundled 18 is installed on this machine")
    major, inst = sorted(found.items())[0]
    binding = manager.start("sys-db", version=major)
    with connect(binding) as conn:
        assert conn.execute("SHOW server_version_num").fetchone()[0].startswith(major)  # type: ignore[index]
    assert manager.status("sys-db").version == major
    assert any("has no pgvector" in n for n in notices) is (not inst.has_pgvector)


@pytest.mark.parametrize("name", ["../escape", "a/b", "", "x" * 64, "-lead", "with space"])
def test_bad_names(manager: LocalPostgresManager, name: str) -> None:
    with pytest.raises(InvalidResource, match="database name"):
        manager.start(name)
    assert not (manager.home / "postgres" / name).exists() or name == ""


def test_unknown_database(manager: LocalPostgresManager) -> None:
    for call in (manager.stop, manager.delete, manager.status, manager.binding):
        with pytest.raises(DatabaseNotFound):
            call("nope")


def test_worker_env_masks_its_value(shared_manager: LocalPostgresManager) -> None:
    binding = shared_manager.start("env-db")
    env = shared_manager.worker_env("env-db")
    password = binding.inline_password.get_secret_value()  # type: ignore[union-attr]
    assert list(env) == ["ALIEN_ENV_DB_BINDING"]
    assert password not in repr(env) and password not in str(env)
    assert json.loads(env["ALIEN_ENV_DB_BINDING"])["password"] == password


def test_dead_lock_holder_never_blocks(manager: LocalPostgresManager, home: Path) -> None:
    manager.start("lock-db")
    manager.stop("lock-db")
    lock = manager.paths("lock-db").lock
    code = (
        "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR); fcntl.flock(fd, fcntl.LOCK_EX);"
        "print('locked', flush=True); os.kill(os.getpid(), 9)"
    )
    holder = subprocess.run([sys.executable, "-c", code, str(lock)], capture_output=True, text=True)
    assert "locked" in holder.stdout and holder.returncode == -9
    # The dead holder's lock is free at once (flock dies with its process): no stale-lock wait.
    fd = try_lock(lock)
    assert fd is not None
    release(fd)
    manager.start("lock-db")


def _wait_for_its_backends(manager: LocalPostgresManager, name: str) -> None:
    """Until the children of a killed postmaster (working in its data dir) have noticed and exited.

    A wait on the killed server itself, not on the monitor: a restart before it
    would find the port and the shared memory still held.
    """
    data = manager.paths(name).data
    deadline = time.monotonic() + 30
    while processes_in(data) and time.monotonic() < deadline:
        time.sleep(0.01)


def test_monitor_restarts_a_killed_server(home: Path, notices: Notices) -> None:
    clock = SteppedMonitor()  # the real monitor thread, checking when told to: no waiting on its period
    manager = LocalPostgresManager(home, notify=notices, monitor=True, clock=clock)
    binding = manager.start("crash-db")
    with connect(binding) as conn:
        conn.execute("CREATE TABLE kept (id int)")
        conn.execute("INSERT INTO kept SELECT generate_series(1, 1000)")
    pid = postmaster_pid(manager, "crash-db")
    os.kill(pid, 9)
    _wait_for_its_backends(manager, "crash-db")
    for _ in range(300):  # the killed server's children may hold its shared memory for a moment
        clock.step()
        if any("restarted" in n for n in notices):
            break
    assert any("restarted" in n for n in notices), notices
    status = manager.status("crash-db")
    assert status.lifecycle == "running" and status.pid not in (None, pid), status
    with connect(manager.binding("crash-db")) as conn:
        assert conn.execute("SELECT count(*) FROM kept").fetchone() == (1000,)
    manager.stop("crash-db")
    clock.step()  # a stopped database stays stopped: the monitor checks it, and leaves it alone
    clock.step()
    assert manager.status("crash-db").lifecycle == "stopped"
    manager.close()


def test_orphaned_server_is_adopted_by_a_new_process(home: Path) -> None:
    """A kernel that started a server dies; a new one attaches and its monitor takes over."""
    code = (
        "import os; from alien_nb.local import LocalPostgresManager;"
        f"LocalPostgresManager({str(home)!r}, notify=print).start('orphan-db'); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    clock = SteppedMonitor()
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=True, clock=clock)
    first = manager.start("orphan-db")
    pid = postmaster_pid(manager, "orphan-db")
    os.kill(pid, 9)  # not our child: reaped by init, restarted by our monitor
    # Its orphaned backends hold the listening socket until they notice: the old binding stays
    # valid only if the restart finds the port free again (else it moves, as it should).
    _wait_for_its_backends(manager, "orphan-db")
    assert port_is_free(first.port)
    for _ in range(300):
        clock.step()
        status = manager.status("orphan-db")
        if status.lifecycle == "running" and status.pid not in (None, pid):
            break
    else:
        pytest.fail(f"not restarted: {manager.status('orphan-db')}")
    with connect(first) as conn:
        conn.execute("SELECT 1")
    manager.stop("orphan-db")
    manager.close()
