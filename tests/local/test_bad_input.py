"""Bad input gets one specific error with a hint, and nothing on disk changes that should not."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import psycopg
import pytest

from alien_nb.core import AlienError, InvalidResource, connection_string
from alien_nb.local import (
    CredentialsRejected,
    HomeInvalid,
    LocalPostgresManager,
    MetadataInvalid,
    StartFailed,
)
from alien_nb.local._postmaster import read_postmaster_pid
from alien_nb.local._state import read_state
from tests.local.conftest import Notices, secret_spellings


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _running(manager: LocalPostgresManager, name: str) -> bool:
    return manager.status(name).process_running


@pytest.mark.parametrize("existing", [True, False])
def test_metadata_that_is_a_folder(manager: LocalPostgresManager, existing: bool) -> None:
    paths = manager.paths("dir-db")
    if existing:
        manager.start("dir-db")
        manager.stop("dir-db")
        paths.metadata.unlink()
    paths.metadata.mkdir(parents=True)
    before = _digest(paths.root)
    with pytest.raises(MetadataInvalid, match="is a folder") as info:
        manager.start("dir-db")
    assert info.value.hint
    assert _digest(paths.root) == before
    assert manager.status("dir-db").health == "unhealthy"  # no traceback from status either


@pytest.mark.parametrize("kind", ["dev-null", "file", "unwritable"])
def test_a_home_that_cannot_hold_databases(tmp_path: Path, kind: str) -> None:
    if kind == "dev-null":
        home = Path("/dev/null")
    elif kind == "file":
        home = tmp_path / "a-file"
        home.write_text("not a folder")
    elif os.geteuid() == 0:
        home = Path("/proc/alien-nb-home")  # even root cannot make a folder there
    else:
        (tmp_path / "ro").mkdir(mode=0o500)
        home = tmp_path / "ro" / "home"
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    with pytest.raises(HomeInvalid) as info:
        manager.start("home-db")
    assert str(home) in str(info.value) and "ALIEN_NB_HOME" in (info.value.hint or "")
    assert manager.list() == []
    if kind == "file":
        assert home.read_text() == "not a folder"


@pytest.mark.parametrize("name", ["template0", "template1"])
def test_reserved_database_names(manager: LocalPostgresManager, name: str) -> None:
    with pytest.raises(InvalidResource, match="reserved") as info:
        manager.start(name)
    assert info.value.hint
    assert not (manager.home / "postgres" / name).exists()


def test_a_bootstrap_that_fails_leaves_nothing_running(manager: LocalPostgresManager) -> None:
    """Any failure after the launch: the server alien_nb started is stopped, the state says stopped."""
    binding = manager.start("boot-db")
    with psycopg.connect(connection_string(binding).get_secret_value(), autocommit=True) as conn:
        conn.execute("DROP DATABASE postgres")  # where the bootstrap connects first
    manager.stop("boot-db")
    paths = manager.paths("boot-db")
    state = json.loads(paths.state.read_text())
    paths.state.write_text(json.dumps({**state, "bootstrapped": False}))
    with pytest.raises(StartFailed) as info:
        manager.start("boot-db")
    assert "stopped again" in (info.value.hint or "")
    assert not _running(manager, "boot-db")
    assert read_state(paths.state).desired == "stopped"
    assert read_postmaster_pid(paths.data) is None


def _edit_metadata(manager: LocalPostgresManager, name: str, **changes: str) -> None:
    path = manager.paths(name).metadata
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("field", ["password", "username"])
def test_wrong_credentials_in_metadata_while_stopped(manager: LocalPostgresManager, field: str) -> None:
    binding = manager.start("cred-db")
    manager.stop("cred-db")
    real = binding.inline_password.get_secret_value()  # type: ignore[union-attr]
    wrong = "Wrong-But-Long-Password-1" if field == "password" else "intruder"
    _edit_metadata(manager, "cred-db", **{field: wrong})
    with pytest.raises(CredentialsRejected) as info:
        manager.start("cred-db")
    text = str(info.value) + "\n".join(info.value._render_traceback_())
    assert "metadata.json" in text and "stopped the server" in text
    assert not any(s.decode() in text for s in secret_spellings(real) + secret_spellings(wrong))
    assert not _running(manager, "cred-db")
    assert read_state(manager.paths("cred-db").state).desired == "stopped"
    _edit_metadata(manager, "cred-db", password=real, username="postgres")  # the fix the hint names
    manager.start("cred-db")
    assert manager.status("cred-db").health == "healthy"
    manager.stop("cred-db")


def test_wrong_credentials_in_metadata_while_running(manager: LocalPostgresManager) -> None:
    binding = manager.start("cred2-db")
    pid = manager.status("cred2-db").pid
    _edit_metadata(manager, "cred2-db", password="Wrong-But-Long-Password-2")
    status = manager.status("cred2-db")
    assert (status.health, status.lifecycle) == ("unhealthy", "running")
    assert "refuses" in status.message
    with pytest.raises(CredentialsRejected, match="left running"):
        manager.start("cred2-db")
    assert manager.status("cred2-db").pid == pid  # someone else's start: left alone
    _edit_metadata(manager, "cred2-db", password=binding.inline_password.get_secret_value())  # type: ignore[union-attr]
    assert manager.status("cred2-db").health == "healthy"
    manager.stop("cred2-db")


def test_metadata_readable_by_others_is_tightened(manager: LocalPostgresManager, notices: Notices) -> None:
    manager.start("mode-db")
    path = manager.paths("mode-db").metadata
    os.chmod(path, 0o644)
    manager.start("mode-db")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert any("0644" in n and "0600" in n for n in notices)
    os.chmod(path, 0o640)
    manager.status("mode-db")  # status tightens it too
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    manager.stop("mode-db")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the file to another account")
def test_metadata_owned_by_someone_else_is_refused(manager: LocalPostgresManager) -> None:
    import pwd

    manager.start("owner-db")
    manager.stop("owner-db")
    path = manager.paths("owner-db").metadata
    nobody = pwd.getpwnam("nobody")
    os.chown(path, nobody.pw_uid, nobody.pw_gid)
    before = _digest(manager.paths("owner-db").root)
    with pytest.raises(MetadataInvalid, match="owned by uid"):
        manager.start("owner-db")
    assert _digest(manager.paths("owner-db").root) == before
    assert not _running(manager, "owner-db")


def test_every_error_here_is_an_alien_error() -> None:
    for cls in (CredentialsRejected, HomeInvalid, MetadataInvalid):
        assert issubclass(cls, AlienError) and cls.__module__ == "alien_nb"


def test_a_launch_that_times_out_is_not_left_behind_a_stopped_state(home: Path) -> None:
    """The server is still starting when start gives up: the state says running, the next start adopts it."""
    impatient = LocalPostgresManager(home, notify=lambda _m: None, monitor=False, start_timeout=0.001)
    with pytest.raises(StartFailed, match="did not become ready in time"):
        impatient.start("slow-db")
    paths = impatient.paths("slow-db")
    assert read_state(paths.state).desired == "running"  # so the monitor would adopt it
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    binding = manager.start("slow-db")  # waits for the same server, then bootstraps it
    with psycopg.connect(connection_string(binding).get_secret_value()) as conn:
        assert conn.execute("SELECT extname FROM pg_extension WHERE extname = 'vector'").fetchone()
    manager.stop("slow-db")


def test_list_skips_folders_alien_nb_did_not_make(manager: LocalPostgresManager) -> None:
    manager.start("real-db")
    (manager.home / "postgres" / "template0" / "data").mkdir(parents=True)
    (manager.home / "postgres" / "has space" / "data").mkdir(parents=True)
    assert [s.name for s in manager.list()] == ["real-db"]
    manager.stop("real-db")


def test_a_torn_metadata_file_is_refused_without_its_text_on_the_error(
    manager: LocalPostgresManager,
) -> None:
    # A half-written metadata.json: json's error keeps the whole document (password included) in
    # `.doc`. The error alien_nb raises must not carry it along, not even as __context__.
    binding = manager.start("torn-db")
    password = binding.password.get_secret_value()
    manager.stop("torn-db")
    paths = manager.paths("torn-db")
    text = paths.metadata.read_text()
    paths.metadata.write_text(text[: len(text) // 2 + 8])  # cut inside the JSON, after the password
    assert password in paths.metadata.read_text()
    for call in (lambda: manager.binding("torn-db"), lambda: manager.start("torn-db")):
        with pytest.raises(MetadataInvalid) as info:
            call()
        assert info.value.__cause__ is None and info.value.__context__ is None, type(info.value.__context__)
        shown = repr(vars(info.value)) + str(info.value) + repr(info.value.args)
        assert not any(s in shown.encode() for s in secret_spellings(password))
