"""``alien-nb audit``: saved notebooks hold no password."""

from __future__ import annotations

import argparse
import json
import sys

# `alien-nb audit` exit statuses; 2 stays argparse's usage error.
AUDIT_FOUND = 1
AUDIT_UNREADABLE = 3


def cmd_audit(args: argparse.Namespace) -> int:
    from ..core import known_redactor
    from ..notebook._audit import NotebookUnreadable, audit_notebook, notebook_files
    from ..notebook._known import remember_cloud_passwords, remember_env_passwords, remember_local_passwords

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
