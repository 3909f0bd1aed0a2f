"""Issue 11, section 1: a process squatting on a dead server's port gets no password.

The reproduction: a kernel handle runs; the server is killed (``kill -9``);
an unprivileged process binds the old port and asks for a cleartext (or
MD5) password; the monitor restarts the server on a new port. Every
connection alien_nb opens must reach the real server, or refuse: the
handle through the server's private Unix socket and the port in metadata,
workers' TCP connections by SCRAM only (``require_auth``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from alien_nb import ConnectionFailed, get_postgres_connection
from alien_nb.local import LocalPostgresManager
from alien_nb.notebook._database import Database
from alien_nb.notebook._state import NotebookState
from tests.frames import dataframe
from tests.local.conftest import stop_everything

from ._connection_crash import (
    NAME,
    Lines,
    assert_nothing_of,
    kill9,
    monitor_held_off,
    notebook,
    password_of,
    server_port,
    wait_for,
)
from .impostor import Impostor


def moved_lines(lines: Lines) -> list[str]:
    return [line for line in lines if "now listens on" in line]


@pytest.mark.parametrize("method", ["cleartext", "md5"])
def test_monitor_restart_while_an_impostor_holds_the_port(
    state: NotebookState, home: Path, lines: Lines, method: str
) -> None:
    db = state.start(NAME, show_progress=False)
    password = password_of(home)
    manager = state.controller.manager
    assert dataframe(db.sql("SELECT 1 AS one"))["one"].tolist() == [1]
    assert db.connection.info.host == str(manager.socket_dir(NAME))  # the handle uses the socket
    with monitor_held_off(manager, NAME):
        old = kill9(manager, NAME)
        impostor = Impostor(old, method=method).start()
    try:
        wait_for(lambda: server_port(manager, NAME) not in (None, old), "the monitor's restart")
        new = server_port(manager, NAME)
        # The first statement after the restart runs, on the new port, and says so once.
        assert dataframe(db.sql("SELECT 2 AS two"))["two"].tolist() == [2]
        assert db.connection.info.port == new
        assert dataframe(db.sql("SELECT 3 AS three"))["three"].tolist() == [3]
        assert len(moved_lines(lines)) == 1 and f":{new}" in moved_lines(lines)[0]
        # Every other way out of the handle goes there too.
        with db.connect() as conn:
            assert conn.execute("SELECT inet_server_port() IS NULL").fetchone() == (True,)  # the socket
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 4").scalar() == 4
        frame = dataframe(db.sql("SELECT g FROM generate_series(1, 6000) AS g"))
        assert len(frame) == 6000 and any("(binary, streamed)" in line for line in lines)
        assert json.loads(db.worker_env()["ALIEN_LEAKY_BINDING"])["port"] == new
        assert len(moved_lines(lines)) == 1
    finally:
        impostor.stop()
    assert impostor.connections == 0  # not even a startup packet: the handle never used the port
    assert_nothing_of(password, impostor.received)


def test_stop_and_start_elsewhere_while_the_port_is_taken(
    state: NotebookState, home: Path, lines: Lines
) -> None:
    db = state.start(NAME, show_progress=False)
    password = password_of(home)
    db.sql("CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)")
    other = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)  # another terminal
    old = db.connection.info.port
    other.stop(NAME)  # a clean stop: the server removes its socket
    with Impostor(old, method="cleartext") as impostor:
        with pytest.raises(ConnectionFailed) as info:
            db.sql("SELECT v FROM kept")  # not tried on the port: no server of its runs
        assert "not running" in (info.value.hint or "")
        assert f":{old}" in db.url and db.binding["port"] == old  # still shown while it is down
        other.start(NAME)
        assert dataframe(db.sql("SELECT v FROM kept"))["v"].tolist() == [7]
        assert db.connection.info.port != old and len(moved_lines(lines)) == 1
    assert impostor.connections == 0
    assert_nothing_of(password, impostor.received)


def test_while_down_the_handle_fails_without_trying_the_port(
    state: NotebookState, home: Path, lines: Lines
) -> None:
    db = state.start(NAME, show_progress=False)
    password = password_of(home)
    db.sql("SELECT 1")
    manager = state.controller.manager
    state.restart_wait = 0.2  # the monitor is held off: it will not come back in time
    with monitor_held_off(manager, NAME):
        old = kill9(manager, NAME)
        with Impostor(old, method="cleartext") as impostor:
            with pytest.raises(ConnectionFailed) as info:
                db.sql("SELECT 1")
            assert "not running" in (info.value.hint or "")
    assert [line for line in lines if "waiting up to" in line]
    assert impostor.connections == 0
    assert_nothing_of(password, impostor.received)


def test_a_statement_right_after_the_crash_waits_for_the_restart(
    state: NotebookState, home: Path, lines: Lines
) -> None:
    db = state.start(NAME, show_progress=False)
    password = password_of(home)
    db.sql("CREATE TABLE kept (v int); INSERT INTO kept VALUES (8)")
    manager = state.controller.manager
    results: list[Any] = []
    with monitor_held_off(manager, NAME):
        old = kill9(manager, NAME)
        impostor = Impostor(old, method="cleartext").start()
        query = threading.Thread(target=lambda: results.append(db.sql("SELECT v FROM kept")))
        query.start()  # right after the crash, before any restart
        wait_for(lambda: any("waiting up to" in line for line in lines), "the handle to wait for the restart")
    try:
        query.join(timeout=60)
        assert results and results[0]["v"].tolist() == [8]  # ran once the monitor had restarted it
        assert db.connection.info.port != old
    finally:
        impostor.stop()
    assert len([line for line in lines if "waiting up to" in line]) == 1
    assert impostor.connections == 0
    assert_nothing_of(password, impostor.received)


@pytest.fixture
def long_home(tmp_path: Path) -> Iterator[Path]:
    """A home whose socket path does not fit a Unix socket address: the server listens on TCP only."""
    path = tmp_path / ("d" * 60) / "h"
    yield path
    stop_everything(path)


@pytest.mark.parametrize("method", ["cleartext", "md5"])
def test_tcp_handles_refuse_anything_but_scram(long_home: Path, lines: Lines, method: str) -> None:
    state = notebook(long_home, lines)
    state.restart_wait = 0  # the test holds the monitor off and wants the impostor met at once
    try:
        db = state.start(NAME, show_progress=False)
        password = password_of(long_home)
        manager = state.controller.manager
        assert manager.socket_dir(NAME) is None and db.connection.info.host == "127.0.0.1"
        with monitor_held_off(manager, NAME):
            old = kill9(manager, NAME)
            impostor = Impostor(old, method=method).start()
            try:
                with pytest.raises(ConnectionFailed) as info:  # metadata still names the old port
                    db.sql("SELECT 1")
                asked = "a cleartext password" if method == "cleartext" else "an MD5 password hash"
                assert asked in (info.value.hint or "") and "Nothing was sent" in (info.value.hint or "")
                with pytest.raises(Exception) as by_engine:
                    db.engine.connect()
                assert password not in str(by_engine.value)
                assert (
                    impostor.startup_packets >= 2
                )  # the handle and the engine reached it, and went no further
            finally:
                impostor.stop()
        # The impostor keeps the port; the restart moves elsewhere and the handle follows.
        with Impostor(old, method=method) as squatter:
            wait_for(lambda: server_port(manager, NAME) not in (None, old), "the monitor's restart")
            assert dataframe(db.sql("SELECT 5 AS five"))["five"].tolist() == [5]
        assert_nothing_of(password, impostor.received + squatter.received)
    finally:
        state.close()


def test_worker_binding_pointing_at_an_impostor(home: Path) -> None:
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    manager.start(NAME)
    password = password_of(home)
    env = dict(manager.worker_env(NAME))  # what `alien-nb run` hands a worker
    old = kill9(manager, NAME)
    with Impostor(old, method="cleartext") as impostor:
        conn = get_postgres_connection(NAME, environ=env)
        with pytest.raises(ConnectionFailed, match="cleartext password") as info:
            conn.connect()
        assert "not this database's server" in (info.value.hint or "")
        assert password not in str(info.value) + repr(info.value)
        with pytest.raises(psycopg.OperationalError, match="scram-sha-256"):
            psycopg.connect(conn.libpq_uri().get_secret_value(), connect_timeout=5)
        import adbc_driver_postgresql.dbapi as adbc

        with pytest.raises(Exception, match="scram-sha-256"):
            adbc.connect(conn.libpq_uri().get_secret_value())
    assert impostor.startup_packets == 3
    assert_nothing_of(password, impostor.received)
    manager.start(NAME)  # back on a new port: the same worker code now connects
    with get_postgres_connection(NAME, environ=dict(manager.worker_env(NAME))).connect() as pg:
        assert pg.execute("SELECT current_user").fetchone() == ("postgres",)


def test_control_a_client_without_require_auth_leaks(home: Path) -> None:
    """Shows the impostor works: the contract's plain URL, given to libpq as is, hands the password over."""
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    manager.start(NAME)
    password = password_of(home)
    old = kill9(manager, NAME)
    with Impostor(old, method="cleartext") as impostor:
        conn = get_postgres_connection(NAME, environ=dict(manager.worker_env(NAME)))
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(conn.connection_string.get_secret_value(), connect_timeout=5)
    assert password.encode() in impostor.received


