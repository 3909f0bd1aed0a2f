"""``alien-nb``: databases from a shell, on the same controllers the magics use.

alien-nb start vec-db            start (or attach to) a local Postgres with pgvector
alien-nb start big --backend aurora --memory 8Gi --plan
                                 what a cloud database would be (nothing is created)
alien-nb status [vec-db] --json  the heartbeat, for people or scripts
alien-nb run vec-db -- python worker.py
                                 run a command with ALIEN_VEC_DB_BINDING set
alien-nb audit notebooks/        saved notebooks hold no password (exit 1 if one does)

Errors print as one ``alien-nb: error: ...`` line and a ``hint:`` line on
stderr, never a traceback (``--debug`` shows one). Exit status: 0 done,
1 the command failed, 2 the command line or the --home folder is unusable,
70 an unexpected error (a bug: please report it with the --debug output).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import shutil
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from .core import AlienError, binding_env_var, format_size, redacted_connection_string
from .core._backends import BACKENDS, LOCAL

if TYPE_CHECKING:
    from .controllers import CloudPostgresController, LocalPostgresController
    from .core import Redactor
    from .local import LocalStatus

EXIT_FAILED, EXIT_USAGE, EXIT_BUG = 1, 2, 70


def _controller(args: argparse.Namespace) -> LocalPostgresController:
    from .controllers import LocalPostgresController
    from .local import HomeInvalid

    if args.home is not None and not str(args.home).strip():
        raise HomeInvalid(args.home, "the path is empty")
    notify = (lambda _msg: None) if getattr(args, "quiet", False) else None
    # Commands that may create a database must be able to write there; the others only read.
    create = args.command_name in {"start", "run", "demo"}
    return LocalPostgresController.at(args.home, notify=notify, monitor=False, create=create)


def _require_existing(controller: LocalPostgresController, name: str, *, create_hint: bool = False) -> None:
    """Raise `DatabaseNotFound` for an unknown name, saying which exist and what was meant."""
    from .local import DatabaseNotFound

    controller.folder(name)  # a malformed name gets its own error first
    names = controller.names()
    if name in names:
        return
    err = DatabaseNotFound(name, controller.home)
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    hint = f"Did you mean {' or '.join(repr(n) for n in close)}? " if close else ""
    hint += f"Existing: {', '.join(names)}. " if names else "There are none yet. "
    if create_hint:
        hint += f"To create it, add --create (or run `alien-nb start {name}` first)."
    else:
        hint += f"Create it with `alien-nb start {name}`."
    err.hint = hint
    raise err


def _emit(args: argparse.Namespace, data: Any, human: str) -> None:
    print(json.dumps(data, indent=2) if args.json else human)


def _cloud(args: argparse.Namespace) -> CloudPostgresController:
    from .controllers import cloud_controller
    from .resolver import default_settings

    notify = (lambda _msg: None) if args.json else (lambda msg: print(msg, file=sys.stderr))
    return cloud_controller(args.backend, region=args.region, settings=default_settings(), notify=notify)


def cmd_start_cloud(args: argparse.Namespace) -> int:
    from .core import Postgres

    resource = Postgres.from_options(args.name, version=args.version, cpu=args.cpu, memory=args.memory,
                                     storage=args.storage, high_availability=args.ha)  # fmt: skip
    controller = _cloud(args)
    plan = controller.plan(resource)
    if args.plan:
        _emit(args, plan.to_dict(), str(plan))
        return 0
    binding = controller.create(resource)
    controller.wait_ready(
        args.name, on_wait=lambda message: print(f"{args.name}: {message}", file=sys.stderr)
    )
    _emit(
        args,
        {"binding": binding.synced(), "status": controller.status(args.name).to_dict()},
        f"{args.name}: {args.backend} ready; binding (no password: it stays in the secret store):\n"
        + json.dumps(binding.synced(), indent=2),
    )
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    if args.backend != LOCAL:
        return cmd_start_cloud(args)
    flags = [f"--{k}" for k in ("plan", "cpu", "memory", "ha", "region") if getattr(args, k)]
    if flags:
        raise AlienError(
            f"{', '.join(flags)}: for cloud backends only.", hint="Add --backend aurora (or another)."
        )
    if args.storage is not None:  # local disk is not capped, but a wrong size is still wrong
        from .core import Postgres

        Postgres.parse({"id": "storage-check", "storage": args.storage})
    controller = _controller(args)
    binding = controller.start(args.name, args.version)
    status = controller.status(args.name)
    _emit(
        args,
        {"binding": binding.synced(), "status": status.to_dict()},
        f"{args.name}: running on {binding.host}:{binding.port} (PostgreSQL {status.version}), "
        f"database {binding.database!r}, user {binding.username!r}\n"
        f"  url:    {redacted_connection_string(binding)}   (alien-nb url {args.name} --show-password)\n"
        f"  worker: alien-nb run {args.name} -- python your_script.py   (sets {binding_env_var(args.name)})",
    )
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    controller = _controller(args)
    _require_existing(controller, args.name)
    controller.stop(args.name)
    _emit(args, {"name": args.name, "lifecycle": "stopped"}, f"{args.name}: stopped (data kept)")
    return 0


def _status_line(s: LocalStatus) -> str:
    pid = f", pid {s.pid}" if s.pid else ""
    return (
        f"{s.name:20} {s.lifecycle:9} {s.health:10} port {s.port or '-':<6} "
        f"PostgreSQL {s.version or '?'}{pid}, {format_size(s.data_size)}  {s.message}"
    )


def cmd_status(args: argparse.Namespace) -> int:
    if args.backend != LOCAL:
        if not args.name:
            raise AlienError(
                f"Name the {args.backend} database to look at.",
                hint=f"alien-nb status NAME --backend {args.backend}",
            )
        status = _cloud(args).status(args.name)
        _emit(
            args, status.to_dict(), f"{args.name:20} {status.lifecycle:9} {status.health:10} {status.message}"
        )
        return 0
    controller = _controller(args)
    if args.name is not None:  # `status ""` is a bad name, not "all of them"
        _require_existing(controller, args.name)
        status = controller.status(args.name)
        _emit(args, status.to_dict(), _status_line(status))
        return 0
    return cmd_list(args)


def cmd_list(args: argparse.Namespace) -> int:
    controller = _controller(args)
    statuses = controller.list()
    human = "\n".join(_status_line(s) for s in statuses) or (
        f"no local databases in {controller.home} (start one: alien-nb start NAME)"
    )
    _emit(args, [s.to_dict() for s in statuses], human)
    return 0


def _confirm(args: argparse.Namespace, question: str) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise AlienError(
            f"Refusing to delete {args.name!r} without confirmation.",
            hint="Pass --yes to delete it and its data.",
        )
    if input(f"{question} [y/N] ").strip().lower() in {"y", "yes"}:
        return True
    print("kept")
    return False


def cmd_delete(args: argparse.Namespace) -> int:
    if args.backend != LOCAL:
        if not _confirm(
            args, f"Delete {args.backend} database {args.name!r}, its data and its password secret?"
        ):
            return 1
        _cloud(args).delete(args.name)
        _emit(
            args, {"name": args.name, "lifecycle": "deleted"}, f"{args.name}: {args.backend} database deleted"
        )
        return 0
    controller = _controller(args)
    _require_existing(controller, args.name)
    folder = controller.folder(args.name)
    if not _confirm(args, f"Delete local database {args.name!r} and all its data in {folder}?"):
        return 1
    controller.delete(args.name)
    _emit(args, {"name": args.name, "lifecycle": "deleted"}, f"{args.name}: deleted ({folder} removed)")
    return 0


def cmd_url(args: argparse.Namespace) -> int:
    controller = _controller(args)
    _require_existing(controller, args.name)
    binding = controller.runtime_binding(args.name)
    if args.show_password:
        from .resolver._connection import resolve_inline

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
    controller = _controller(args)
    if not args.create:
        # `run typo -- cmd` used to create database `typo` and hand the worker an empty one.
        _require_existing(controller, args.name, create_hint=True)
    from .core import WorkerEnv

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
    controller = _controller(args)
    _require_existing(controller, args.name)
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


def _line_count(text: str) -> int:
    if text.isascii() and text.isdigit() and len(text) > 18:
        return sys.maxsize  # "all of them"; int() would refuse past a few thousand digits
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of lines, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    result = run_demo(_controller(args), keep=args.keep, progress=not args.json,
                      say=None if args.json else print)  # fmt: skip
    _emit(args, result.to_dict(), result.report())
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, with its error line masked too: it quotes the words it refused, pasted passwords included."""

    home: str | None = None  # the --home of the command line being parsed, set by main()

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {_secrets_under(_Parser.home).redact(message)}\n")


