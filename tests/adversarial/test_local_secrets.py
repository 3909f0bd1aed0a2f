"""A local database's password is in metadata.json and nowhere else, whatever an attacker or a crash does.

Another local user on a shared machine, or a ``kill -9`` at the worst
moment, must never find the password in any other file under the home (in
plain, percent-encoded, base64 or hex form), in a process's command line or
environment, or in the server log.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from alien_nb.core import connection_string
from alien_nb.local import DataDirInvalid, HomeInvalid, LocalPostgresManager, MetadataInvalid
from alien_nb.local._scram import scram_verifier
from tests.adversarial.impostor import secret_forms
from tests.local.conftest import Notices

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another account")


def _written(paths: Iterator[Path]) -> bool:
    """Any of these files exists and has content (it may vanish as we look)."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_size:
                return True
    return False


def _password(home: Path, name: str) -> str:
    return str(json.loads((home / "postgres" / name / "metadata.json").read_text())["password"])


def _files_holding(home: Path, password: str) -> list[Path]:
    """Every file under ``home`` but metadata.json that holds the password in any form."""
    forms = secret_forms(password)
    found = []
    for path in home.rglob("*"):
        if path.name == "metadata.json" or path.is_symlink() or not path.is_file():
            continue
        try:
            content = path.read_bytes()
        except OSError:
            continue  # removed meanwhile
        if any(form in content for form in forms):
            found.append(path)
    return found


