"""Cluster creation: initdb, once, for a database that was never initialised.

initdb runs in a staging folder that becomes ``data`` only when it succeeds,
so a crash half-way leaves no half-built cluster behind; a data directory
that exists (or existed once) is never re-created or emptied.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from dataclasses import replace

from ._context import LocalContext
from ._errors import DataDirInvalid, InitFailed
from ._files import append_no_follow, create_private, open_log
from ._installations import Installation
from ._layout import DatabasePaths
from ._metadata import Metadata
from ._private import refuse_init_hint
from ._scram import scram_verifier
from ._server import server_env
from ._state import read_state, write_state


def init_cluster(ctx: LocalContext, paths: DatabasePaths, metadata: Metadata, install: Installation) -> bool:
    """initdb a new cluster; True if it ran.

    Never touches a non-empty data dir, and never re-creates one that was
    initialised before (an empty or missing one then means a disk that is
    not mounted, or a folder emptied by hand: that is for the user to look
    at).
    """
    if (paths.data / "PG_VERSION").exists():
        recorded = (paths.data / "PG_VERSION").read_text().strip()
        if recorded != metadata.version:
            raise DataDirInvalid(
                paths.data,
                f"it holds a PostgreSQL {recorded} cluster but metadata says {metadata.version}",
                hint=f"Restore the metadata of {paths.data}, or move the folder aside.",
            )
        return False
    if paths.data.exists() and any(paths.data.iterdir()):
        raise DataDirInvalid(
            paths.data,
            "it is not empty but holds no PostgreSQL cluster (no PG_VERSION)",
            hint="Move its contents elsewhere; alien_nb never deletes or re-initialises a data directory.",
        )
    state = read_state(paths.state)
    if state.initialized is not False:
        # Only a state.json that says "not initialised yet" (written before metadata.json
        # when the database was created) allows initdb; unknown is treated as initialised.
        raise DataDirInvalid(
            paths.data,
            "it is missing or empty, but this database was initialised before"
            if state.initialized
            else f"it is missing or empty, and {paths.state} (which records whether this database "
            "was ever initialised) is missing or unreadable",
            hint=refuse_init_hint(paths),
        )
    account = ctx.account()
    staging = paths.root / f".data-initdb-{os.getpid()}-{threading.get_ident()}"
    staging.mkdir(mode=0o700)
    account.own(staging, 0o700)
    # The password itself never reaches a file but metadata.json: initdb
    # gets its SCRAM verifier, which Postgres stores as it is.
    pwfile = paths.root / f".pwfile-{os.getpid()}-{threading.get_ident()}"
    try:
        try:
            create_private(pwfile, scram_verifier(metadata.password))
            account.own(pwfile, 0o600)
            cmd = [str(install.exe("initdb")), "-D", str(staging), "-U", metadata.username,
                   f"--pwfile={pwfile}", "--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
                   "--encoding=UTF8", "--no-instructions", *_locale_args(install.major)]  # fmt: skip
            done = subprocess.run(
                cmd,
                cwd=staging,
                env=server_env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                **account.popen_kwargs(),  # type: ignore[call-overload]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        output = (done.stdout + done.stderr).decode("utf-8", "replace")
        with open_log(paths.log) as log:
            log.write(output.replace(str(staging), str(paths.data)).encode())
        if done.returncode != 0:
            raise InitFailed(paths.data, output.strip()[-2000:])
        append_no_follow(
            staging / "postgresql.conf",
            "\n# alien_nb's settings (rewritten at every start)\ninclude_if_exists = 'alien_nb.conf'\n",
        )
        if paths.data.exists():
            paths.data.rmdir()  # empty, checked above
        os.rename(staging, paths.data)
    finally:
        if staging.exists():
            shutil.rmtree(staging)  # our own staging folder, never user data
    write_state(paths.state, replace(state, initialized=True, bootstrapped=False))
    return True


def _locale_args(major: str) -> list[str]:
    if int(major) >= 17:
        return ["--locale-provider=builtin", "--builtin-locale=C.UTF-8"]
    return ["--no-locale"]
