"""Files and folders of a database that hold or sit beside its password.

Never opened through a symlink, never trusted when another account owns or
can write them: a local attacker could have planted them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from pathlib import Path
from typing import BinaryIO

from ._errors import DataDirInvalid, HomeInvalid


def check_ours(folder: Path, home: Path) -> None:
    """Refuse a folder another account could have planted or can change: its files would hold the password."""
    st = os.lstat(folder)
    if stat.S_ISLNK(st.st_mode):
        raise HomeInvalid(home, f"{folder} is a symbolic link (refused: it could point anywhere)")
    if not stat.S_ISDIR(st.st_mode):
        raise HomeInvalid(home, f"{folder} is not a folder")
    if st.st_uid != os.geteuid():
        raise HomeInvalid(home, f"{folder} belongs to uid {st.st_uid}, not to this user (uid {os.geteuid()})")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise HomeInvalid(
            home, f"{folder} can be written by other users (mode {stat.S_IMODE(st.st_mode):04o})"
        )


def processes_in(folder: Path) -> list[int]:
    """Pids whose working directory is ``folder`` (Linux; an initdb a killed start left running)."""
    found = []
    for proc in Path("/proc").iterdir() if sys.platform.startswith("linux") else ():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if Path(os.readlink(proc / "cwd")) == folder:
                    found.append(int(proc.name))
    return found


def append_no_follow(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write(text)


def has_cluster_files(data: Path) -> bool:
    return data.is_dir() and any(data.iterdir())


def create_private(path: Path, text: str) -> None:
    """A new 0600 file, never through a symlink, failing if anything is there (initdb's one-shot pwfile)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def temp_glob(name: str) -> str:
    """The pattern of the temp files `replace_private` makes for a file named ``name``."""
    return f".{name}.*.tmp"


def replace_private(
    path: Path, text: str, *, temp_dir: Path | None = None, owner: tuple[int, int] | None = None
) -> None:
    """Put ``text`` at ``path`` atomically and durably: the one writer of metadata, state and conf.

    A fresh 0600 temp file (O_EXCL, never through a symlink) named after
    `temp_glob` in ``temp_dir`` (default: beside ``path``), chowned to
    ``owner`` (uid, gid) if given, fsynced, renamed over ``path``, and the
    folders fsynced, so a crash or power cut leaves the old file or the new
    one, never an empty or half-written one. ``temp_dir`` lets the server
    config be written in our own folder rather than in data/, where the
    server account could plant a symlink; it must be on the same file system.
    """
    folder = temp_dir if temp_dir is not None else path.parent
    tmp = folder / f".{path.name}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)  # a killed writer's leftover (every writer holds the database lock)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            if owner is not None:
                os.fchown(f.fileno(), *owner)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    for changed in dict.fromkeys((path.parent, folder)):  # the rename changed both folders
        dir_fd = os.open(changed, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def open_log(path: Path) -> BinaryIO:
    """server.log, for appending; never through a symlink someone planted in its place."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise DataDirInvalid(
            path, "it is a symbolic link", hint="Remove it; alien_nb writes the server log there itself."
        ) from None
    if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
        os.fchmod(fd, 0o600)  # the log names users and queries; it is nobody else's to read
    return os.fdopen(fd, "ab")


def log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def log_tail(path: Path, start: int, lines: int = 15) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(start)
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])