def _processes_in(folder: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if Path(os.readlink(proc / "cwd")) == folder:
                    pids.append(int(proc.name))
            except OSError:
                pass
    return pids


START = (
    "import sys; from alien_nb.local import LocalPostgresManager;"
    "LocalPostgresManager(sys.argv[1], notify=lambda _m: None, monitor=False).start('kill-db')"
)


def test_kill_9_during_initdb_leaves_the_password_nowhere(home: Path) -> None:
    root = home / "postgres" / "kill-db"
    starter = subprocess.Popen([sys.executable, "-c", START, str(home)], stderr=subprocess.DEVNULL)
    seen: dict[str, bytes] = {}
    deadline = time.monotonic() + 60
    try:
        # Until it holds what initdb will read: a file caught between its creation and its write is empty.
        while time.monotonic() < deadline and not _written(root.glob(".pwfile-*")):
            assert starter.poll() is None, "the start ended before initdb ran"
            time.sleep(0.001)
        pwfiles = list(root.glob(".pwfile-*"))
        assert pwfiles, "initdb's password file never appeared"
        staging = next(root.glob(".data-initdb-*"))
        for pid in _processes_in(staging):  # initdb and its bootstrap backend, as ps shows them
            for part in ("cmdline", "environ"):
                try:
                    seen[f"{pid}/{part}"] = Path(f"/proc/{pid}/{part}").read_bytes()
                except OSError:
                    pass
        frozen = {path: path.read_bytes() for path in pwfiles if path.exists()}
    finally:
        starter.send_signal(signal.SIGKILL)
        starter.wait()
    password = _password(home, "kill-db")
    forms = secret_forms(password)
    assert frozen and all(content.startswith(b"SCRAM-SHA-256$4096:") for content in frozen.values())
    assert not any(form in content for content in frozen.values() for form in forms)
    assert not any(form in value for value in seen.values() for form in forms)
    assert _files_holding(home, password) == []

    # The orphaned initdb may still be writing; the next start ends it and starts afresh.
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    binding = manager.start("kill-db")
    assert binding.inline_password.get_secret_value() == password  # type: ignore[union-attr]
    with psycopg.connect(connection_string(binding).get_secret_value()) as conn:  # the real password works
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
    with pytest.raises(psycopg.OperationalError):  # and the verifier is no password
        psycopg.connect(host="127.0.0.1", port=binding.port, user="postgres", dbname="kill-db",
                        password=next(iter(frozen.values())).decode())  # fmt: skip
    assert not list(root.glob(".pwfile-*")) and not list(root.glob(".data-initdb-*"))
    assert _files_holding(home, password) == []
    manager.stop("kill-db")


def test_a_non_ascii_password_is_prepared_as_postgres_does(home: Path) -> None:
    """The verifier applies SASLprep (NFKC: the ligature ﬁ becomes fi), as libpq does on the client."""
    password = "Pässwörd-ﬁ-\u00a0-\u2163-long-enough"
    root = home / "postgres" / "uni-db"
    root.mkdir(parents=True)
    os.chmod(home, 0o700)
    meta = {"resourceId": "uni-db", "version": "18", "port": 0, "username": "postgres",
            "password": password, "database": "uni-db", "dataDir": str(root / "data")}  # fmt: skip
    from alien_nb.local._ports import free_loopback_port

    meta["port"] = free_loopback_port()
    fd = os.open(root / "metadata.json", os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(meta, f)
    # What creating a database writes beside metadata.json: without it, start cannot know that
    # the missing data dir was never initialised, and refuses.
    (root / "state.json").write_text(json.dumps({"initialized": False}))
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    binding = manager.start("uni-db")
    with psycopg.connect(connection_string(binding).get_secret_value()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    manager.stop("uni-db")


def test_the_verifier_holds_no_form_of_the_password() -> None:
    from pydantic import SecretStr

    password = "abcdefghijklmnopqrstuvwx"
    verifier = scram_verifier(SecretStr(password))
    assert verifier.startswith("SCRAM-SHA-256$4096:")
    assert not any(form in verifier.encode() for form in secret_forms(password))
    assert scram_verifier(SecretStr(password)) != verifier  # a fresh salt each time


def test_metadata_temp_files_are_cleaned_or_recovered(home: Path, notices: Notices) -> None:
    manager = LocalPostgresManager(home, notify=notices, monitor=False)
    manager.start("tmp-db")
    manager.stop("tmp-db")
    paths = manager.paths("tmp-db")
    original = paths.metadata.read_bytes()
    password = _password(home, "tmp-db")
    leftover = paths.root / ".metadata.json.4242.tmp"  # what a kill -9 during write_metadata leaves
    leftover.write_bytes(original)
    manager.start("tmp-db")
    assert not leftover.exists() and paths.metadata.read_bytes() == original
    manager.stop("tmp-db")
    # Killed between the temp file and the rename, with metadata.json gone: the copy is the metadata.
    paths.metadata.unlink()
    leftover.write_bytes(original)
    os.chmod(leftover, 0o600)
    manager.start("tmp-db")
    assert json.loads(paths.metadata.read_text())["password"] == password
    assert any("put it back" in n for n in notices)
    assert _files_holding(home, password) == []
    manager.stop("tmp-db")


def test_a_failed_alter_role_does_not_put_the_password_in_the_log(home: Path) -> None:
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    binding = manager.start("log-db")
    password = _password(home, "log-db")
    with psycopg.connect(connection_string(binding).get_secret_value(), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.UndefinedObject):
            conn.execute(f"ALTER ROLE nosuchrole PASSWORD '{password}'")
        with pytest.raises(psycopg.errors.SyntaxError):
            conn.execute(f"ALTER ROLE postgres PASSWORD '{password}' TYPO")
    log = manager.paths("log-db").log.read_bytes()
    assert b"nosuchrole" in log  # the error is logged, the statement with its password is not
    assert not any(form in log for form in secret_forms(password))
    manager.stop("log-db")


# -- planted symlinks and foreign folders -----------------------------------------


@pytest.mark.parametrize("target", ["state.json", "data/alien_nb.conf"])
def test_a_planted_symlink_is_replaced_not_followed(home: Path, tmp_path: Path, target: str) -> None:
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    manager.start("sym-db")
    manager.stop("sym-db")
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    planted = manager.paths("sym-db").root / target
    planted.unlink()
    planted.symlink_to(victim)
    manager.start("sym-db")
    assert victim.read_text() == "untouched"
    assert not planted.is_symlink()
    manager.stop("sym-db")


@pytest.mark.parametrize("target", ["server.log", "metadata.json", "socket", "lock"])
def test_a_planted_symlink_is_refused(home: Path, tmp_path: Path, target: str) -> None:
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    manager.start("sym2-db")
    manager.stop("sym2-db")
    paths = manager.paths("sym2-db")
    victim = tmp_path / "victim"
    victim.mkdir() if target == "socket" else victim.write_text("untouched")
    planted = paths.lock if target == "lock" else paths.root / target
    if target == "socket":
        import shutil

        shutil.rmtree(planted)
    else:
        planted.unlink()
    planted.symlink_to(victim)
    with pytest.raises((DataDirInvalid, MetadataInvalid, HomeInvalid, OSError)) as info:
        manager.start("sym2-db")
    if target != "lock":  # a lock symlink only ever gives ELOOP: nothing is written through it
        assert isinstance(info.value, (DataDirInvalid, MetadataInvalid, HomeInvalid))
        assert "symbolic link" in str(info.value) or "not a folder" in str(info.value)
    assert manager.status("sym2-db").process_running is False
    if victim.is_file():
        assert victim.read_text() == "untouched"
    else:
        assert list(victim.iterdir()) == []


@root_only
def test_a_home_planted_by_another_user_is_refused(tmp_path: Path) -> None:
    """Another user made the folder first (in /tmp, say): alien_nb must not put a password in it."""
    import pwd

    nobody = pwd.getpwnam("nobody")
    home = tmp_path / "shared-home"
    (home / "postgres").mkdir(parents=True)
    os.chown(home / "postgres", nobody.pw_uid, nobody.pw_gid)
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    with pytest.raises(HomeInvalid, match="belongs to uid"):
        manager.start("planted-db")
    assert not (home / "postgres" / "planted-db").exists()
    os.chown(home / "postgres", 0, 0)
    os.chmod(home / "postgres", 0o777)
    with pytest.raises(HomeInvalid, match="can be written by other users"):
        manager.start("planted-db")
    assert not (home / "postgres" / "planted-db").exists()


def test_nothing_under_the_home_is_readable_by_others(home: Path) -> None:
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    manager.start("modes-db")
    root = manager.paths("modes-db").root
    for path in [root, *root.iterdir(), *(root.parent / ".locks").iterdir()]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert not mode & 0o007, (path, oct(mode))  # nothing for others
        if path.is_file():
            assert not mode & 0o077, (path, oct(mode))
    manager.stop("modes-db")
