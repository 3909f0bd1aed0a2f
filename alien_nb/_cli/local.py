"""The subcommands on local databases: start, stop, status, list, delete, url, run, logs, demo.

Each takes the parsed arguments and returns the exit status; ``--backend`` other than local
hands start, status and delete to `cloud`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from typing import TYPE_CHECKING

from ..core import AlienError, binding_env_var, format_size, redacted_connection_string
from ..core._backends import LOCAL
from .cloud import cmd_delete_cloud, cmd_start_cloud, cmd_status_cloud
from .common import confirm, emit, local_controller, require_existing

if TYPE_CHECKING:
    from ..local import LocalStatus


def cmd_start(args: argparse.Namespace) -> int:
    if args.backend != LOCAL:
        return cmd_start_cloud(args)
    flags = [f"--{k}" for k in ("plan", "cpu", "memory", "ha", "region") if getattr(args, k)]
    if flags:
        raise AlienError(
            f"{', '.join(flags)}: for cloud backends only.", hint="Add --backend aurora (or another)."
        )
    if args.storage is not None:  # local disk is not capped, but a wrong size is still wrong
        from ..core import Postgres

        Postgres.parse({"id": "storage-check", "storage": args.storage})
    controller = local_controller(args)
    started = controller.launch(args.name, args.version)
    binding = started.binding
    # The full status (a disk-usage walk, test logins) only for --json, which prints it.
    data = (
        {"binding": binding.synced(), "status": controller.status(args.name).to_dict()} if args.json else {}
    )
    emit(
        args,
        data,
        f"{args.name}: running on {binding.host}:{binding.port} (PostgreSQL {started.version}), "
        f"database {binding.database!r}, user {binding.username!r}\n"
        f"  url:    {redacted_connection_string(binding)}   (alien-nb url {args.name} --show-password)\n"
        f"  worker: alien-nb run {args.name} -- python your_script.py   (sets {binding_env_var(args.name)})",
    )
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    controller = local_controller(args)
    require_existing(controller, args.name)
    controller.stop(args.name)
    emit(args, {"name": args.name, "lifecycle": "stopped"}, f"{args.name}: stopped (data kept)")
    return 0


def status_line(s: LocalStatus) -> str:
    pid = f", pid {s.pid}" if s.pid else ""
    return (
        f"{s.name:20} {s.lifecycle:9} {s.health:10} port {s.port or '-':<6} "
        f"PostgreSQL {s.version or '?'}{pid}, {format_size(s.data_size)}  {s.message}"
    )


def cmd_status(args: argparse.Namespace) -> int:
    if args.backend != LOCAL:
        return cmd_status_cloud(args)
    controller = local_controller(args)
    if args.name is not None:  # `status ""` is a bad name, not "all of them"
        require_existing(controller, args.name)
        status = controller.status(args.name)
        emit(args, status.to_dict(), status_line(status))
        return 0
    return cmd_list(args)


def cmd_list(args: argparse.Namespace) -> int:
    controller = local_controller(args)
    statuses = controller.list()
    human = "\n".join(status_line(s) for s in statuses) or (
        f"no local databases in {controller.home} (start one: alien-nb start NAME)"
    )
    emit(args, [s.to_dict() for s in statuses], human)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    if args.backend != LOCAL:
        return cmd_delete_cloud(args)
    controller = local_controller(args)
    require_existing(controller, args.name)
    folder = controller.folder(args.name)
    if not confirm(args, f"Delete local database {args.name!r} and all its data in {folder}?"):
        return 1
    controller.delete(args.name)
    emit(args, {"name": args.name, "lifecycle": "deleted"}, f"{args.name}: deleted ({folder} removed)")
    return 0


def cmd_url(args: argparse.Namespace) -> int:
    controller = local_controller(args)
    require_existing(controller, args.name)
    binding = controller.runtime_binding(args.name)
    if args.show_password:
        from ..resolver._connection import resolve_inline

        # The contract URL plus require_auth=scram-sha-256: pasted into psql or any libpq
        # client, it never answers a program squatting on the port with the password.
        print(resolve_inline(binding).libpq_uri().get_secret_value())
    else:
        print(redacted_connection_string(binding))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    command = list(args.command)
    # REMAINDER keeps every word after the name, so `run NAME --create -- cmd` arrives here.
    while command[:1] == ["--create"]:
        args.create, command = True, command[1:]
    command = command[1:] if command[:1] == ["--"] else command
    if not command:
        raise AlienError("No command given to run.", hint=f"alien-nb run {args.name} -- python worker.py")
    # Before anything starts: a typo in the command must not start (or create) a database.
    program = shutil.which(command[0])
    if program is None:
        # which() also says None for a folder or a file without the x bit given by path: name those.
        given = command[0]
        if os.sep in given and os.path.isdir(given):
            raise AlienError(f"{given!r} is a directory, not a command.", hint="Name a program to run in it.")
        if os.sep in given and os.path.exists(given):
            raise AlienError(f"{given!r} is not executable.", hint=f"Make it executable (chmod +x {given}).")
        raise AlienError(f"Command not found: {given!r}.", hint="Check the command and your PATH.")
    args.quiet = True  # before the controller exists: `run` prints nothing of its own
    controller = local_controller(args)
    if not args.create:
        # `run typo -- cmd` used to create database `typo` and hand the worker an empty one.
        require_existing(controller, args.name, create_hint=True)
    from ..core import WorkerEnv

    binding = controller.start(args.name)
    env = {**os.environ, **WorkerEnv.for_binding(args.name, binding)}
    try:
        os.execve(program, command, env)
    except OSError as exc:
        raise AlienError(
            f"Cannot run {program}: {exc.strerror}.", hint="Check that it is executable."
        ) from None
    return 127  # pragma: no cover - exec does not return


def cmd_logs(args: argparse.Namespace) -> int:
    controller = local_controller(args)
    require_existing(controller, args.name)
    path = controller.log_path(args.name)
    try:
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    except OSError as exc:
        raise AlienError(f"Cannot read the server log {path}: {exc.strerror}.",
                         hint="Check the file's permissions.") from None  # fmt: skip
    lines = text.splitlines()
    if not lines:
        print(f"{args.name}: the server log is empty (it has not started yet?)", file=sys.stderr)
    elif args.lines:  # lines[-0:] would be the whole log
        print("\n".join(lines[-args.lines :]))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from ..demo import run_demo

    result = run_demo(local_controller(args), keep=args.keep, progress=not args.json,
                      say=None if args.json else print)  # fmt: skip
    emit(args, result.to_dict(), result.report())
    return 0
