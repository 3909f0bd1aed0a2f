"""A database's private files and folders: the home above it, metadata, state, conf, leftovers.

Every file here is written by `_files.replace_private` (0600, atomic and
durable), every folder is checked to be ours before anything is put in it,
and nothing here ever deletes a data directory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ..core import InvalidResourceUpdate
from ._account import make_traversable
from ._context import LocalContext
from ._errors import DatabaseNotFound, DataDirInvalid, HomeInvalid, LocalServerError, MetadataInvalid
from ._files import check_ours, has_cluster_files, processes_in, replace_private, temp_glob
from ._installations import find_installation
from ._layout import DatabasePaths
from ._metadata import (
    TEMP_GLOB,
    USERNAME,
    Metadata,
    MetadataProblem,
    new_password,
    read_metadata,
    write_metadata,
)
from ._settings import render_conf, server_settings
from ._state import DesiredState, read_state, write_state

logger = logging.getLogger("alien_nb.local")


def prepare_home(ctx: LocalContext, paths: DatabasePaths) -> None:
    """Make (or check) the folders above the database's own; raise `HomeInvalid` if unusable."""
    account = ctx.account()
    shared_mode = 0o700 if account.is_current_user else 0o711
    try:
        if paths.home.exists() and not paths.home.is_dir():
            raise HomeInvalid(paths.home, "it is not a folder")
        for folder in (paths.home, paths.postgres_dir):
            if not folder.exists():
                folder.mkdir(mode=shared_mode, parents=True, exist_ok=True)
                os.chmod(folder, shared_mode)
        check_ours(paths.postgres_dir, paths.home)
        make_traversable(paths.postgres_dir, account, ctx.notify)
        ensure_lock_dir(paths)
        if paths.root.exists():
            check_ours(paths.root, paths.home)
    except OSError as exc:
        raise HomeInvalid(paths.home, f"{exc.strerror or exc} ({exc.filename or paths.home})") from None


def ensure_lock_dir(paths: DatabasePaths) -> None:
    """The folder of the per-database lock files: 0700, ours (not a planted link). A folder copied
    in, or left by an older version, may lack it; every locked step makes it first."""
    paths.lock.parent.mkdir(mode=0o700, exist_ok=True)
    check_ours(paths.lock.parent, paths.home)


def make_private_dir(ctx: LocalContext, folder: Path) -> None:
    """0700; as root 0710 with the server account's group, which must pass through to data/."""
    account = ctx.account()
    folder.mkdir(mode=0o700, exist_ok=True)
    check_ours(folder, ctx.home)
    if account.is_current_user:
        os.chmod(folder, 0o700)
    else:
        os.chown(folder, os.geteuid(), account.gid)
        os.chmod(folder, 0o710)


def remove_leftovers(ctx: LocalContext, paths: DatabasePaths) -> None:
    """What a start killed mid-way can leave (we hold the lock, so nobody else is writing them).

    - ``.pwfile-*``: the verifier handed to initdb (not the password, but no use kept);
    - ``.data-initdb-*``: initdb's staging folder, and an initdb still running in it;
    - ``.metadata.json.*.tmp``: a complete (fsynced) metadata about to be renamed into
      place. It holds the password, so it is removed, unless metadata.json is missing:
      then it is that file, and is put in place.
    """
    root = paths.root
    if not root.is_dir():
        return
    for path in root.glob(".pwfile-*"):
        path.unlink(missing_ok=True)
    for path in root.glob(".data-initdb-*"):
        for pid in processes_in(path):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(path, ignore_errors=True)
    for path in sorted(root.glob(TEMP_GLOB)):
        if not paths.metadata.exists() and not paths.metadata.is_symlink():
            try:
                candidate = read_metadata(path)
            except (OSError, MetadataProblem):
                candidate = None
            if (
                candidate is not None
                and candidate.resource_id == paths.name
                and (Path(candidate.data_dir) == paths.data)
            ):
                os.replace(path, paths.metadata)
                ctx.notify(
                    f"alien_nb: {paths.metadata} was missing, but a complete copy written just before "
                    "a crash was beside it; put it back in place."
                )
                continue
        path.unlink(missing_ok=True)
    for pattern in (temp_glob(paths.state.name), temp_glob(paths.conf.name)):
        for path in root.glob(pattern):
            path.unlink(missing_ok=True)


def refuse_init_hint(paths: DatabasePaths) -> str:
    return (
        f"Bring the data back (a disk that is not mounted? a restored backup?) and start again; to start "
        f"over with an empty database, run `alien-nb delete {paths.name} --yes` first."
    )


