"""Errors of the embedded-Postgres manager."""

from __future__ import annotations

from pathlib import Path

from ..core import AlienError
from ..core._errors import show_as_public


class LocalServerError(AlienError):
    """Something about a local (embedded) Postgres server went wrong."""


class DatabaseNotFound(LocalServerError):
    def __init__(self, name: str, home: Path) -> None:
        self.name, self.home = name, home
        super().__init__(
            f"No local database named {name!r} in {home}.",
            hint=f"Start one with `alien-nb start {name}`; `alien-nb list` shows the existing ones.",
        )


class MetadataInvalid(LocalServerError):
    """metadata.json is missing or unreadable beside an existing data directory."""

    def __init__(self, metadata_path: Path, data_dir: Path, reason: str) -> None:
        self.metadata_path, self.data_dir, self.reason = metadata_path, data_dir, reason
        super().__init__(
            f"Cannot use local database at {data_dir}: its metadata {metadata_path} {reason}. "
            "Nothing was changed.",
            hint=f"Restore {metadata_path} from a backup, or move {data_dir} aside and start again "
            "to create a new database (the old data stays in the moved folder).",
        )


class DataDirInvalid(LocalServerError):
    """A data directory exists but is not a Postgres cluster alien_nb may use."""

    def __init__(self, data_dir: Path, reason: str, hint: str) -> None:
        self.data_dir, self.reason = data_dir, reason
        super().__init__(f"Cannot use data directory {data_dir}: {reason}. Nothing was changed.", hint=hint)


class StartFailed(LocalServerError):
    """The server did not come up."""

    def __init__(self, data_dir: Path, exit_code: int | None, log_tail: str, hint: str) -> None:
        self.data_dir, self.exit_code, self.log_tail = data_dir, exit_code, log_tail
        how = "did not become ready in time" if exit_code is None else f"exited with code {exit_code}"
        tail = f"\nLast lines of the server log:\n{log_tail}" if log_tail else ""
        super().__init__(f"Postgres in {data_dir} {how}.{tail}", hint=hint)


class CredentialsRejected(StartFailed):
    """The server runs, but refuses the username or password recorded in metadata.json."""

    def __init__(self, name: str, data_dir: Path, metadata_path: Path, stopped: bool) -> None:
        self.name, self.metadata_path, self.stopped = name, metadata_path, stopped
        after = (
            "alien_nb stopped the server it had started, so nothing runs half-ready."
            if stopped
            else "The server was left running as it was."
        )
        LocalServerError.__init__(
            self,
            f"The server of local database {name!r} runs, but refuses the username or password "
            f"recorded in {metadata_path}. {after}",
            hint=f"Someone changed metadata.json or the role's password: restore {metadata_path} from a "
            "backup (its username and password must be the ones the database was created with), "
            f"then `alien-nb start {name}` again. Nothing in the data directory was changed.",
        )
        self.data_dir, self.exit_code, self.log_tail = data_dir, None, ""


class HomeInvalid(LocalServerError):
    """alien_nb's home folder cannot hold databases."""

    def __init__(self, home: Path | str, reason: str) -> None:
        self.home, self.reason = home, reason
        super().__init__(
            f"The alien-nb home {str(home)!r} cannot be used: {reason}. Nothing was changed.",
            hint="Point ALIEN_NB_HOME (or --home) at a folder of yours that you can write, "
            "for example ~/.local/share/alien-nb.",
        )


class InitFailed(LocalServerError):
    def __init__(self, data_dir: Path, output: str) -> None:
        self.data_dir, self.output = data_dir, output
        super().__init__(
            f"initdb could not create a cluster in {data_dir}:\n{output}",
            hint="Check free disk space and that the folder is writable; then start again.",
        )


class StopFailed(LocalServerError):
    def __init__(self, name: str, pid: int, reason: str) -> None:
        self.name, self.pid, self.reason = name, pid, reason
        super().__init__(
            f"Could not stop local database {name!r} (postmaster pid {pid}): {reason}.",
            hint=f"Look at `alien-nb logs {name}`; if the process is stuck, `kill {pid}` and try again. "
            "The data directory was left as it is.",
        )


class VersionUnavailable(LocalServerError):
    def __init__(self, requested: str, available: dict[str, str]) -> None:
        self.requested, self.available = requested, available
        listing = ", ".join(f"{major} ({where})" for major, where in sorted(available.items())) or "none"
        super().__init__(
            f"No PostgreSQL {requested} installation found. Available: {listing}.",
            hint="Use the bundled version (leave --version out), or install PostgreSQL "
            f"{requested} (e.g. `apt-get install postgresql-{requested} postgresql-{requested}-pgvector`) "
            "so that /usr/lib/postgresql/<major>/bin or `pg_config` on PATH finds it.",
        )


class ServerAccountError(LocalServerError):
    """Running as root, and no unprivileged account could be used for the server."""

    def __init__(self, account: str, reason: str) -> None:
        self.account, self.reason = account, reason
        super().__init__(
            f"Postgres refuses to run as root, and the account {account!r} cannot be used: {reason}.",
            hint="Create an unprivileged account (e.g. `useradd --system alien-nb`) and set "
            "ALIEN_NB_SERVER_USER to its name, or run the notebook as a normal user. alien_nb creates "
            "a missing account itself only if it is named alien-nb or alien-nb-<something>.",
        )


class LockTimeout(LocalServerError):
    def __init__(self, name: str, lock_path: Path, seconds: float) -> None:
        self.name, self.lock_path, self.seconds = name, lock_path, seconds
        super().__init__(
            f"Another process has held the lock on local database {name!r} for over {seconds:g} s.",
            hint=f"Wait for the other start or stop to finish; the lock is {lock_path}.",
        )


show_as_public(globals())
