"""An impostor on a local database's old port never receives its password.

The attack (issue 11, section 1): the server moved to another port (killed
and restarted by the monitor, or stopped and started again from another
terminal while something took its port); an unprivileged local process on
the old port asks for a cleartext password or an MD5 hash. The manager's
own connections go through the server's private Unix socket and accept only
SCRAM, so the impostor learns nothing, even when the manager is made to
talk to it over TCP.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from alien_nb.local import LocalPostgresManager
from alien_nb.local._metadata import read_metadata
from alien_nb.local._monitor import ServerMonitor
from alien_nb.local._ports import port_is_free
from alien_nb.local._postmaster import read_postmaster_pid
from alien_nb.local._session import connect_scram
from tests.adversarial.impostor import Impostor
from tests.local.conftest import Notices, stop_everything

AUTHS = ["cleartext", "md5"]


def _password(manager: LocalPostgresManager, name: str) -> str:
    return read_metadata(manager.paths(name).metadata).password.get_secret_value()


def test_the_impostor_helper_catches_a_client_that_leaks() -> None:
    """Control: a client without require_auth hands the impostor the password, and the helper sees it."""
    with Impostor(method="cleartext") as fake, pytest.raises(psycopg.OperationalError):
        psycopg.connect(host="127.0.0.1", port=fake.port, user="postgres", password="Leaky-Secret-42",
                        dbname="x", sslmode="disable", connect_timeout=5)  # fmt: skip
    assert fake.password_messages and b"Leaky-Secret-42" in fake.password_messages[0]
    with pytest.raises(AssertionError):
        fake.assert_never_saw("Leaky-Secret-42")


@pytest.mark.parametrize("auth", AUTHS)
def test_start_after_the_port_was_taken(home: Path, notices: Notices, auth: str) -> None:
    manager = LocalPostgresManager(home, notify=notices, monitor=False)
    first = manager.start("moved-db")
    manager.stop("moved-db")
    with Impostor(first.port, method=auth) as fake:
        moved = manager.start("moved-db")
        assert moved.port != first.port
        assert manager.status("moved-db").health == "healthy"
    fake.assert_never_saw(_password(manager, "moved-db"))
    assert fake.connections == 0  # the manager never even knocked: it used the socket
    manager.stop("moved-db")


@pytest.mark.parametrize("auth", AUTHS)
def test_monitor_restart_while_an_impostor_holds_the_port(home: Path, notices: Notices, auth: str) -> None:
    manager = LocalPostgresManager(home, notify=notices, monitor=False)
    first = manager.start("crash-db")
    info = read_postmaster_pid(manager.paths("crash-db").data)
    assert info is not None
    os.kill(info.pid, 9)
    deadline = time.monotonic() + 30  # its orphaned children let go of the listening socket soon after
    while not port_is_free(first.port) and time.monotonic() < deadline:
        time.sleep(0.01)
    with Impostor(first.port, method=auth) as fake:
        monitor = ServerMonitor(
            manager.names, manager._restart_if_down, interval=60
        )  # driven by hand: the real check, no timing
        deadline_checks = 200
        while deadline_checks and not any("restarted" in n for n in notices):
            monitor.check_once()  # the killed server's children may hold its memory for a moment
            deadline_checks -= 1
        assert any("restarted" in n for n in notices), notices
        assert manager.binding("crash-db").port != first.port
        assert manager.status("crash-db").health == "healthy"
    fake.assert_never_saw(_password(manager, "crash-db"))
    assert fake.connections == 0
    manager.stop("crash-db")


def _cli(where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("alien-nb", path=os.path.dirname(sys.executable)) or "alien-nb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "ALIEN_"))}
    done = subprocess.run([exe, "--home", str(where), *args], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.parametrize("auth", AUTHS)
def test_cli_stop_and_start_from_another_process(home: Path, auth: str) -> None:
    _cli(home, "start", "cli-db")
    metadata = home / "postgres" / "cli-db" / "metadata.json"
    old_port = json.loads(metadata.read_text())["port"]
    _cli(home, "stop", "cli-db")
    with Impostor(old_port, method=auth) as fake:
        started = _cli(home, "start", "cli-db")
        assert json.loads(metadata.read_text())["port"] != old_port
        status = json.loads(_cli(home, "status", "cli-db", "--json").stdout)
        assert status["health"] == "healthy"
    password = json.loads(metadata.read_text())["password"]
    fake.assert_never_saw(password)
    assert password not in started.stdout + started.stderr
    _cli(home, "stop", "cli-db")


@pytest.mark.parametrize("auth", [*AUTHS, "trust"])
def test_over_tcp_the_manager_refuses_anything_but_scram(tmp_path: Path, auth: str) -> None:
    """A home so deep that the socket path does not fit: TCP only, and still nothing leaks."""
    deep = tmp_path.joinpath(*["d" * 20] * 4) / "alien-home"
    manager = LocalPostgresManager(deep, notify=lambda _m: None, monitor=False)
    try:
        binding = manager.start("deep-db")
        paths = manager.paths("deep-db")
        assert not paths.socket_fits(binding.port)
        assert manager.status("deep-db").health == "healthy"  # the status login went over TCP, SCRAM
        manager.stop("deep-db")
        metadata = read_metadata(paths.metadata)
        with Impostor(binding.port, method=auth) as fake:
            with pytest.raises(psycopg.OperationalError) as info:
                connect_scram(paths, metadata, "postgres", timeout=5)
            assert fake.connections >= 1  # it did reach the impostor, and hung up on it
        fake.assert_never_saw(metadata.password.get_secret_value())
        assert metadata.password.get_secret_value() not in str(info.value)
    finally:
        stop_everything(deep)


@pytest.mark.parametrize("auth", [*AUTHS, "trust"])
def test_the_status_probe_gives_an_impostor_nothing(auth: str) -> None:
    from pydantic import SecretStr

    from alien_nb.local._probe import probe_login

    secret = "Probe-Secret-Password-123"
    with Impostor(method=auth) as fake:
        result = probe_login(socket_file=None, port=fake.port, user="postgres", password=SecretStr(secret),
                             database="x")  # fmt: skip
    assert not result.ok and not result.rejected and "nothing was sent" in (result.problem or "")
    fake.assert_never_saw(secret)


RACER = """
import json, sys
from alien_nb.local import LocalPostgresManager
from alien_nb.local._postmaster import read_postmaster_pid
manager = LocalPostgresManager(sys.argv[1], notify=lambda _m: None, monitor=False)
print("ready", flush=True)
sys.stdin.readline()
binding = manager.start("race-db")
print(json.dumps({"port": binding.port, "pid": read_postmaster_pid(manager.paths("race-db").data).pid}))
"""


def test_eight_racing_starts_while_an_impostor_holds_the_port(home: Path) -> None:
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    old = manager.start("race-db").port
    manager.stop("race-db")
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    with Impostor(old, method="cleartext") as fake:
        procs = [subprocess.Popen([sys.executable, "-c", RACER, str(home)], **pipes) for _ in range(8)]  # type: ignore[call-overload]
        for proc in procs:
            assert proc.stdout.readline() == b"ready\n"
        for proc in procs:
            proc.stdin.write(b"go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err.decode()[-2000:]
            results.append(json.loads(out))
    assert len({(r["port"], r["pid"]) for r in results}) == 1 and results[0]["port"] != old
    fake.assert_never_saw(_password(manager, "race-db"))
    assert fake.connections == 0
    manager.stop("race-db")
