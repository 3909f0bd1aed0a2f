"""`alien-nb`, run as a real command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.local.conftest import secret_spellings

CHILD = """
import json, os, psycopg
b = json.loads(os.environ["ALIEN_CLI_DB_BINDING"])
assert b["service"] == "local-postgres"
with psycopg.connect(host=b["host"], port=b["port"], dbname=b["database"], user=b["username"],
                     password=b["password"], sslmode="disable") as conn:
    print("child:", conn.execute("SELECT current_database()").fetchone()[0])
"""


def cli(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("alien-nb", path=os.path.dirname(sys.executable)) or "alien-nb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "ALIEN_"))}
    done = subprocess.run([exe, "--home", str(home), *args], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL)  # fmt: skip
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_cli_lifecycle(home: Path) -> None:
    started = cli(home, "start", "cli-db")
    assert "cli-db: running on 127.0.0.1:" in started.stdout
    assert "****" in started.stdout
    port = json.loads(cli(home, "status", "cli-db", "--json").stdout)["port"]
    status = json.loads(cli(home, "status", "cli-db", "--json").stdout)
    assert status["lifecycle"] == "running" and status["processRunning"] is True
    listing = json.loads(cli(home, "list", "--json").stdout)
    assert [s["name"] for s in listing] == ["cli-db"]
    assert "running" in cli(home, "status").stdout

    password = json.loads((home / "postgres" / "cli-db" / "metadata.json").read_text())["password"]
    masked = cli(home, "url", "cli-db").stdout.strip()
    assert masked == f"postgres://postgres:****@127.0.0.1:{port}/cli-db?sslmode=disable"
    shown = cli(home, "url", "cli-db", "--show-password").stdout.strip()
    assert shown == (
        f"postgres://postgres:{password}@127.0.0.1:{port}/cli-db?sslmode=disable&require_auth=scram-sha-256"
    )

    # A worker gets the binding through the environment only, and alien-nb prints nothing itself.
    run = cli(home, "run", "cli-db", "--", sys.executable, "-c", CHILD)
    assert run.stdout == "child: cli-db\n"
    assert run.stderr == ""

    logs = cli(home, "logs", "cli-db", "--lines", "5").stdout
    assert "ready to accept connections" in cli(home, "logs", "cli-db", "--lines", "500").stdout
    everything = started.stdout + started.stderr + masked + logs + json.dumps(listing) + run.stderr
    assert not any(s.decode() in everything for s in secret_spellings(password))

    assert "stopped" in cli(home, "stop", "cli-db").stdout
    assert json.loads(cli(home, "status", "cli-db", "--json").stdout)["lifecycle"] == "stopped"
    refused = cli(home, "delete", "cli-db", check=False)
    assert refused.returncode == 1 and "--yes" in refused.stderr
    assert "deleted" in cli(home, "delete", "cli-db", "--yes").stdout
    assert json.loads(cli(home, "list", "--json").stdout) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["status", "ghost"], "No local database named 'ghost'"),
        (["start", "bad/name"], "the database name must be"),
        (["start", "v-db", "--version", "9"], "No PostgreSQL 9 installation found"),
        (["run", "ghost-run"], "No command given"),
    ],
)
def test_cli_errors_are_one_clear_message(home: Path, args: list[str], message: str) -> None:
    done = cli(home, *args, check=False)
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert "hint:" in done.stderr


def test_cli_run_unknown_command(home: Path) -> None:
    done = cli(home, "run", "run-db", "--", "definitely-not-a-command-xyz", check=False)
    assert done.returncode == 1 and "Command not found" in done.stderr
