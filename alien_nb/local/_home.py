"""Is a home folder usable at all? Checked before anything reads or writes under it.

A home that is ``/dev/null``, a file, under a file, in a symlink loop, or
somewhere nothing can be created would otherwise surface as a raw
``NotADirectoryError`` deep in a start, or worse as "no databases" from a
listing that looked at nothing.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from ._errors import HomeInvalid


def _why(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "its path runs into a symlink loop"
    if exc.errno == errno.ENOTDIR:
        return "a part of its path is a file, not a folder"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"it cannot be written ({exc.strerror})"
    if exc.errno == errno.ENOENT:
        return f"it cannot be created there ({exc.strerror})"
    return f"{exc.strerror or type(exc).__name__}"


def check_home(home: Path, *, create: bool) -> None:
    """Refuse a home that is not a usable folder before anything touches it.

    A home that does not exist yet is fine for commands that only read (it
    holds no databases); ``create`` proves that it (or the folder it will be
    made in) can be written, without creating anything. Raise `HomeInvalid`
    naming the problem.
    """
    for path in (home, home / "postgres"):
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            break
        except OSError as exc:
            raise HomeInvalid(home, _why(exc)) from None
        if not stat.S_ISDIR(mode):
            what = "a file" if stat.S_ISREG(mode) else "a device or other special file"
            where = "it is" if path == home else f"{path} is"
            raise HomeInvalid(home, f"{where} {what}, not a folder")
    if not create:
        return
    # Probe the deepest folder that exists, creating nothing: the start itself makes the rest.
    folder = home / "postgres"
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise HomeInvalid(home, f"{folder} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".alien-nb-write-probe-"):
            pass
    except OSError as exc:
        raise HomeInvalid(home, _why(exc)) from None
