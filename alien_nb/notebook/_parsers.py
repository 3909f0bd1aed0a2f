"""The argument parsers of ``%alien_postgres``'s subcommands and cells, and its usage errors."""

from __future__ import annotations

import argparse

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser

from ..core._backends import BACKENDS, LOCAL


def usage_error(message: str, parser: MagicArgumentParser | None = None) -> UsageError:
    """IPython's own one-line usage error, plus the subcommand's usage line.

    The exact class `UsageError` is what IPython shows without a traceback;
    ``_render_traceback_`` keeps it just as short where an exception handler
    (the scrubber's) renders every error itself.
    """
    lines = [f"UsageError: {message}"]
    if parser is not None:
        # MagicArgumentParser formats usage as an indented reST block; one line reads better here.
        lines.append("usage: " + " ".join(parser.format_usage().replace("::", " ").split()))
    lines.append("See %alien_postgres? for every subcommand and flag.")
    err = UsageError("\n".join([message, *lines[1:-1]]))
    err._render_traceback_ = lambda: list(lines)  # type: ignore[attr-defined]
    return err


def subcommand_parser(prog: str, description: str) -> MagicArgumentParser:
    # IPython prefixes usage lines with "%" itself.
    return MagicArgumentParser(prog=f"alien_postgres {prog}", description=description, add_help=False)


def start_parser() -> MagicArgumentParser:
    p = subcommand_parser(
        "start",
        "Start a local Postgres with pgvector (or attach to it if it runs), "
        "or create a managed one with --backend.",
    )
    p.add_argument("name", help="database name, e.g. vec-db")
    p.add_argument("--version", help="PostgreSQL major version (local default: the bundled 18; cloud: 17)")
    p.add_argument(
        "--storage", help='disk the database may use, e.g. "20Gi" (recorded; local disk is not capped)'
    )
    p.add_argument(
        "--backend",
        default=LOCAL,
        choices=BACKENDS,
        help="where it runs (default local; the cloud ones create billable resources)",
    )
    p.add_argument(
        "--plan", action="store_true", help="show what a cloud backend would create; create nothing"
    )
    p.add_argument("--cpu", help='cloud: vCPUs, e.g. "2" or "500m" (default: the smallest tier)')
    p.add_argument("--memory", help='cloud: memory, e.g. "8Gi" (default: the smallest tier)')
    p.add_argument("--ha", action="store_true", help="cloud: highly available (standby in another zone)")
    p.add_argument("--region", help="cloud: AWS region, GCP region or Azure location")
    _add_handle_variable(p)
    return p


def _add_handle_variable(p: MagicArgumentParser) -> None:
    # start and attach both bind a handle, and name its variable the same way
    p.add_argument(
        "--as", dest="var", help="variable for the handle (default: the name as an identifier); "
        "a Python identifier, not a keyword or builtin",
    )  # fmt: skip


def attach_parser() -> MagicArgumentParser:
    p = subcommand_parser("attach", "Attach to an existing database from its binding JSON.")
    p.add_argument("name", help="binding name")
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--binding-env", help="environment variable holding the binding (default ALIEN_<NAME>_BINDING)"
    )
    source.add_argument("--binding-file", help="file holding the binding JSON")
    _add_handle_variable(p)
    return p


def name_parser(prog: str, description: str, *, optional: bool = False) -> MagicArgumentParser:
    p = subcommand_parser(prog, description)
    p.add_argument("name", nargs="?" if optional else None, help="database name")
    return p


def delete_parser() -> MagicArgumentParser:
    p = name_parser("delete", "Stop a local database and remove its data.")
    p.add_argument("--yes", action="store_true", help="required: confirms that the data goes")
    return p


def audit_parser() -> MagicArgumentParser:
    p = subcommand_parser(
        "audit",
        "Scan a saved notebook for the passwords this kernel knows (and every local database's), "
        "and for connection strings with an inline password.",
    )
    p.add_argument(
        "notebook", nargs="?", help="the .ipynb file (default: this notebook, if the kernel knows it)"
    )
    p.add_argument(
        "--cloud", action="store_true", help="also know the passwords of ALIEN_*_BINDING cloud bindings"
    )
    return p


def cell_parser() -> MagicArgumentParser:
    p = MagicArgumentParser(
        prog="%alien_postgres",
        add_help=False,
        description="Run the cell as SQL; rows come back as a pandas DataFrame.",
    )
    p.add_argument("name", nargs="?", help="database (default: the last one started or attached)")
    p.add_argument("--out", help="store the DataFrame (or status) in this variable (a Python identifier)")
    p.add_argument("--limit", type=int, help="fetch at most this many rows")
    p.add_argument(
        "--autocommit", action="store_true", help="run each statement on its own (VACUUM, CREATE DATABASE)"
    )
    p.add_argument("--in-file", help="the data COPY ... FROM STDIN reads (a file path)")
    p.add_argument("--out-file", help="where COPY ... TO STDOUT writes (a path; written whole or not at all)")
    return p


# Words a statement can start with: `%alien_postgres sql SELECT 1` names no database.
STATEMENT_WORDS = frozenset({
    "select", "with", "values", "table", "insert", "update", "delete", "merge", "create", "drop", "alter",
    "truncate", "explain", "show", "set", "reset", "begin", "commit", "rollback", "copy", "call", "do",
    "vacuum", "analyze", "grant", "revoke", "comment", "refresh", "lock", "execute", "fetch", "prepare",
    "declare", "notify", "listen", "unlisten", "savepoint", "release", "close", "move", "discard", "cluster",
    "reindex", "checkpoint", "load", "security", "abort", "end", "start", "import", "deallocate", "reassign",
})  # fmt: skip


def parse_args(parser: MagicArgumentParser, argv: list[str]) -> argparse.Namespace:
    try:
        return parser.parse_args(argv)
    except UsageError as exc:  # MagicArgumentParser.error: re-raised bare, with the usage line
        raise usage_error(str(exc), parser) from None