def test_external_without_tls_requires_scram(home: Path) -> None:
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    binding = manager.start(NAME)
    password = binding.password.get_secret_value()
    external: dict[str, Any] = {"service": "external", "host": "127.0.0.1", "port": binding.port,
                                "database": NAME, "username": "postgres", "password": password,
                                "sslMode": "disable"}  # fmt: skip
    env = {"ALIEN_EXT_BINDING": json.dumps(external)}
    with get_postgres_connection("ext", environ=env).connect() as pg:  # SCRAM: the real server passes
        assert pg.execute("SELECT 1").fetchone() == (1,)
    for method in ("cleartext", "md5", "trust"):
        with Impostor(method=method) as impostor:
            env = {"ALIEN_EXT_BINDING": json.dumps({**external, "port": impostor.port})}
            with pytest.raises(ConnectionFailed) as info:
                get_postgres_connection("ext", environ=env).connect()
            assert "SCRAM" in (info.value.hint or "")
        assert_nothing_of(password, impostor.received)
    db = Database("ext", get_postgres_connection("ext", environ={"ALIEN_EXT_BINDING": json.dumps(external)}),
                  backend="external")  # fmt: skip
    try:
        assert dataframe(db.sql("SELECT 6 AS six"))["six"].tolist() == [6]
    finally:
        db.close()


def test_an_impostor_speaking_scram_gets_a_proof_not_the_password(home: Path) -> None:
    """SCRAM lets a squatter go as far as the client's proof, with a salt and iteration count of its
    choosing (libpq accepts 1): that allows offline guessing, hopeless against the 24 random
    characters of a local password, and it cannot finish: it does not know the server's key."""
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    manager.start(NAME)
    password = password_of(home)
    env = dict(manager.worker_env(NAME))
    old = kill9(manager, NAME)
    with (
        Impostor(old, method="scram") as impostor,
        pytest.raises(ConnectionFailed, match="authentication failed"),
    ):
        get_postgres_connection(NAME, environ=env).connect()
    assert b"c=biws" in impostor.received and b",p=" in impostor.received  # it got as far as the proof
    assert_nothing_of(password, impostor.received)
