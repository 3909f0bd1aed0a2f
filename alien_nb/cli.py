"""``alien-nb``: databases from a shell, on the same controllers the magics use.

alien-nb start vec-db            start (or attach to) a local Postgres with pgvector
alien-nb start big --backend aurora --memory 8Gi --plan
                                 what a cloud database would be (nothing is created)
alien-nb status [vec-db] --json  the heartbeat, for people or scripts
alien-nb run vec-db -- python worker.py
                                 run a command with ALIEN_VEC_DB_BINDING set
alien-nb audit notebooks/        saved notebooks hold no password (exit 1 if one does)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from typing import Any

from .core import AlienError, binding_env_var, format_size, redacted_connection_string


def _controller(args: argparse.Namespace) -> Any:
    from .controllers import LocalPostgresController
    from .local import LocalPostgresManager

    notify = (lambda _msg: None) if getattr(args, "quiet", False) else None
    manager = LocalPostgresManager(args.home, notify=notify, monitor=False)
    return LocalPostgresController(manager)


def _emit(args: argparse.Namespace, data: Any, human: str) -> None:
    print(json.dumps(data, indent=2) if args.json else human)


def _cloud(args: argparse.Namespace) -> Any:
    from .controllers import cloud_controller
    from .resolver import default_settings

    notify = (lambda _msg: None) if args.json else (lambda msg: print(msg, file=sys.stderr))
    return cloud_controller(args.backend, region=args.region, settings=default_settings(), notify=notify)


def cmd_start_cloud(args: argparse.Namespace) -> int:
    from .core import Postgres

    spec: dict[str, Any] = {"id": args.name, "highAvailability": args.ha}
    for key in ("version", "cpu", "memory", "storage"):
        if getattr(args, key) is not None:
            spec[key] = getattr(args, key)
    resource = Postgres.parse(spec)
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
    if args.backend != "local":
        return cmd_start_cloud(args)
    flags = [f"--{k}" for k in ("plan", "cpu", "memory", "ha", "region") if getattr(args, k)]
    if flags:
        raise AlienError(
            f"{', '.join(flags)}: for cloud backends only.", hint="Add --backend aurora (or another)."
        )
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
    _controller(args).stop(args.name)
    _emit(args, {"name": args.name, "lifecycle": "stopped"}, f"{args.name}: stopped (data kept)")
    return 0


def _status_line(s: Any) -> str:
    pid = f", pid {s.pid}" if s.pid else ""
    return (
        f"{s.name:20} {s.lifecycle:9} {s.health:10} port {s.port or '-':<6} "
        f"PostgreSQL {s.version or '?'}{pid}, {format_size(s.data_size)}  {s.message}"
    )


def cmd_status(args: argparse.Namespace) -> int:
    if args.backend != "local":
        if not args.name:
            raise AlienError("Name the cloud database: alien-nb status NAME --backend ...")
        status = _cloud(args).status(args.name)
        _emit(
            args, status.to_dict(), f"{args.name:20} {status.lifecycle:9} {status.health:10} {status.message}"
        )
        return 0
    controller = _controller(args)
    if args.name:
        status = controller.status(args.name)
        _emit(args, status.to_dict(), _status_line(status))
        return 0
    return cmd_list(args)


def cmd_list(args: argparse.Namespace) -> int:
    statuses = _controller(args).manager.list()
    human = (
        "\n".join(_status_line(s) for s in statuses) or "no local databases (start one: alien-nb start NAME)"
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
    if args.backend != "local":
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
    paths = controller.manager.paths(args.name)
    if not _confirm(args, f"Delete local database {args.name!r} and all its data in {paths.root}?"):
        return 1
    controller.delete(args.name)
    _emit(args, {"name": args.name, "lifecycle": "deleted"}, f"{args.name}: deleted ({paths.root} removed)")
    return 0


def cmd_url(args: argparse.Namespace) -> int:
    binding = _controller(args).runtime_binding(args.name)
    if args.show_password:
        from .core import connection_string

        print(connection_string(binding).get_secret_value())
    else:
        print(redacted_connection_string(binding))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise AlienError("No command given to run.", hint=f"alien-nb run {args.name} -- python worker.py")
    args.quiet = True  # before the controller exists: `run` prints nothing of its own
    controller = _controller(args)
    from .core import WorkerEnv

    binding = controller.start(args.name)
    env = {**os.environ, **WorkerEnv.for_binding(args.name, binding)}
    program = shutil.which(command[0])
    if program is None:
        raise AlienError(f"Command not found: {command[0]!r}.", hint="Check the command and your PATH.")
    try:
        os.execve(program, command, env)
    except OSError as exc:
        raise AlienError(
            f"Cannot run {program}: {exc.strerror}.", hint="Check that it is executable."
        ) from None
    return 127  # pragma: no cover - exec does not return


def cmd_logs(args: argparse.Namespace) -> int:
    path = _controller(args).manager.log_path(args.name)
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines() if path.exists() else []
    print("\n".join(lines[-args.lines :]))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    result = run_demo(_controller(args), keep=args.keep, progress=not args.json,
                      say=None if args.json else print)  # fmt: skip
    _emit(args, result.to_dict(), result.report())
    return 0


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
    parser = argparse.ArgumentParser(
        prog="alien-nb",
        description="Local Postgres with pgvector for notebooks and scripts.",
        epilog="State lives in $ALIEN_NB_HOME (default: the platform's user data folder).",
    )
    parser.add_argument("--home", help="state folder (default: $ALIEN_NB_HOME or the user data folder)")
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
        p.set_defaults(func=func)
        return p

    def backend(p: Any) -> None:
        p.add_argument(
            "--backend", default="local", choices=["local", "aurora", "cloud-sql", "flexible-server"],
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
    p.add_argument("--show-password", action="store_true", help="print the real password in the URL")
    p = add("run", cmd_run, "run a command with ALIEN_<NAME>_BINDING set", json_flag=False)
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command and its arguments")
    p = add("logs", cmd_logs, "the end of the server log", json_flag=False)
    p.add_argument("--lines", type=int, default=50, help="how many lines (default 50)")
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
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except AlienError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
