"""Teach a fresh process the passwords it may have to find: local metadata, cloud bindings.

The scrubber and the audit only know passwords this process has handled
(`known_redactor`). A kernel that never started a database, or the
``alien-nb audit`` command, reads them here: every local database's 0600
``metadata.json`` under ``$ALIEN_NB_HOME``, and (on request, since it calls the
secret stores) the cloud bindings in ``ALIEN_*_BINDING`` variables. A loaded
extension keeps learning: `LocalWatch` picks up the databases created later.
"""

from __future__ import annotations

import json
import os
import re
import stat
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from ..core._redact import remember_secret

_BINDING_VAR = re.compile(r"ALIEN_\w+_BINDING")
# metadata.json holds a handful of short fields; anything bigger is not ours.
_MAX_METADATA = 1 << 20


def _home(home: str | Path | None) -> Path:
    # alien_nb.local._layout.default_home, without importing the manager package
    # (psycopg, pydantic) at %load_ext.
    if home is not None:
        return Path(home).expanduser()
    env = os.environ.get("ALIEN_NB_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("alien-nb", appauthor=False))


def remember_local_passwords(home: str | Path | None = None) -> list[str]:
    """Register the password of every local database under ``home``.

    Never raises: a database whose metadata cannot be read is skipped, and
    the returned notes (one per skipped database, no secrets) say why.
    """
    try:
        folder = _home(home) / "postgres"
        entries = sorted(folder.iterdir())
    except FileNotFoundError:
        return []
    except (OSError, RuntimeError) as exc:
        return [f"cannot list the local databases: {type(exc).__name__}"]
    notes = []
    for entry in entries:
        note = _remember_one(entry / "metadata.json")
        if note:
            notes.append(f"{entry.name}: {note}")
    return notes


# A timestamp this recent may be followed, within the file system's clock tick,
# by another change that leaves it as it is: not trusted as "unchanged" yet.
_RACY_NS = 2_000_000_000


class LocalWatch:
    """Learns the passwords of local databases created after it was made, as they appear.

    `poll` is meant for the path every output takes (the kernel's
    ``Session.send``): it must see a database made a moment ago by another
    process (``!alien-nb start`` in a cell) before that process's output
    leaves, so it runs for every message, without a rate limit. Its cost is
    one ``os.stat`` of ``<home>/postgres`` and one of each database's
    ``metadata.json``; the folder is listed again only when it changed, and a
    metadata.json is read only when it is new or changed (another inode, size
    or time), through the same non-blocking, no-symlink reader as at load.
    A timestamp from the last two seconds is not trusted, as the clock tick of
    file times may hide a second change (git's "racy" entries).
    """

    def __init__(self, home: str | Path | None = None) -> None:
        self._given = home
        self._lock = threading.Lock()
        self._env: str | None = None
        self._folder = ""
        self._listed: tuple[int, int] | None = None  # (inode, mtime) of the folder when last listed
        # metadata.json path -> its (inode, size, mtime) when last read
        self._seen: dict[str, tuple[int, int, int] | None] = {}

    def poll(self) -> None:
        """Register any password new under the home since the last call. Never raises."""
        # A poll already running in another thread sees what this one would:
        # the message waiting for it cannot be older than the poll's start.
        with self._lock:
            try:
                self._poll()
            except (OSError, RuntimeError, ValueError):
                pass  # a home we cannot read holds nothing we could learn

    def _poll(self) -> None:
        # Plain strings, not Path objects: this runs for every message.
        env = os.environ.get("ALIEN_NB_HOME") if self._given is None else None
        if not self._folder or env != self._env:  # first call, or ALIEN_NB_HOME changed (%env)
            self._env, self._listed, self._seen = env, None, {}
            self._folder = os.path.join(_home(self._given), "postgres")
        try:
            st = os.stat(self._folder)
        except FileNotFoundError:
            return
        now = time.time_ns()
        key = (st.st_ino, st.st_mtime_ns)
        if key != self._listed or now - st.st_mtime_ns < _RACY_NS:
            with os.scandir(self._folder) as entries:
                paths = sorted(os.path.join(e.path, "metadata.json") for e in entries)
            self._seen = {path: self._seen.get(path) for path in paths}
            self._listed = key
        for path, seen in self._seen.items():
            try:
                meta = os.stat(path, follow_symlinks=False)
            except (FileNotFoundError, NotADirectoryError):
                continue
            current = (meta.st_ino, meta.st_size, meta.st_mtime_ns)
            if current == seen and now - meta.st_mtime_ns >= _RACY_NS:
                continue
            _remember_one(Path(path))  # unreadable now: read again only once it changes
            self._seen[path] = current


def _remember_one(path: Path) -> str | None:
    try:
        # Non-blocking, no symlinks: a FIFO or a link planted as metadata.json must not hang or redirect us.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None  # a folder that is not (or no longer) a database
    except OSError as exc:
        return f"metadata.json not readable ({exc.strerror or type(exc).__name__}); its password is unknown"
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return "metadata.json not readable (not a regular file); its password is unknown"
    with os.fdopen(fd, "rb") as handle:
        raw = handle.read(_MAX_METADATA + 1)
    if len(raw) > _MAX_METADATA:
        return "metadata.json is too large to be alien_nb's; skipped"
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return "metadata.json is not valid JSON; its password is unknown"
    password = data.get("password") if isinstance(data, dict) else None
    if not isinstance(password, str) or not password:
        return "metadata.json holds no password"
    remember_secret(password)
    return None


def remember_env_passwords(environ: Mapping[str, str] | None = None) -> None:
    """Register the inline passwords of the ``ALIEN_*_BINDING`` variables (``%env`` prints them).

    A plain JSON read, no validation and no network: cheap enough for ``%load_ext``.
    """
    environ = os.environ if environ is None else environ
    for variable in [v for v in environ if _BINDING_VAR.fullmatch(v)]:
        try:
            data = json.loads(environ[variable])
        except (ValueError, RecursionError):
            continue  # not a binding: attaching to it will say so
        password = data.get("password") if isinstance(data, dict) else None
        if isinstance(password, str):
            remember_secret(password)


def remember_cloud_passwords(environ: Mapping[str, str] | None = None) -> list[str]:
    """Resolve every ``ALIEN_*_BINDING`` in ``environ`` and register its password.

    Inline passwords are registered as the binding is parsed; cloud ones are
    read from their secret store. Never raises; notes say what failed.
    """
    from ..core import parse_binding
    from ..resolver import default_settings, resolver_for

    environ = os.environ if environ is None else environ
    notes = []
    resolver = None
    for variable in sorted(v for v in environ if _BINDING_VAR.fullmatch(v)):
        try:
            binding = parse_binding(environ[variable], variable=variable)
            if binding.inline_password is None:
                resolver = resolver or resolver_for(default_settings(environ))
                resolver.resolve(binding)
        except Exception as exc:  # one unreadable binding must not hide the others
            notes.append(f"{variable}: {type(exc).__name__}; its password is unknown")
    return notes