def _home_in(argv: Sequence[str]) -> str | None:
    for i, word in enumerate(argv):
        if word == "--":
            break
        if word == "--home" and i + 1 < len(argv):
            return argv[i + 1]
        if word.startswith("--home="):
            return word.partition("=")[2]
    return None


# `alien-nb audit` exit statuses; 2 stays argparse's usage error.
AUDIT_FOUND = 1
AUDIT_UNREADABLE = 3


def cmd_audit(args: argparse.Namespace) -> int:
    from .core import known_redactor
    from .notebook._audit import NotebookUnreadable, audit_notebook, notebook_files
    from .notebook._known import remember_cloud_passwords, remember_env_passwords, remember_local_passwords

    notes = remember_local_passwords(args.home)
    remember_env_passwords()
    if args.cloud:
        notes += remember_cloud_passwords()
    redactor = known_redactor()
    reports, unreadable = [], []
    for path in notebook_files(args.paths):
        try:
            reports.append(audit_notebook(path, redactor))
        except NotebookUnreadable as exc:
            unreadable.append({"path": str(path), "reason": exc.reason})
    found = [r for r in reports if not r.clean]
    if args.json:
        print(json.dumps({"clean": not found and not unreadable, "notebooks": [r.to_dict() for r in reports],
                          "unreadable": unreadable, "notes": notes}, indent=2))  # fmt: skip
    else:
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        for report in found:
            for finding in report.findings:
                print(f"{report.path}: {finding.location}: {finding.kind}")
        for entry in unreadable:
            print(f"{entry['path']}: cannot audit: {entry['reason']}", file=sys.stderr)
        hits = sum(len(r.findings) for r in found)
        summary = f"{hits} finding(s) in {len(found)}" if found else "no secrets found"
        print(f"audited {len(reports)} notebook(s): {summary}", file=sys.stderr)
    if found:
        return AUDIT_FOUND
    return AUDIT_UNREADABLE if unreadable else 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="alien-nb",
        description="Local Postgres with pgvector for notebooks and scripts.",
        epilog="State lives in $ALIEN_NB_HOME (default: the platform's user data folder). "
        "Exit status: 0 done, 1 failed, 2 wrong command line or unusable home, 70 unexpected error "
        "(a bug; rerun with --debug for the traceback).",
    )
    parser.add_argument("--home", help="state folder (default: $ALIEN_NB_HOME or the user data folder)")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an unexpected error")
    sub = parser.add_subparsers(dest="command_name", required=True, metavar="COMMAND")

    def add(
        name: str, func: Any, help: str, *, name_arg: str | None = "required", json_flag: bool = True
    ) -> Any:
        p = sub.add_parser(name, help=help, description=help)
        if name_arg == "required":
            p.add_argument("name", help="database name (also the binding name)")
        elif name_arg == "optional":
            p.add_argument("name", nargs="?", help="database name (all when left out)")
        if json_flag:
            p.add_argument("--json", action="store_true", help="machine-readable output")
        # Also after the subcommand (`alien-nb status --debug`); SUPPRESS keeps the top-level value otherwise.
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        p.set_defaults(func=func)
        return p

    def backend(p: Any) -> None:
        p.add_argument(
            "--backend", default=LOCAL, choices=BACKENDS,
            help="local (default) or a managed cloud Postgres (billable; see --plan)",
        )  # fmt: skip
        p.add_argument("--region", help="cloud: AWS region, GCP region or Azure location")

    p = add("start", cmd_start, "start (or attach to) a local database, or create a cloud one")
    p.add_argument("--version", help="PostgreSQL major version (default: the bundled one; cloud: 17)")
    backend(p)
    p.add_argument("--plan", action="store_true", help="cloud: show what would be created; create nothing")
    p.add_argument("--cpu", help='cloud: vCPUs, e.g. "2" or "500m"')
    p.add_argument("--memory", help='cloud: memory, e.g. "8Gi"')
    p.add_argument("--storage", help='cloud: disk, e.g. "20Gi" (grow-only)')
    p.add_argument("--ha", action="store_true", help="cloud: highly available")
    add("stop", cmd_stop, "stop a local database; its data stays")
    p = add("status", cmd_status, "health and lifecycle of one database, or all", name_arg="optional")
    backend(p)
    add("list", cmd_list, "all local databases", name_arg=None)
    p = add("delete", cmd_delete, "delete a database and its data (local: stop first)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    backend(p)
    p = add("url", cmd_url, "its connection URL (password masked)", json_flag=False)
    p.add_argument(
        "--show-password",
        action="store_true",
        help="print the real password in the URL (with require_auth=scram-sha-256, for libpq clients)",
    )
    p = add("run", cmd_run, "run a command with ALIEN_<NAME>_BINDING set", json_flag=False)
    p.add_argument(
        "--create", action="store_true", help="create the database if it does not exist (default: refuse)"
    )
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command and its arguments")
    p = add("logs", cmd_logs, "the end of the server log", json_flag=False)
    p.add_argument("--lines", type=_line_count, default=50, help="how many lines (default 50; 0 prints none)")
    p = add("demo", cmd_demo, "load bundled handwritten digits into local database alien-demo, "
            "index, search and measure recall", name_arg=None)  # fmt: skip
    p.add_argument("--keep", action="store_true", help="leave alien-demo running and its table in place")
    audit_help = (
        "find passwords in saved notebooks (never printing them); "
        f"exit {AUDIT_FOUND} if one is found, {AUDIT_UNREADABLE} if a file cannot be read"
    )
    p = add("audit", cmd_audit, audit_help, name_arg=None)
    p.add_argument("paths", nargs="+", metavar="PATH", help="notebooks, or folders to search for *.ipynb")
    p.add_argument(
        "--cloud",
        action="store_true",
        help="also know the passwords of the cloud bindings in ALIEN_*_BINDING (reads the secret stores)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    _Parser.home = _home_in(words)
    args = build_parser().parse_args(words)  # bad arguments: argparse's usage line, exit 2
    try:
        return int(args.func(args))
    except AlienError as exc:
        secrets = _known_secrets(args)
        _say("error", exc.message, secrets)
        if exc.hint:
            _say("hint", exc.hint, secrets, prog=False)
        from .local import HomeInvalid

        return EXIT_USAGE if isinstance(exc, HomeInvalid) else EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `alien-nb logs NAME | head`: the reader left, nothing is wrong
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # the last line of defence against a traceback
        secrets = _known_secrets(args)
        if args.debug:
            import traceback

            _say("debug", "".join(traceback.format_exception(exc)).rstrip(), secrets, prog=False)
        _say("error", f"unexpected {type(exc).__name__}: {exc}", secrets)
        _say("hint", "This is a bug in alien-nb. Run the same command with --debug "
             "(alien-nb --debug ...) for the traceback and report it.", secrets, prog=False)  # fmt: skip
        return EXIT_BUG


def _say(label: str, text: str, secrets: Redactor, *, prog: bool = True) -> None:
    prefix = "alien-nb: " if prog else ""
    print(f"{prefix}{label}: {secrets.redact(text)}", file=sys.stderr)


def _known_secrets(args: argparse.Namespace) -> Redactor:
    return _secrets_under(args.home)


def _secrets_under(home_arg: str | None) -> Redactor:
    """A redactor holding every local password under the home, so no error can print one.

    Error messages are built without passwords; this is the net under them
    (an unexpected exception may quote anything).
    """
    from .core import known_redactor
    from .notebook._known import remember_local_passwords

    with contextlib.suppress(Exception):  # the net under error messages must never fail itself
        remember_local_passwords(home_arg or None)
    return known_redactor()


if __name__ == "__main__":
    sys.exit(main())
