"""Where a local database keeps its files under ``$ALIEN_NB_HOME``."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

# sizeof(sockaddr_un.sun_path) is 108 on Linux (104 on macOS) including the NUL; Postgres refuses longer.
_MAX_SOCKET_PATH = 103


def default_home() -> Path:
    """``$ALIEN_NB_HOME``, else the platform's user data folder for alien-nb."""
    env = os.environ.get("ALIEN_NB_HOME")
    if env:
        return Path(env).expanduser().absolute()
    import platformdirs

    return Path(platformdirs.user_data_dir("alien-nb", appauthor=False))


@dataclass(frozen=True)
class DatabasePaths:
    """``{home}/postgres/{id}/metadata.json`` and ``.../data``, plus our own files."""

    home: Path
    name: str

    @property
    def postgres_dir(self) -> Path:
        return self.home / "postgres"

    @property
    def root(self) -> Path:
        return self.postgres_dir / self.name

    @property
    def metadata(self) -> Path:
        return self.root / "metadata.json"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    @property
    def lock(self) -> Path:
        # Outside root, so delete can remove root while holding the lock.
        return self.postgres_dir / ".locks" / f"{self.name}.lock"

    @property
    def socket_dir(self) -> Path:
        """The server's Unix socket folder: owned by the server account, mode 0700.

        Inside the database's private folder, so no other local user can reach
        the socket (or plant an impostor there), unlike a loopback TCP port.
        """
        return self.root / "socket"

    def socket_file(self, port: int) -> Path:
        return self.socket_dir / f".s.PGSQL.{port}"

    def socket_fits(self, port: int) -> bool:
        """True if the socket's path fits a Unix socket address (107 bytes on Linux)."""
        return len(os.fsencode(self.socket_file(port))) <= _MAX_SOCKET_PATH

    @property
    def conf(self) -> Path:
        return self.data / "alien_nb.conf"


def dir_size(path: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # removed while we walk
                total += os.lstat(os.path.join(folder, name)).st_size
    return total
