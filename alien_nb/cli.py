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
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from ._cli.audit import AUDIT_FOUND, AUDIT_UNREADABLE, cmd_audit
from ._cli.local import (
    cmd_delete,
    cmd_demo,
    cmd_list,
    cmd_logs,
    cmd_run,
    cmd_start,
    cmd_status,
    cmd_stop,
    cmd_url,
)
from .core import AlienError
from .core._backends import BACKENDS, LOCAL

if TYPE_CHECKING:
    from .core import Redactor

EXIT_FAILED, EXIT_USAGE, EXIT_BUG = 1, 2, 70


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
        name: str,
        func: Callable[[argparse.Namespace], int],
        help: str,
        *,
        name_arg: str | None = "required",
        json_flag: bool = True,
    ) -> argparse.ArgumentParser:
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

    def backend(p: argparse.ArgumentParser) -> None:
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
