"""What the subcommands share: the controllers, the existence check, output, confirmation."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from typing import TYPE_CHECKING, Any

from ..core import AlienError

if TYPE_CHECKING:
    from ..controllers import CloudPostgresController, LocalPostgresController


def local_controller(args: argparse.Namespace) -> LocalPostgresController:
    """The controller of the databases under ``--home``; `HomeInvalid` at once for an unusable one."""
    from ..controllers import LocalPostgresController
    from ..local import HomeInvalid

    if args.home is not None and not str(args.home).strip():
        raise HomeInvalid(args.home, "the path is empty")
    notify = (lambda _msg: None) if getattr(args, "quiet", False) else None
    # Commands that may create a database must be able to write there; the others only read.
    create = args.command_name in {"start", "run", "demo"}
    return LocalPostgresController.at(args.home, notify=notify, monitor=False, create=create)


def require_existing(controller: LocalPostgresController, name: str, *, create_hint: bool = False) -> None:
    """Raise `DatabaseNotFound` for an unknown name, saying which exist and what was meant."""
    from ..local import DatabaseNotFound

    if controller.exists(name):  # a malformed name gets its own error first
        return
    try:
        names = controller.names()
    except OSError:  # only the hint needs the listing
        names = []
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


def emit(args: argparse.Namespace, data: Any, human: str) -> None:
    """``data`` as JSON with ``--json``, else the ``human`` text."""
    print(json.dumps(data, indent=2) if args.json else human)


def managed_controller(args: argparse.Namespace) -> CloudPostgresController:
    """The cloud controller of ``--backend`` in ``--region``; progress goes to stderr (none with --json)."""
    from ..controllers import cloud_controller
    from ..resolver import default_settings

    notify = (lambda _msg: None) if args.json else (lambda msg: print(msg, file=sys.stderr))
    return cloud_controller(args.backend, region=args.region, settings=default_settings(), notify=notify)


def confirm(args: argparse.Namespace, question: str) -> bool:
    """True with ``--yes`` or a "y" at the terminal; without a terminal, refuse with a hint."""
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
