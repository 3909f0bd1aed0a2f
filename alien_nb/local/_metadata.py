"""``metadata.json``: the connection details of one local database.

Written once (mode 0600), reused forever, so host, port, user and password
stay the same across restarts. Only the port may be rewritten, atomically,
when the kept one is taken.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import stat
import string
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from ..core import LocalPostgresBinding
from ..core._redact import remember_secret
from ._files import replace_private, temp_glob

_ALPHABET = string.ascii_letters + string.digits
PASSWORD_LENGTH = 24
HOST = "127.0.0.1"
USERNAME = "postgres"

_FIELDS = ("resourceId", "version", "port", "username", "password", "database", "dataDir")


def new_password() -> SecretStr:
    return SecretStr("".join(secrets.choice(_ALPHABET) for _ in range(PASSWORD_LENGTH)))


@dataclass(frozen=True)
class Metadata:
    resource_id: str
    version: str
    port: int
    username: str
    password: SecretStr = field(repr=False)
    database: str
    data_dir: str

    def binding(self) -> LocalPostgresBinding:
        """The full (runtime-channel) binding built from this metadata."""
        return LocalPostgresBinding(
            host=HOST, port=self.port, database=self.database, username=self.username, password=self.password
        )

    def with_port(self, port: int) -> Metadata:
        return replace(self, port=port)

    def _to_json(self) -> str:
        data = {
            "resourceId": self.resource_id,
            "version": self.version,
            "port": self.port,
            "username": self.username,
            "password": self.password.get_secret_value(),
            "database": self.database,
            "dataDir": self.data_dir,
        }
        return json.dumps(data, indent=2) + "\n"


class MetadataProblem(Exception):
    """Internal: why a metadata file cannot be used (never holds its content)."""


def _read_private(path: Path, on_loose_mode: Callable[[int], None] | None) -> bytes:
    """The bytes of a regular file of ours, never through a symlink; group/other bits are removed.

    A file owned by another account could have been planted (or swapped in)
    by it, so it is refused, not read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise MetadataProblem("is a symbolic link (refused: it could point anywhere)") from None
        if exc.errno == errno.EISDIR:
            raise MetadataProblem("is a folder, not a file") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise MetadataProblem(
            "is a folder, not a file" if stat.S_ISDIR(st.st_mode) else "is not a regular file"
        )
    with os.fdopen(fd, "rb") as f:
        if st.st_uid != os.geteuid():
            raise MetadataProblem(
                f"is owned by uid {st.st_uid}, not by this user (uid {os.geteuid()}); refused, "
                "since its owner could have changed it"
            )
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077 and on_loose_mode is not None:
            os.fchmod(f.fileno(), 0o600)
            on_loose_mode(mode)
        return f.read()


_NOT_JSON = object()


def read_metadata(path: Path, *, on_loose_mode: Callable[[int], None] | None = None) -> Metadata:
    """Read and check ``metadata.json``. Raise `FileNotFoundError` or `MetadataProblem`.

    A file readable by others is tightened to 0600 first, and ``on_loose_mode``
    is told its old mode (without it, nothing is changed).
    """
    raw = _read_private(path, on_loose_mode)
    data: Any = _NOT_JSON
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        pass  # raised below: json's error holds the whole text, password included, even as __context__
    if data is _NOT_JSON:
        raise MetadataProblem("is not valid JSON")
    if not isinstance(data, dict):
        raise MetadataProblem("is not a JSON object")
    missing = [key for key in _FIELDS if key not in data]
    if missing:
        raise MetadataProblem(f"lacks {', '.join(missing)}")
    port = data["port"]
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise MetadataProblem("has a port that is not a number from 1 to 65535")
    for key in ("resourceId", "version", "username", "password", "database", "dataDir"):
        if not isinstance(data[key], str) or (key != "password" and not data[key]):
            raise MetadataProblem(f"has a {key} that is not a non-empty string")
    if len(data["password"]) == 0:
        raise MetadataProblem("has an empty password")
    remember_secret(data["password"])  # known to the notebook scrubber once read
    return Metadata(
        resource_id=data["resourceId"],
        version=data["version"],
        port=port,
        username=data["username"],
        password=SecretStr(data["password"]),
        database=data["database"],
        data_dir=data["dataDir"],
    )


#: The temp files `write_metadata` renames into place; each holds the password until then.
TEMP_GLOB = temp_glob("metadata.json")


def write_metadata(path: Path, metadata: Metadata) -> None:
    """Write atomically and durably (`replace_private`), mode 0600."""
    replace_private(path, metadata._to_json())
