"""``%alien_postgres`` and ``%%alien_postgres``: thin magics over `NotebookState`."""

from __future__ import annotations

import argparse
import keyword
import re
import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import MagicArgumentParser
from traitlets import Bool, Int, Unicode

from ..core._redact import Redactor

if TYPE_CHECKING:
    from ._state import NotebookState


def identifier_for(name: str) -> str:
    """The variable a database handle is bound to: ``vec-db`` → ``vec_db``."""
    ident = re.sub(r"\W", "_", name)
    if not ident or ident[0].isdigit() or keyword.iskeyword(ident):
        ident = f"db_{ident}"
    return ident


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
        default="local",
        choices=["local", "aurora", "cloud-sql", "flexible-server"],
        help="where it runs (default local; the cloud ones create billable resources)",
    )
    p.add_argument(
        "--plan", action="store_true", help="show what a cloud backend would create; create nothing"
    )
    p.add_argument("--cpu", help='cloud: vCPUs, e.g. "2" or "500m" (default: the smallest tier)')
    p.add_argument("--memory", help='cloud: memory, e.g. "8Gi" (default: the smallest tier)')
    p.add_argument("--ha", action="store_true", help="cloud: highly available (standby in another zone)")
    p.add_argument("--region", help="cloud: AWS region, GCP region or Azure location")
    p.add_argument("--as", dest="var", help="variable for the handle (default: the name as an identifier)")
    return p


def _attach_parser() -> MagicArgumentParser:
    p = _parser("attach", "Attach to an existing database from its binding JSON.")
    p.add_argument("name", help="binding name")
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--binding-env", help="environment variable holding the binding (default ALIEN_<NAME>_BINDING)"
    )
    source.add_argument("--binding-file", help="file holding the binding JSON")
    p.add_argument("--as", dest="var", help="variable for the handle (default: the name as an identifier)")
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
    p.add_argument("--out", help="store the DataFrame (or status) in this variable")
    p.add_argument("--limit", type=int, help="fetch at most this many rows")
    p.add_argument(
        "--autocommit", action="store_true", help="run each statement on its own (VACUUM, CREATE DATABASE)"
    )
    return p


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

    @line_cell_magic
    def alien_postgres(self, line: str, cell: str | None = None) -> Any:
        try:
            # Most lines are plain words; shlex where quoting or a trailing `# comment` may matter.
            argv = shlex.split(line, comments=True) if any(c in line for c in "'\"\\#") else line.split()
        except ValueError as exc:
            raise UsageError(f"cannot read the arguments: {exc}") from None
        if cell is not None:
            return self._sql_cell(argv, cell)
        if not argv:
            raise UsageError(
                f"say what to do: %alien_postgres {{{','.join(self.commands)}}} ... (see %alien_postgres?)"
            )
        command = self.commands.get(argv[0])
        if command is None:
            raise UsageError(f"unknown subcommand {argv[0]!r}; one of: {', '.join(self.commands)}")
        func, parser = command
        return func(parser.parse_args(argv[1:]))

    # -- subcommands ------------------------------------------------------------

    def _bind(self, name: str, var: str | None, db: Any) -> Any:
        variable = var or identifier_for(name)
        if not variable.isidentifier():
            raise UsageError(f"--as needs a Python identifier, not {variable!r}")
        self._ns[variable] = db
        print(f"handle: {variable}")
        return db

    def _start(self, args: argparse.Namespace) -> Any:
        if args.storage is not None:
            from ..core import parse_size

            try:
                parse_size(args.storage)
            except ValueError as exc:
                raise UsageError(f"--storage {exc}") from None
        if args.backend != "local":
            return self._start_cloud(args)
        flags = {"--plan": args.plan, "--cpu": args.cpu, "--memory": args.memory, "--ha": args.ha,
                 "--region": args.region}  # fmt: skip
        cloud_only = [flag for flag, value in flags.items() if value]
        if cloud_only:
            raise UsageError(
                f"{', '.join(cloud_only)} apply to cloud backends; add --backend aurora (or another)."
            )
        db = self.state.start(args.name, args.version)
        return self._bind(args.name, args.var, db)

    def _start_cloud(self, args: argparse.Namespace) -> Any:
        from ..core import Postgres

        spec: dict[str, Any] = {"id": args.name, "highAvailability": args.ha}
        for key in ("version", "cpu", "memory", "storage"):
            if getattr(args, key) is not None:
                spec[key] = getattr(args, key)
        resource = Postgres.parse(spec)
        if args.plan:
            return self.state.cloud_controller(args.backend, region=args.region).plan(resource)
        db = self.state.create_cloud(resource, args.backend, region=args.region)
        return self._bind(args.name, args.var, db)

    def _attach(self, args: argparse.Namespace) -> Any:
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
        self.state.forget(args.name)
        self.state.controller.stop(args.name)
        print(f"{args.name}: stopped (data kept)")

    def _delete(self, args: argparse.Namespace) -> None:
        if not args.yes:
            raise UsageError(f"deleting removes all data of {args.name!r}; add --yes to confirm")
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
            raise UsageError("name the notebook file: %alien_postgres audit path/to/notebook.ipynb")
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
            args = argparse.Namespace(name=argv[0] if argv else None, out=None, limit=None, autocommit=False)
        else:
            args = self._cell_args.parse_args(argv)
        db = self.state.database(args.name or self.default_database or None)
        result = db.run(cell, self._ns, autocommit=args.autocommit or self.autocommit, limit=args.limit)
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


def register(shell: Any, redactor: Redactor) -> AlienPostgresMagics:
    magics = AlienPostgresMagics(shell, redactor)
    shell.register_magics(magics)
    if magics not in shell.configurables:
        shell.configurables.append(magics)
    return magics
