"""Who runs the server: the current user, or (as root) an unprivileged account."""

from __future__ import annotations

import fcntl
import grp
import os
import pwd
import shutil
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ._errors import ServerAccountError

DEFAULT_SERVER_ACCOUNT = "alien-nb"

#: Serialises account creation across processes (useradd itself races: of 8
#: notebooks opened together most failed). /run is root's own, unlike /run/lock.
ACCOUNT_LOCK = Path("/run/alien-nb-account.lock")


def may_create(name: str) -> bool:
    """alien_nb creates a missing account only if it is its own: ``alien-nb`` or ``alien-nb-*``.

    Any other name in ``$ALIEN_NB_SERVER_USER`` must exist already: a typo
    must not quietly create an account.
    """
    return name == DEFAULT_SERVER_ACCOUNT or name.startswith(DEFAULT_SERVER_ACCOUNT + "-")


@dataclass(frozen=True)
class ServerAccount:
    """The OS identity the postgres processes run as."""

    name: str
    uid: int
    gid: int

    @property
    def is_current_user(self) -> bool:
        return self.uid == os.geteuid()

    def popen_kwargs(self) -> dict[str, object]:
        """Arguments for `subprocess.Popen` that drop to this account (when root)."""
        if self.is_current_user:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def own(self, path: Path, mode: int) -> None:
        """Give ``path`` to this account with ``mode``."""
        if not self.is_current_user:
            os.chown(path, self.uid, self.gid, follow_symlinks=False)
        os.chmod(path, mode)


def resolve_server_account(name: str | None, notify: Callable[[str], None]) -> ServerAccount:
    """The current user, or as root the named (or default) unprivileged account.

    As root a missing ``alien-nb`` (or ``alien-nb-*``) account is created (a
    system account with no login shell and no home), once across processes,
    and ``notify`` is told so in one line.
    """
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return ServerAccount(me.pw_name, me.pw_uid, os.getegid())
    wanted = name or os.environ.get("ALIEN_NB_SERVER_USER") or DEFAULT_SERVER_ACCOUNT
    try:
        entry = pwd.getpwnam(wanted)
    except KeyError:
        if not may_create(wanted):
            raise ServerAccountError(wanted, "no such account") from None
        entry = _create_account_once(wanted, notify)
    if entry.pw_uid == 0:
        raise ServerAccountError(wanted, "it is root (uid 0)")
    return ServerAccount(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _create_account_once(name: str, notify: Callable[[str], None]) -> pwd.struct_passwd:
    """Create ``name`` unless another process did while we waited for the lock."""
    try:
        fd = os.open(ACCOUNT_LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise ServerAccountError(name, f"cannot take the lock {ACCOUNT_LOCK} ({exc.strerror})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # the kernel drops it if the holder dies
        try:
            return pwd.getpwnam(name)  # created by the process that held the lock before us
        except KeyError:
            pass
        entry = _create_account(name)
        notify(
            f"alien_nb: running as root, so Postgres runs as the new unprivileged system account "
            f"{name!r} (uid {entry.pw_uid}), created just now."
        )
        return entry
    finally:
        os.close(fd)


def _create_account(name: str) -> pwd.struct_passwd:
    nologin = shutil.which("nologin") or "/bin/false"
    if shutil.which("useradd"):
        cmd = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
               "--shell", nologin, name]  # fmt: skip
    elif shutil.which("adduser"):  # busybox / Alpine
        cmd = ["adduser", "-S", "-D", "-H", "-s", nologin, name]
    else:
        raise ServerAccountError(name, "neither useradd nor adduser is available to create it")
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise ServerAccountError(name, f"creating it failed: {done.stderr.strip() or done.returncode}")
    try:
        return pwd.getpwnam(name)
    except KeyError:
        # nscd may still answer from its cache; useradd flushes it, but ask once more.
        if shutil.which("nscd"):
            subprocess.run(["nscd", "-i", "passwd"], capture_output=True)
        try:
            return pwd.getpwnam(name)
        except KeyError:
            raise ServerAccountError(name, "it was created but the system does not list it yet") from None


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def make_traversable(
    path: Path, account: ServerAccount, notify: Callable[[str], None], *, purpose: str = "its data directory"
) -> None:
    """Let ``account`` reach ``path``: add search (x, not read) permission where it lacks it.

    Only for folders above alien_nb's home that the account cannot pass,
    such as a root home directory; each change is reported.
    """
    if account.is_current_user:
        return
    for folder in reversed([path, *path.parents]):
        st = folder.stat()
        if st.st_uid == account.uid:
            can = st.st_mode & stat.S_IXUSR
        elif st.st_gid == account.gid:
            can = st.st_mode & stat.S_IXGRP
        else:
            can = st.st_mode & stat.S_IXOTH
        if not can:
            os.chmod(folder, stat.S_IMODE(st.st_mode) | stat.S_IXOTH)
            notify(
                f"alien_nb: gave others search-only permission (o+x, no listing) on {folder} "
                f"so the server account {account.name!r} can reach {purpose}."
            )
