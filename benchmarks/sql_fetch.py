"""SQL cells into pandas: %%alien_postgres against the raw paths, measured in the same run.

    python benchmarks/sql_fetch.py [--rows 1000000] [--reps 5]

Four ratios, each against a baseline measured here and now:

* small (1 and 100 rows): the %%alien_postgres magic call vs raw psycopg on an open
  connection (execute, fetchall, DataFrame.from_records)              target <= 1.5x
* large (--rows x 5 columns): a %%alien_postgres cell (one execution, on the handle's
  own connection) vs ADBC's fetch_df on an open connection             target <= 1.25x
* attach: `%alien_postgres start` on the running database, handle returned, in a kernel
  that ran it once already (alien_nb's modules imported: a re-run cell) vs one psycopg connect
                                                                       target <= 2x
  plus, for the record, the same in a fresh process (its first import of alien_nb's
  modules included), and whether the attach imported pyarrow or ADBC (it must not)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from typing import Any

import adbc_driver_postgresql.dbapi as adbc
import pandas as pd
import psycopg
from IPython.testing import globalipapp

from alien_nb.core import connection_string
from alien_nb.local import LocalPostgresManager

ATTACH = """
import json, os, sys, time
import psycopg, pandas, IPython  # a kernel has these loaded already
before = set(sys.modules)  # (pandas itself may have loaded pyarrow: only what the attach adds counts)
state = None
def attach():
    global state
    from alien_nb.notebook._state import NotebookState
    state = state or NotebookState(printer=lambda *a, **k: None)
    state.start("fetch", show_progress=False)
t = time.perf_counter()
if sys.argv[1] == "psycopg":
    psycopg.connect(os.environ["URL"]).close()
    took = time.perf_counter() - t
    t = time.perf_counter()
    psycopg.connect(os.environ["URL"]).close()
    again = time.perf_counter() - t
else:
    attach()
    took = time.perf_counter() - t
    t = time.perf_counter()
    attach()
    again = time.perf_counter() - t
new = set(sys.modules) - before
print(json.dumps({"s": took, "again": again, "pyarrow": "pyarrow" in new, "adbc": "adbc_driver_postgresql" in new}))
"""


def timed(func: Callable[[], Any], reps: int) -> float:
    samples = []
    for _ in range(reps):
        t = time.perf_counter()
        func()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def fresh_process(kind: str, url: str) -> dict[str, Any]:
    env = {**os.environ, "URL": url}
    out = subprocess.run(
        [sys.executable, "-c", ATTACH, kind], env=env, capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def line(case: str, raw: float, ours: float, target: float | str, scale: float = 1000) -> None:
    print(f"{case:38} {raw * scale:9.2f} {ours * scale:12.2f} {ours / raw:7.2f} {target!s:>7}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="alien-nb-fetch-")
    os.chmod(home, 0o711)
    os.environ["ALIEN_NB_HOME"] = home
    manager = LocalPostgresManager(home, notify=lambda _m: None, monitor=False)
    try:
        binding = manager.start("fetch")
        url = connection_string(binding).get_secret_value()
        raw = psycopg.connect(url, autocommit=True)
        raw.execute(
            "DROP TABLE IF EXISTS wide; CREATE TABLE wide AS SELECT g AS id, g * 0.5 AS x, (g % 100)::float8 AS y, "
            f"'row ' || g AS label, now() AS ts FROM generate_series(1, {args.rows}) g"
        )
        raw.execute("UPDATE wide SET x = x")  # set hint bits, so no run pays for them
        raw.execute("CREATE INDEX ON wide (id)")
        raw.execute("VACUUM ANALYZE wide")
        arrow = adbc.connect(url, autocommit=True)
        ip = globalipapp.start_ipython() or globalipapp.get_ipython()  # type: ignore[no-untyped-call]  # untyped
        ip.run_line_magic("load_ext", "alien_nb")
        with redirect_stdout(io.StringIO()):
            ip.run_line_magic("alien_postgres", "start fetch")
        ip.run_line_magic("config", f"AlienPostgresMagics.display_limit = {args.rows + 1}")

        def raw_small(n: int) -> Callable[[], Any]:
            def run() -> Any:
                with raw.cursor() as cur:
                    cur.execute(f"SELECT id, x::float8, y, label, ts FROM wide WHERE id <= {n}")
                    rows = cur.fetchall()
                    return pd.DataFrame.from_records(rows, columns=[c.name for c in cur.description or ()])

            return run

        def cell(sql: str) -> Callable[[], Any]:
            def run() -> Any:
                with redirect_stdout(io.StringIO()):
                    return ip.run_cell_magic("alien_postgres", "fetch", sql)

            return run

        def raw_large() -> Any:
            with arrow.cursor() as cur:
                cur.execute("SELECT id, x::float8 AS x, y, label, ts FROM wide")
                return cur.fetch_df()

        print(f"{'case':38} {'raw ms':>9} {'alien_nb ms':>12} {'ratio':>7} {'target':>7}")
        for n in (1, 100):
            sql = f"SELECT id, x::float8, y, label, ts FROM wide WHERE id <= {n}"
            cell(sql)(), raw_small(n)()  # warm both
            pairs = [(timed(raw_small(n), 20), timed(cell(sql), 20)) for _ in range(args.reps * 2)]
            raw_s, ours_s = (statistics.median(p) for p in zip(*pairs, strict=True))
            line(f"{n} row(s), magic vs psycopg", raw_s, ours_s, 1.5)
        large = "SELECT id, x::float8 AS x, y, label, ts FROM wide"
        raw_large(), cell(large)()
        pairs = [(timed(raw_large, 1), timed(cell(large), 1)) for _ in range(args.reps)]  # interleaved
        ratios = sorted(a / r for r, a in pairs)
        r, a = (statistics.median(p) for p in zip(*pairs, strict=True))
        line(f"{args.rows:,} rows, magic vs ADBC fetch_df", r, a, 1.25)
        print(f"{'':38} ratio per interleaved pair: {', '.join(f'{x:.2f}' for x in ratios)}")
        fresh_process("psycopg", url), fresh_process("alien_nb", url)  # compiled bytecode on disk for both
        connects = [fresh_process("psycopg", url) for _ in range(args.reps)]
        attaches = [fresh_process("alien_nb", url) for _ in range(args.reps)]
        line(
            "attach vs one connect",
            statistics.median(c["again"] for c in connects),
            statistics.median(c["again"] for c in attaches),
            2.0,
        )
        line(
            "first attach in a fresh process",
            statistics.median(c["s"] for c in connects),
            statistics.median(c["s"] for c in attaches),
            "-",
        )
        imported = [m for m in ("pyarrow", "adbc") if any(c[m] for c in attaches)]
        print(f"{'':38} imported by the attach: {', '.join(imported) or 'neither pyarrow nor ADBC'}")
    finally:
        manager.stop("fetch")


if __name__ == "__main__":
    main()
