"""Running as root (Colab, CI): the server runs as an unprivileged account."""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from alien_nb.local import LocalPostgresManager, ServerAccountError
from alien_nb.local._postmaster import read_postmaster_pid
from tests.local.conftest import stop_everything

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="checks what happens when alien_nb runs as root")


@root_only
def test_server_runs_unprivileged(manager: LocalPostgresManager) -> None:
    manager.start("root-db")
    info = read_postmaster_pid(manager.paths("root-db").data)
    assert info is not None
    uid = os.stat(f"/proc/{info.pid}").st_uid
    assert uid != 0
    assert pwd.getpwuid(uid).pw_name == os.environ.get("ALIEN_NB_SERVER_USER", "alien-nb")
    assert os.stat(manager.paths("root-db").data).st_uid == uid
    assert os.stat(manager.paths("root-db").metadata).st_uid == 0


@root_only
def test_named_account_must_exist(home: Path) -> None:
    manager = LocalPostgresManager(home, server_user="no-such-account-xyz", monitor=False)
    with pytest.raises(ServerAccountError, match="no-such-account-xyz"):
        manager.start("acct-db")


@root_only
def test_as_a_normal_user(tmp_path: Path) -> None:
    """The same start / attach / stop, by an unprivileged user with its own home."""
    user = "nobody"
    uid, gid = pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid
    try:
        probe = subprocess.run([sys.executable, "-c", "import alien_nb.local, psycopg"], user=uid, group=gid,
                               capture_output=True, cwd="/")  # fmt: skip
        reason = probe.stderr.decode()[-200:] if probe.returncode else ""
    except OSError as exc:
        reason = str(exc)
    if reason:
        pytest.skip(
            f"user {user!r} cannot run this Python environment ({reason}); run the suite as that user"
        )
    home = Path(tempfile.mkdtemp(prefix="alien-nb-user-"))
    os.chown(home, uid, gid)
    code = f"""
import json, os, stat, psycopg
from alien_nb.core import connection_string
from alien_nb.local import LocalPostgresManager
m = LocalPostgresManager({str(home / "h")!r}, monitor=False, notify=print)
b = m.start("user-db")
with psycopg.connect(connection_string(b).get_secret_value()) as c:
    c.execute("SELECT 1")
assert m.start("user-db").port == b.port
p = m.paths("user-db")
assert stat.S_IMODE(p.root.stat().st_mode) == 0o700
assert stat.S_IMODE(p.metadata.stat().st_mode) == 0o600
m.stop("user-db")
assert m.status("user-db").lifecycle == "stopped"
m.delete("user-db")
print("ok")
"""
    try:
        env = {"PATH": os.environ["PATH"], "HOME": str(home)}
        done = subprocess.run(
            [sys.executable, "-c", code],
            user=uid,
            group=gid,
            capture_output=True,
            text=True,
            cwd="/",
            env=env,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().endswith("ok")
        assert "account" not in done.stdout  # no account created or used when not root
    finally:
        shutil.rmtree(home, ignore_errors=True)


ACCOUNT_WORKER = """
import json, os, sys
from alien_nb.local import LocalPostgresManager
from alien_nb.local._postmaster import read_postmaster_pid
notices = []
manager = LocalPostgresManager(sys.argv[1], server_user=sys.argv[2], notify=notices.append, monitor=False)
print("ready", flush=True)
sys.stdin.readline()  # all eight go at the same moment, imports done
binding = manager.start("acct-race-db")
info = read_postmaster_pid(manager.paths("acct-race-db").data)
print(json.dumps({"postmaster": info.pid, "port": binding.port, "created": sum("created" in n for n in notices)}))
"""


@pytest.fixture
def fresh_account() -> Iterator[str]:
    """A server account name that does not exist yet (alien-nb-*, so alien_nb may create it); removed after."""
    name = f"alien-nb-t{secrets.token_hex(4)}"
    with pytest.raises(KeyError):
        pwd.getpwnam(name)
    yield name
    subprocess.run(["userdel", name], capture_output=True)
    subprocess.run(["groupdel", name], capture_output=True)  # if useradd made a group that outlived it


@root_only
def test_eight_first_starts_create_one_account(home: Path, fresh_account: str) -> None:
    """8 notebooks opened at once on a machine without the account: one account, one postmaster."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ACCOUNT_WORKER, str(home), fresh_account],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(8)
    ]
    results = []
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            proc.stdin.flush()
        for proc in procs:
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err.decode()[-2000:]
            results.append(json.loads(out))
    finally:
        stop_everything(home)
    entry = pwd.getpwnam(fresh_account)
    assert len({r["postmaster"] for r in results}) == 1 and len({r["port"] for r in results}) == 1
    assert sum(r["created"] for r in results) == 1  # exactly one of them created it, and said so
    assert os.stat(home / "postgres" / "acct-race-db" / "data").st_uid == entry.pw_uid
    assert len([line for line in Path("/etc/passwd").read_text().splitlines()
                if line.startswith(fresh_account + ":")]) == 1  # fmt: skip


@root_only
def test_only_alien_nb_accounts_are_created(home: Path) -> None:
    name = f"not-ours-{secrets.token_hex(3)}"
    manager = LocalPostgresManager(home, server_user=name, monitor=False)
    with pytest.raises(ServerAccountError, match="no such account"):
        manager.start("acct2-db")
    with pytest.raises(KeyError):
        pwd.getpwnam(name)
