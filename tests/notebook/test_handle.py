"""A notebook handle's connections: SCRAM only, through the socket, following the server, probed before reuse."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from alien_nb import TransactionLost
from alien_nb.core import parse_binding
from alien_nb.core._conninfo import required_auth
from alien_nb.local import LocalPostgresManager
from alien_nb.notebook._state import NotebookState
from alien_nb.resolver import resolve_inline
from tests.adversarial._connection_crash import Lines, notebook
from tests.frames import dataframe
from tests.local.conftest import short_home

NAME = "handle-db"


@pytest.mark.parametrize(
    ("service", "sslmode", "expected"),
    [
        ("local-postgres", "disable", "scram-sha-256"),
        ("external", "disable", "scram-sha-256"),
        ("external", "verify-full", None),
        ("aurora", "verify-full", None),
        ("flexible-server", "verify-full", None),
        ("cloud-sql", "verify-ca", None),
    ],
)
def test_required_auth(service: str, sslmode: str, expected: str | None) -> None:
    assert required_auth(service, sslmode) == expected


def test_local_connection_parameters_and_uri() -> None:
    binding = parse_binding({"service": "local-postgres", "host": "127.0.0.1", "port": 5499, "database": "d",
                             "username": "postgres", "password": "p@ss/Word-123456"})  # fmt: skip
    conn = resolve_inline(binding)
    assert conn.libpq_params()["require_auth"] == "scram-sha-256"
    parsed = conninfo_to_dict(conn.libpq_uri().get_secret_value())
    assert parsed["require_auth"] == "scram-sha-256" and parsed["host"] == "127.0.0.1"
    assert parsed["password"] == "p@ss/Word-123456"
    # The contract's URL stays exactly the contract's.
    assert conn.connection_string.get_secret_value().endswith("@127.0.0.1:5499/d?sslmode=disable")
    from dataclasses import replace

    via = replace(conn, socket_dir="/tmp/some dir/socket")
    assert via.libpq_params()["host"] == "/tmp/some dir/socket"
    parsed = conninfo_to_dict(via.libpq_uri().get_secret_value())
    assert parsed["host"] == "/tmp/some dir/socket" and parsed["port"] == "5499"
    assert "socket" in via.where and "p@ss" not in repr(via)


@pytest.fixture
def home() -> Iterator[Path]:
    # Short, so the server's Unix socket path fits (tests that want TCP only make a deep one).
    with short_home() as path:
        yield path


@pytest.fixture
def lines() -> Lines:
    return Lines()


@pytest.fixture
def state(home: Path, lines: Lines) -> Iterator[NotebookState]:
    state = notebook(home, lines)
    yield state
    state.close()


def terminate(db: Any) -> None:
    """End the handle's session from another one, and wait until its backend is gone."""
    pid = db.connection.info.backend_pid
    with db.connect(autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,)).fetchone() == (True,)


def test_session_ended_by_the_server_is_replaced_before_the_next_statement(state: NotebookState) -> None:
    db = state.start(NAME, show_progress=False)
    first = db.connection
    terminate(db)
    assert not first.closed  # psycopg cannot know yet: nothing was tried on it
    assert dataframe(db.sql("SELECT 1 AS one"))["one"].tolist() == [1]
    assert db.connection is not first and first.closed


def test_a_pending_notification_is_not_a_dead_connection(state: NotebookState) -> None:
    db = state.start(NAME, show_progress=False)
    conn = db.connection
    conn.execute("LISTEN alien_nb_test")
    with db.connect(autocommit=True) as other:
        other.execute("NOTIFY alien_nb_test, 'hello'")
    assert select.select([conn.pgconn.socket], [], [], 10)[0]  # the notification has arrived, unread
    assert dataframe(db.sql("SELECT 2 AS two"))["two"].tolist() == [2]
    assert db.connection is conn  # kept: the readable socket held a notification, not the end
    received = list(conn.notifies(timeout=1, stop_after=1))
    assert [n.payload for n in received] == ["hello"]


def test_a_session_ended_inside_a_failed_transaction_is_lost_not_replayed(state: NotebookState) -> None:
    db = state.start(NAME, show_progress=False)
    db.sql("BEGIN")
    with pytest.raises(Exception, match="division by zero"):
        db.sql("SELECT 1 / 0")
    terminate(db)
    with pytest.raises(TransactionLost):
        db.sql("SELECT 3")
    assert dataframe(db.sql("SELECT 4 AS four"))["four"].tolist() == [4]


def test_a_server_without_socket_is_reached_by_tcp_then_the_socket(home: Path, lines: Lines) -> None:
    without = LocalPostgresManager(
        home, notify=lines, monitor=False, settings={"unix_socket_directories": ""}
    )
    without.start(NAME)  # as a server started before alien_nb used sockets
    state = notebook(home, lines)
    try:
        db = state.start(NAME, show_progress=False)
        assert db.connection.info.host == "127.0.0.1"  # TCP, SCRAM only
        assert "socket" not in repr(db)
        without.stop(NAME)
        LocalPostgresManager(home, notify=lines, monitor=False).start(NAME)
        assert dataframe(db.sql("SELECT 1 AS one"))["one"].tolist() == [1]
        assert db.connection.info.host == str(state.controller.manager.socket_dir(NAME))
        assert "via='Unix socket (private)'" in repr(db) and not [
            line for line in lines if "now listens" in line
        ]
    finally:
        state.close()


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ALIEN_NB_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "alien_nb.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=True)  # fmt: skip


def test_alien_nb_stop_and_start_elsewhere_moves_the_handle(
    state: NotebookState, home: Path, lines: Lines
) -> None:
    db = state.start(NAME, show_progress=False)
    db.sql("CREATE TABLE kept (v int); INSERT INTO kept VALUES (9)")
    old = db.connection.info.port
    cli(home, "stop", NAME)
    with socket.socket() as squatter:  # another program takes the port meanwhile
        squatter.bind(("127.0.0.1", old))
        squatter.listen()
        cli(home, "start", NAME)
        assert dataframe(db.sql("SELECT v FROM kept"))["v"].tolist() == [9]
        new = json.loads((home / "postgres" / NAME / "metadata.json").read_text())["port"]
        assert new != old and db.connection.info.port == new
        moved = [line for line in lines if "now listens" in line]
        assert len(moved) == 1 and f"127.0.0.1:{new}" in moved[0] and str(old) in moved[0]
        assert json.loads(db.worker_env()[f"ALIEN_{NAME.upper().replace('-', '_')}_BINDING"])["port"] == new
        assert f":{new}/" in db.url
        db.sql("SELECT 1")
        assert len([line for line in lines if "now listens" in line]) == 1  # said once


def test_psycopg_failure_modes_need_the_probe(state: NotebookState) -> None:
    """Why the probe exists: psycopg says a connection the server ended is fine until a statement fails."""
    db = state.start(NAME, show_progress=False)
    raw = db.connect(autocommit=True)
    try:
        with db.connect(autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 10000)", (raw.info.backend_pid,))
        assert not raw.closed and not raw.broken
        with pytest.raises(psycopg.OperationalError):
            raw.execute("SELECT 1")
        assert raw.closed
    finally:
        raw.close()
