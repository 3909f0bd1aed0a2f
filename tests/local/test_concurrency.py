"""Many kernels starting the same database at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from alien_nb.local import LocalPostgresManager

WORKER = """
import json, sys
import psycopg
from alien_nb.core import connection_string
from alien_nb.local import LocalPostgresManager
from alien_nb.local._postmaster import read_postmaster_pid

manager = LocalPostgresManager(sys.argv[1], notify=lambda _m: None, monitor=False)
binding = manager.start("race-db")
with psycopg.connect(connection_string(binding).get_secret_value()) as conn:
    backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
print(json.dumps({"postmaster": read_postmaster_pid(manager.paths("race-db").data).pid, "backend": backend,
                  "port": binding.port}))
"""


def test_eight_processes_one_postmaster(home: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(home)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(8)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        results.append(json.loads(out))
    assert len({r["postmaster"] for r in results}) == 1
    assert len({r["port"] for r in results}) == 1
    assert len({r["backend"] for r in results}) == 8  # eight real connections
    status = LocalPostgresManager(home, monitor=False).status("race-db")
    assert status.lifecycle == "running" and status.pid == results[0]["postmaster"]
