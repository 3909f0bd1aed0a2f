"""``%alien_postgres`` and ``%%alien_postgres``: thin magics over `NotebookState`."""

from __future__ import annotations

import argparse
import builtins
import keyword
import re
import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import MagicArgumentParser
from traitlets import Bool, Int, Unicode

from ..core._backends import BACKENDS, LOCAL
from ..core._redact import Redactor

if TYPE_CHECKING:
    from ._state import NotebookState


# Names a handle or result must not take: Python keywords cannot be variables,
# and rebinding a builtin or IPython's own names breaks the rest of the notebook.
_SHELL_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "display"}


def _taken(ident: str) -> str | None:
    if keyword.iskeyword(ident):
        return "a Python keyword"
    if ident in _SHELL_NAMES:
        return "a name IPython itself uses"
    if hasattr(builtins, ident) and not ident.startswith("_"):
        return "a Python builtin, which the notebook would then lose"
    return None


def identifier_for(name: str) -> str:
    """The variable a database handle is bound to: ``vec-db`` → ``vec_db``, ``list`` → ``db_list``."""
    ident = re.sub(r"\W", "_", name)
    if not ident or ident[0].isdigit() or _taken(ident):
        ident = f"db_{ident}"
    return ident


def check_variable(flag: str, value: str) -> str:
    """Refuse a ``--as`` / ``--out`` value that cannot or should not be a notebook variable.

    Rule: a Python identifier (letters, digits and ``_``, not starting with a
    digit) that is not a keyword, a builtin or one of IPython's names. Raise
    `UsageError` with the rule and a name that would work.
    """
    problem = None if value.isidentifier() else "not a Python identifier"
    problem = problem or _taken(value)
    if problem is None:
        return value
    suggestion = re.sub(r"\W", "_", value) or "result"
    if suggestion[0].isdigit():
        suggestion = f"db_{suggestion}"
    if not suggestion.isidentifier() or _taken(suggestion):
        suggestion = f"{suggestion}_db" if suggestion.isidentifier() else "db_handle"
    raise _usage(
        f"{flag} {value!r} is {problem}. Name a variable: letters, digits and _, not starting "
        f"with a digit, and no keyword or builtin; for example {flag} {suggestion}"
    )


def _usage(message: str, parser: MagicArgumentParser | None = None) -> UsageError:
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


def _parser(prog: str, description: str) -> MagicArgumentParser:
    # IPython prefixes usage lines with "%" itself.
    return MagicArgumentParser(prog=f"alien_postgres {prog}", description=description, add_help=False)


def _start_parser() -> MagicArgumentParser:
    p = _parser(
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
    p.add_argument(
        "--as", dest="var", help="variable for the handle (default: the name as an identifier); "
        "a Python identifier, not a keyword or builtin",
    )  # fmt: skip
    return p


def _attach_parser() -> MagicArgumentParser:
    p = _parser("attach", "Attach to an existing database from its binding JSON.")
    p.add_argument("name", help="binding name")
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--binding-env", help="environment variable holding the binding (default ALIEN_<NAME>_BINDING)"
    )
    source.add_argument("--binding-file", help="file holding the binding JSON")
    p.add_argument(
        "--as", dest="var", help="variable for the handle (default: the name as an identifier); "
        "a Python identifier, not a keyword or builtin",
    )  # fmt: skip
    return p


def _name_parser(prog: str, description: str, *, optional: bool = False) -> MagicArgumentParser:
    p = _parser(prog, description)
    p.add_argument("name", nargs="?" if optional else None, help="database name")
    return p


def _delete_parser() -> MagicArgumentParser:
    p = _name_parser("delete", "Stop a local database and remove its data.")
    p.add_argument("--yes", action="store_true", help="required: confirms that the data goes")
    return p


