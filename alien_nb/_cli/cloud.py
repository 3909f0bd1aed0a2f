"""The subcommands on a managed cloud Postgres (``--backend aurora`` and the others)."""

from __future__ import annotations

import argparse
import json
import sys

from ..core import AlienError
from .common import confirm, emit, managed_controller


def cmd_start_cloud(args: argparse.Namespace) -> int:
    from ..core import Postgres

    resource = Postgres.from_options(args.name, version=args.version, cpu=args.cpu, memory=args.memory,
                                     storage=args.storage, high_availability=args.ha)  # fmt: skip
    controller = managed_controller(args)
    plan = controller.plan(resource)
    if args.plan:
        emit(args, plan.to_dict(), str(plan))
        return 0
    binding = controller.create(resource)
    controller.wait_ready(
        args.name, on_wait=lambda message: print(f"{args.name}: {message}", file=sys.stderr)
    )
    emit(
        args,
        {"binding": binding.synced(), "status": controller.status(args.name).to_dict()},
        f"{args.name}: {args.backend} ready; binding (no password: it stays in the secret store):\n"
        + json.dumps(binding.synced(), indent=2),
    )
    return 0


def cmd_status_cloud(args: argparse.Namespace) -> int:
    if not args.name:
        raise AlienError(
            f"Name the {args.backend} database to look at.",
            hint=f"alien-nb status NAME --backend {args.backend}",
        )
    status = managed_controller(args).status(args.name)
    emit(args, status.to_dict(), f"{args.name:20} {status.lifecycle:9} {status.health:10} {status.message}")
    return 0


def cmd_delete_cloud(args: argparse.Namespace) -> int:
    if not confirm(args, f"Delete {args.backend} database {args.name!r}, its data and its password secret?"):
        return 1
    managed_controller(args).delete(args.name)
    emit(args, {"name": args.name, "lifecycle": "deleted"}, f"{args.name}: {args.backend} database deleted")
    return 0
