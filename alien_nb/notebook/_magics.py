"""``%alien_postgres`` and ``%%alien_postgres``: thin magics over `NotebookState`.

The parsers and usage errors are in `_parsers`, the variables handles go to in `_variables`.
"""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import MagicArgumentParser
from traitlets import Bool, Int, Unicode

from ..core._backends import LOCAL
from ..core._redact import Redactor
from ._parsers import (
    STATEMENT_WORDS,
    attach_parser,
    audit_parser,
    cell_parser,
    delete_parser,
    name_parser,
    parse_args,
    start_parser,
    subcommand_parser,
    usage_error,
)
from ._variables import bind_handle, check_variable

if TYPE_CHECKING:
    import pandas as pd

    from ..controllers import Plan
    from ..local import LocalStatus
    from ._audit import AuditReport
    from ._database import Database
    from ._panel import Panel
    from ._state import NotebookState

__all__ = ["AlienPostgresMagics", "register"]


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
        self._cell_args = cell_parser()
        self.commands: dict[str, tuple[Callable[[argparse.Namespace], object], MagicArgumentParser]] = {
            "start": (self._start, start_parser()),
            "attach": (self._attach, attach_parser()),
            "status": (
                self._status,
                name_parser("status", "Health of one local database, or all.", optional=True),
            ),
            "list": (self._list, subcommand_parser("list", "All local databases.")),
            "stop": (self._stop, name_parser("stop", "Stop a local database; its data stays.")),
            "delete": (self._delete, delete_parser()),
            "url": (self._url, name_parser("url", "The connection URL, password masked.")),
            "panel": (
                self._panel,
                subcommand_parser("panel", "A widget panel to start, attach and stop databases."),
            ),
            "audit": (self._audit, audit_parser()),
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
        parts.append(cell_parser().format_help())
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
            raise usage_error(f"cannot read the arguments: {exc}") from None
        if cell is not None:
            return self._sql_cell(argv, cell)
        if not argv:
            raise usage_error(f"say what to do: %alien_postgres {{{','.join([*self.commands, 'sql'])}}} ...")
        command = self.commands.get(argv[0])
        if command is None:
            import difflib

            known = [*self.commands, "sql"]
            close = difflib.get_close_matches(argv[0], known, n=1)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            raise usage_error(f"unknown subcommand {argv[0]!r}{guess}; one of: {', '.join(known)}")
        func, parser = command
        return func(parse_args(parser, argv[1:]))

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

    def _bind(self, name: str, var: str | None, db: Database) -> Database:
        print(f"handle: {bind_handle(self._ns, name, var, db)}")
        return db

    def _start(self, args: argparse.Namespace) -> Database | Plan:
        if args.var is not None:  # before anything starts, not after
            check_variable("--as", args.var)
        if args.storage is not None:
            from ..core import parse_size

            try:
                if parse_size(args.storage) <= 0:
                    raise ValueError("must be more than zero, like 20Gi")
            except ValueError as exc:
                raise usage_error(f"--storage {exc}", self.commands["start"][1]) from None
        if args.backend != LOCAL:
            return self._start_cloud(args)
        flags = {"--plan": args.plan, "--cpu": args.cpu, "--memory": args.memory, "--ha": args.ha,
                 "--region": args.region}  # fmt: skip
        cloud_only = [flag for flag, value in flags.items() if value]
        if cloud_only:
            raise usage_error(
                f"{', '.join(cloud_only)} apply to cloud backends; add --backend aurora (or another).",
                self.commands["start"][1],
            )
        db = self.state.start(args.name, args.version)
        return self._bind(args.name, args.var, db)

    def _start_cloud(self, args: argparse.Namespace) -> Database | Plan:
        from ..core import Postgres

        resource = Postgres.from_options(args.name, version=args.version, cpu=args.cpu, memory=args.memory,
                                         storage=args.storage, high_availability=args.ha)  # fmt: skip
        if args.plan:
            return self.state.cloud_controller(args.backend, region=args.region).plan(resource)
        db = self.state.create_cloud(resource, args.backend, region=args.region)
        return self._bind(args.name, args.var, db)

    def _attach(self, args: argparse.Namespace) -> Database:
        if args.var is not None:
            check_variable("--as", args.var)
        if args.binding_env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", args.binding_env):
            raise usage_error(
                f"--binding-env {args.binding_env!r} is not an environment variable name "
                "(letters, digits and _); leave it out to read ALIEN_<NAME>_BINDING",
                self.commands["attach"][1],
            )
        if args.binding_file is not None and not args.binding_file.strip():
            raise usage_error("--binding-file needs a path", self.commands["attach"][1])
        db = self.state.attach(args.name, binding_env=args.binding_env, binding_file=args.binding_file)
        print(f"{args.name}: attached ({db.url})")
        return self._bind(args.name, args.var, db)

    def _status(self, args: argparse.Namespace) -> LocalStatus | pd.DataFrame | None:
        if args.name:
            return self.state.controller.status(args.name)
        return self._list(args)

    def _list(self, args: argparse.Namespace) -> pd.DataFrame | None:
        import pandas as pd

        rows = [s.to_dict() for s in self.state.controller.list()]
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
            raise usage_error(message, self.commands["delete"][1])
        controller = self.state.controller
        if not controller.exists(args.name):  # a malformed name raises its own error here
            from ..local import DatabaseNotFound

            raise DatabaseNotFound(args.name, controller.home)  # the handle is kept
        self.state.forget(args.name)
        controller.delete(args.name)
        print(f"{args.name}: deleted")

    def _url(self, args: argparse.Namespace) -> str:
        return str(self.state.database(args.name).url)

    def _panel(self, args: argparse.Namespace) -> Panel:
        from ._panel import Panel

        return Panel(self.state, self._ns)

    def _audit(self, args: argparse.Namespace) -> AuditReport:
        from ._audit import audit_notebook
        from ._known import remember_cloud_passwords, remember_env_passwords, remember_local_passwords

        path = args.notebook or self._notebook_path()
        if path is None:
            raise usage_error("name the notebook file: %alien_postgres audit path/to/notebook.ipynb")
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
            args = parse_args(self._cell_args, argv)
        return self._run_sql(args, cell)

    def _sql_line(self, rest: str) -> Any:
        """``%alien_postgres sql [NAME] [--out VAR] [--limit N] STATEMENT``."""
        words = rest.split()
        name = None
        first = words[0].lower() if words else ""
        if words and first not in STATEMENT_WORDS and not first.startswith(("-", "(")):
            name = words.pop(0)
        flags: list[str] = []
        while words and words[0].startswith("--"):
            flags.append(words.pop(0))
            if flags[-1] in ("--out", "--limit", "--in-file", "--out-file") and words:
                flags.append(words.pop(0))
        sql = rest.split(None, len(flags) + (1 if name else 0))[-1] if words else ""
        if not words or not sql.strip():
            raise usage_error("write the SQL after it: %alien_postgres sql [NAME] SELECT ...")
        args = parse_args(self._cell_args, ([name] if name else []) + flags)
        return self._run_sql(args, sql)

    def _run_sql(self, args: argparse.Namespace, cell: str) -> Any:
        if args.out is not None:
            check_variable("--out", args.out)
        if args.limit is not None and args.limit < 0:
            raise usage_error(f"--limit must be 0 or more, not {args.limit}", self._cell_args)
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
    """``--in-file``'s path, checked as ``copy_from=`` is, before anything is sent; ``~`` expanded."""
    import os

    from ._copy import NO_SUCH_FILE, unreadable

    problem = unreadable(path)
    if problem == NO_SUCH_FILE:
        raise usage_error(f"--in-file {path!r}: no such file; give the path of the data COPY should read")
    if problem is not None:
        raise usage_error(f"--in-file {path!r}: {problem}")
    return os.path.expanduser(path)


def register(shell: Any, redactor: Redactor) -> AlienPostgresMagics:
    magics = AlienPostgresMagics(shell, redactor)
    shell.register_magics(magics)
    if magics not in shell.configurables:
        shell.configurables.append(magics)
    return magics