def load_or_create_metadata(ctx: LocalContext, paths: DatabasePaths, version: str | None) -> Metadata:
    """The recorded metadata (checked against ``version``), or a new database's: state.json, then it."""
    if paths.metadata.exists() or has_cluster_files(paths.data):
        metadata = read_checked_metadata(ctx, paths)
        if version is not None and version != metadata.version:
            raise InvalidResourceUpdate(
                "version",
                f"a local database cannot change version in place (it was created with "
                f"{metadata.version}, {version} was asked for)",
                hint=f"Leave the version out to use {metadata.version}, or start a new database "
                f"with --version {version} and move the data with pg_dump.",
            )
        return metadata
    if paths.state.exists() or paths.state.is_symlink():
        # A state.json without metadata.json: either a creation killed between the two
        # writes (it says "not initialised"), or metadata.json was lost beside a data dir
        # that is not there (unmounted?): never make a new database over that.
        recorded = read_state(paths.state).initialized
        if recorded is not False:
            raise DataDirInvalid(
                paths.data,
                f"it is missing or empty and {paths.metadata} is missing, but {paths.state} "
                + ("says this database was initialised before" if recorded else "is unreadable"),
                hint=refuse_init_hint(paths),
            )
    install = find_installation(version)
    metadata = Metadata(
        resource_id=paths.name,
        version=install.major,
        port=ctx.ports.free_port(),
        username=USERNAME,
        password=new_password(),
        database=paths.name,
        data_dir=str(paths.data),
    )
    make_private_dir(ctx, paths.root)
    # state.json first, durably: from the moment metadata.json exists, a missing or
    # unreadable state.json means "unknown", and start refuses to run initdb.
    write_state(paths.state, DesiredState(initialized=False))
    write_metadata(paths.metadata, metadata)
    return metadata


def read_checked_metadata(ctx: LocalContext, paths: DatabasePaths) -> Metadata:
    """metadata.json, which must be this database's; `MetadataInvalid` (never its content) if not."""
    # The error is raised after the except blocks: a parse error of the file (JSONDecodeError
    # keeps the whole text, password included) is then not attached to it, even as __context__.
    problem: LocalServerError | None = None
    try:
        metadata = read_metadata(paths.metadata, on_loose_mode=loose_mode_notice(ctx, paths))
    except FileNotFoundError:
        if paths.root.is_dir():
            problem = MetadataInvalid(paths.metadata, paths.data, "is missing")
        else:
            problem = DatabaseNotFound(paths.name, ctx.home)  # deleted meanwhile
    except MetadataProblem as exc:
        problem = MetadataInvalid(paths.metadata, paths.data, str(exc))
    except OSError as exc:
        problem = MetadataInvalid(paths.metadata, paths.data, f"cannot be read ({exc.strerror})")
    if problem is not None:
        raise problem
    if metadata.resource_id != paths.name or Path(metadata.data_dir) != paths.data:
        raise MetadataInvalid(paths.metadata, paths.data, "belongs to another database or folder")
    return metadata


def loose_mode_notice(ctx: LocalContext, paths: DatabasePaths) -> Callable[[int], None]:
    def notice(mode: int) -> None:
        ctx.notify(
            f"alien_nb: {paths.metadata} was readable by others (mode {mode:04o}); it holds the "
            "password, so alien_nb set it back to 0600. If other users could read it, treat the "
            f"password as known: move the data out with pg_dump into a new database."
        )

    return notice


def set_desired(paths: DatabasePaths, desired: str) -> None:
    state = read_state(paths.state)
    if state.desired != desired:
        write_state(paths.state, replace(state, desired=desired))


def write_conf(ctx: LocalContext, paths: DatabasePaths, metadata: Metadata) -> None:
    """alien_nb.conf (included by postgresql.conf): network, auth, tuning and the caller's settings."""
    socket_dir = prepare_socket_dir(ctx, paths, metadata.port)
    settings = server_settings(metadata.port, socket_dir=str(socket_dir) if socket_dir else "")
    settings.update(ctx.settings)
    # Written in our own folder (not in data/, which the server account
    # owns and could plant a symlink in), then renamed into place.
    account = ctx.account()
    owner = None if account.is_current_user else (account.uid, account.gid)
    replace_private(paths.conf, render_conf(settings), temp_dir=paths.root, owner=owner)


def prepare_socket_dir(ctx: LocalContext, paths: DatabasePaths, port: int) -> Path | None:
    """The private socket folder, owned by the server account; None if its path is too long."""
    if not paths.socket_fits(port):
        logger.info("socket path under %s is too long for a Unix socket; TCP only", paths.root)
        return None
    folder = paths.socket_dir
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        if folder.is_symlink() or not folder.is_dir():
            raise DataDirInvalid(
                folder, "it is not a folder", hint="Remove it; alien_nb makes it again at start."
            ) from None
    ctx.account().own(folder, 0o700)
    return folder