def _audit_parser() -> MagicArgumentParser:
    p = _parser(
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


def _cell_parser() -> MagicArgumentParser:
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
_STATEMENT_WORDS = frozenset({
    "select", "with", "values", "table", "insert", "update", "delete", "merge", "create", "drop", "alter",
    "truncate", "explain", "show", "set", "reset", "begin", "commit", "rollback", "copy", "call", "do",
    "vacuum", "analyze", "grant", "revoke", "comment", "refresh", "lock", "execute", "fetch", "prepare",
    "declare", "notify", "listen", "unlisten", "savepoint", "release", "close", "move", "discard", "cluster",
    "reindex", "checkpoint", "load", "security", "abort", "end", "start", "import", "deallocate", "reassign",
})  # fmt: skip


@magics_class
class AlienPostgresMagics(Magics):
    """Start or attach to Postgres with pgvector, and query it into pandas.

    Line magic::

        %alien_postgres start vec-db            # local PostgreSQL 18 + pgvector; handle in `vec_db`
        %alien_postgres attach prod --binding-env ALIEN_PROD_BINDING
        %alien_postgres status | list | stop NAME | delete NAME --yes | url NAME | panel | audit [FILE]

    Cell magic (``:name`` binds the Python variable ``name`` as a server-side parameter)::

        %%alien_postgres vec-db --out docs
        SELECT id, title FROM docs WHERE id < :max_id

    One line, the same engine::

        %alien_postgres sql vec-db SELECT count(*) FROM docs WHERE lang = :lang
        %alien_postgres sql SELECT 1                  # the default database

    Passwords never appear in output: handles, URLs and errors show them masked,
    and tracebacks are scrubbed while the extension is loaded.
    """

    display_limit = Int(1000, help="Show at most this many rows of a SQL result (all are kept).").tag(
        config=True
    )
    default_database = Unicode("", help="Database for %%alien_postgres cells that name none.").tag(
        config=True
    )
    autocommit = Bool(False, help="Run SQL cells without a wrapping transaction.").tag(config=True)

    def __init__(self, shell: Any, redactor: Redactor) -> None:
        super().__init__(shell)
        self.redactor = redactor
        self._state: NotebookState | None = None
        self._cell_args = _cell_parser()
        self.commands: dict[str, tuple[Callable[[argparse.Namespace], Any], MagicArgumentParser]] = {
            "start": (self._start, _start_parser()),
            "attach": (self._attach, _attach_parser()),
            "status": (
                self._status,
                _name_parser("status", "Health of one local database, or all.", optional=True),
            ),
            "list": (self._list, _parser("list", "All local databases.")),
            "stop": (self._stop, _name_parser("stop", "Stop a local database; its data stays.")),
            "delete": (self._delete, _delete_parser()),
            "url": (self._url, _name_parser("url", "The connection URL, password masked.")),
            "panel": (self._panel, _parser("panel", "A widget panel to start, attach and stop databases.")),
            "audit": (self._audit, _audit_parser()),
        }
        # `%alien_postgres?` shows this docstring: generate it from the same parsers.
        type(self).__dict__["alien_postgres"].__doc__ = self.help_text()

    @property
    def _ns(self) -> dict[str, Any]:
        assert self.shell is not None, "the magics are registered on a shell"
        return self.shell.user_ns

    @property
    def state(self) -> NotebookState:
        """Created on first use, so ``%load_ext`` imports no pydantic, pandas or psycopg."""
        if self._state is None:
            from ._state import NotebookState

            self._state = NotebookState(redactor=self.redactor)
        return self._state

    def close(self) -> None:
        if self._state is not None:
            self._state.close()
            self._state = None

    def help_text(self) -> str:
        parts = [type(self).__doc__ or ""]
        parts += ["Subcommands", "-----------", ""]
        for _name, (_func, parser) in self.commands.items():
            parts.append(parser.format_help())
        parts.append(_cell_parser().format_help())
        parts.append("Settings: %config AlienPostgresMagics.display_limit / default_database / autocommit")
        return "\n".join(parts)

    @no_var_expand  # SQL is full of {} and $: IPython must not rewrite it as Python...
    @line_cell_magic
    def alien_postgres(self, line: str, cell: str | None = None) -> Any:
        if cell is None and line.lstrip().split(None, 1)[:1] == ["sql"]:
            return self._sql_line(line.lstrip()[3:])
        # ...but every other line expands $var and {expr} as IPython's magics do (`audit $path`).
        line = self._expanded(line)
        try:
            # Most lines are plain words; shlex where quoting or a trailing `# comment` may matter.
            argv = shlex.split(line, comments=True) if any(c in line for c in "'\"\\#") else line.split()
        except ValueError as exc:
            raise _usage(f"cannot read the arguments: {exc}") from None
        if cell is not None:
            return self._sql_cell(argv, cell)
        if not argv:
            raise _usage(f"say what to do: %alien_postgres {{{','.join([*self.commands, 'sql'])}}} ...")
        command = self.commands.get(argv[0])
        if command is None:
            import difflib

            known = [*self.commands, "sql"]
            close = difflib.get_close_matches(argv[0], known, n=1)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            raise _usage(f"unknown subcommand {argv[0]!r}{guess}; one of: {', '.join(known)}")
        func, parser = command
        return func(_parse(parser, argv[1:]))

    def _expanded(self, line: str) -> str:
        """``$var`` and ``{expr}`` filled in from the notebook's namespace, as IPython itself would."""
        if "$" not in line and "{" not in line:
            return line
        from IPython.utils.text import DollarFormatter

        try:
            return str(DollarFormatter().vformat(line, args=[], kwargs=self._ns))
        except Exception:  # as IPython: a line that does not expand is used as written
            return line

    # -- subcommands ------------------------------------------------------------

    def _bind(self, name: str, var: str | None, db: Any) -> Any:
        variable = check_variable("--as", var) if var is not None else identifier_for(name)
        self._ns[variable] = db
        print(f"handle: {variable}")
        return db

    def _start(self, args: argparse.Namespace) -> Any:
        if args.var is not None:  # before anything starts, not after
            check_variable("--as", args.var)
        if args.storage is not None:
            from ..core import parse_size

            try:
                if parse_size(args.storage) <= 0:
                    raise ValueError("must be more than zero, like 20Gi")
            except ValueError as exc:
                raise _usage(f"--storage {exc}", self.commands["start"][1]) from None
        if args.backend != LOCAL:
            return self._start_cloud(args)
        flags = {"--plan": args.plan, "--cpu": args.cpu, "--memory": args.memory, "--ha": args.ha,
                 "--region": args.region}  # fmt: skip
        cloud_only = [flag for flag, value in flags.items() if value]
        if cloud_only:
            raise _usage(
                f"{', '.join(cloud_only)} apply to cloud backends; add --backend aurora (or another).",
                self.commands["start"][1],
            )
        db = self.state.start(args.name, args.version)
        return self._bind(args.name, args.var, db)

    def _start_cloud(self, args: argparse.Namespace) -> Any:
        from ..core import Postgres

        resource = Postgres.from_options(args.name, version=args.version, cpu=args.cpu, memory=args.memory,
                                         storage=args.storage, high_availability=args.ha)  # fmt: skip
        if args.plan:
            return self.state.cloud_controller(args.backend, region=args.region).plan(resource)
        db = self.state.create_cloud(resource, args.backend, region=args.region)
        return self._bind(args.name, args.var, db)

    def _attach(self, args: argparse.Namespace) -> Any:
        if args.var is not None:
            check_variable("--as", args.var)
        if args.binding_env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", args.binding_env):
            raise _usage(
                f"--binding-env {args.binding_env!r} is not an environment variable name "
                "(letters, digits and _); leave it out to read ALIEN_<NAME>_BINDING",
                self.commands["attach"][1],
            )
        if args.binding_file is not None and not args.binding_file.strip():
            raise _usage("--binding-file needs a path", self.commands["attach"][1])
        db = self.state.attach(args.name, binding_env=args.binding_env, binding_file=args.binding_file)
        print(f"{args.name}: attached ({db.url})")
        return self._bind(args.name, args.var, db)

    def _status(self, args: argparse.Namespace) -> Any:
        if args.name:
            return self.state.controller.status(args.name)
        return self._list(args)

    def _list(self, args: argparse.Namespace) -> Any:
        import pandas as pd

        rows = [s.to_dict() for s in self.state.controller.manager.list()]
        if not rows:
            print("no local databases yet: %alien_postgres start NAME")
            return None
        return pd.DataFrame(rows).set_index("name")

    def _stop(self, args: argparse.Namespace) -> None:
        # Stop first: a refused stop (unknown name, a bad one) leaves the handle as it was.
        self.state.controller.stop(args.name)
        self.state.forget(args.name)
        print(f"{args.name}: stopped (data kept)")

    def _delete(self, args: argparse.Namespace) -> None:
        if not args.yes:
            message = f"deleting removes all data of {args.name!r}; add --yes to confirm"
            raise _usage(message, self.commands["delete"][1])
        self.state.controller.status(args.name)  # an unknown name: DatabaseNotFound, handle kept
        self.state.forget(args.name)
        self.state.controller.delete(args.name)
        print(f"{args.name}: deleted")

    def _url(self, args: argparse.Namespace) -> str:
        return str(self.state.database(args.name).url)

    def _panel(self, args: argparse.Namespace) -> Any:
        from ._panel import Panel

        return Panel(self.state)

    def _audit(self, args: argparse.Namespace) -> Any:
        from ._audit import audit_notebook
        from ._known import remember_cloud_passwords, remember_env_passwords, remember_local_passwords

        path = args.notebook or self._notebook_path()
        if path is None:
            raise _usage("name the notebook file: %alien_postgres audit path/to/notebook.ipynb")
        # The same engine and the same knowledge as `alien-nb audit`: this
        # kernel's passwords and every local database's, even if never started here.
        notes = remember_local_passwords()
        remember_env_passwords()
        if args.cloud:
            notes += remember_cloud_passwords()
        for note in notes:
            print(f"note: {note}")
        return audit_notebook(path, self.redactor)

    def _notebook_path(self) -> str | None:
        for key in ("__vsc_ipynb_file__", "__session__"):
            value = self._ns.get(key)
            if isinstance(value, str) and value.endswith(".ipynb"):
                return value
        return None

    # -- SQL cells ------------------------------------------------------------

    def _sql_cell(self, argv: list[str], cell: str) -> Any:
        if len(argv) <= 1 and not any(a.startswith("-") for a in argv):
            # The common `%%alien_postgres [NAME]`: no need for a full argparse pass.
            name = argv[0] if argv else None
            args = argparse.Namespace(
                name=name, out=None, limit=None, autocommit=False, in_file=None, out_file=None
            )
        else:
            args = _parse(self._cell_args, argv)
        return self._run_sql(args, cell)

    def _sql_line(self, rest: str) -> Any:
        """``%alien_postgres sql [NAME] [--out VAR] [--limit N] STATEMENT``."""
        words = rest.split()
        name = None
        first = words[0].lower() if words else ""
        if words and first not in _STATEMENT_WORDS and not first.startswith(("-", "(")):
            name = words.pop(0)
        flags: list[str] = []
        while words and words[0].startswith("--"):
            flags.append(words.pop(0))
            if flags[-1] in ("--out", "--limit", "--in-file", "--out-file") and words:
                flags.append(words.pop(0))
        sql = rest.split(None, len(flags) + (1 if name else 0))[-1] if words else ""
        if not words or not sql.strip():
            raise _usage("write the SQL after it: %alien_postgres sql [NAME] SELECT ...")
        args = _parse(self._cell_args, ([name] if name else []) + flags)
        return self._run_sql(args, sql)

    def _run_sql(self, args: argparse.Namespace, cell: str) -> Any:
        if args.out is not None:
            check_variable("--out", args.out)
        if args.limit is not None and args.limit < 0:
            raise _usage(f"--limit must be 0 or more, not {args.limit}", self._cell_args)
        db = self.state.database(args.name or self.default_database or None)
        in_file, out_file = getattr(args, "in_file", None), getattr(args, "out_file", None)
        if in_file is not None:
            in_file = _readable(in_file)
        result = db.run(
            cell, self._ns, autocommit=args.autocommit or self.autocommit, limit=args.limit,
            copy_from=in_file, copy_to=out_file,
        )  # fmt: skip
        if args.out:
            self._ns[args.out] = result
        return self._shown(result, args.out)

    def _shown(self, result: Any, out: str | None) -> Any:
        rows = getattr(result, "shape", (0,))[0]
        if not hasattr(result, "head") or rows <= self.display_limit:
            return result
        from IPython.display import display

        keep = out or "_alien_result"
        self._ns[keep] = result
        display(result.head(self.display_limit))
        print(f"showing {self.display_limit} of {rows} rows; all of them are in `{keep}`")
        return None


def _readable(path: str) -> str:
    """``--in-file``'s path, checked before anything is sent (a missing file must not start a COPY)."""
    import os

    expanded = os.path.expanduser(path)
    if not os.path.isfile(expanded):
        raise _usage(f"--in-file {path!r}: no such file; give the path of the data COPY should read")
    if not os.access(expanded, os.R_OK):
        raise _usage(f"--in-file {path!r}: not readable by this kernel's user")
    return expanded


def _parse(parser: MagicArgumentParser, argv: list[str]) -> argparse.Namespace:
    try:
        return parser.parse_args(argv)
    except UsageError as exc:  # MagicArgumentParser.error: re-raised bare, with the usage line
        raise _usage(str(exc), parser) from None


def register(shell: Any, redactor: Redactor) -> AlienPostgresMagics:
    magics = AlienPostgresMagics(shell, redactor)
    shell.register_magics(magics)
    if magics not in shell.configurables:
        shell.configurables.append(magics)
    return magics
