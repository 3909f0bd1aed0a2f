"""SQL cells into pandas: %%alien_postgres against the raw paths, in the same run.

    python benchmarks/sql_fetch.py [--rows 1000000] [--reps 5]

* small (1 and 100 rows): the %%alien_postgres magic call vs raw psycopg on an open
  connection (execute, fetchall, DataFrame.from_records)              target <= 1.5x
  and, as a user sees it, a whole notebook cell of each (run_cell, result displayed)
* large (--rows x 5 columns): a %%alien_postgres cell vs ADBC's fetch_df on an open
  connection                                                           target <= 1.25x
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import adbc_driver_postgresql.dbapi as adbc
import pandas as pd
import psycopg
from IPython.testing import globalipapp

from alien_nb.core import connection_string
from alien_nb.local import LocalPostgresManager


def timed(func: Callable[[], Any], reps: int) -> float:
    samples = []
    for _ in range(reps):
        t = time.perf_counter()
        func()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


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
        ip = globalipapp.start_ipython() or globalipapp.get_ipython()
        ip.run_line_magic("load_ext", "alien_nb")
        ip.run_line_magic("alien_postgres", "start fetch")
        ip.run_line_magic("config", f"AlienPostgresMagics.display_limit = {args.rows + 1}")
        import io
        from contextlib import redirect_stdout

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

        def whole_cell(source: str) -> Callable[[], Any]:
            def run() -> Any:
                with redirect_stdout(io.StringIO()):
                    return ip.run_cell(source, store_history=False)

            return run

        print(f"{'case':34} {'raw ms':>9} {'alien_nb ms':>12} {'ratio':>7} {'target':>7}")
        for n in (1, 100):
            sql = f"SELECT id, x::float8, y, label, ts FROM wide WHERE id <= {n}"
            cell(sql)(), raw_small(n)()  # warm both
            r, a = timed(raw_small(n), args.reps * 40), timed(cell(sql), args.reps * 40)
            print(
                f"{f'{n} row(s), magic vs psycopg':34} {r * 1000:9.2f} {a * 1000:12.2f} {a / r:7.2f} {1.5:7.2f}"
            )
            ip.user_ns["raw_fetch"] = raw_small(n)
            r = timed(whole_cell("raw_fetch()"), args.reps * 10)
            a = timed(whole_cell(f"%%alien_postgres fetch\n{sql}"), args.reps * 10)
            print(
                f"{f'{n} row(s), notebook cell vs cell':34} {r * 1000:9.2f} {a * 1000:12.2f} {a / r:7.2f} {'-':>7}"
            )
        large = "SELECT id, x::float8 AS x, y, label, ts FROM wide"
        raw_large(), cell(large)()
        r, a = timed(raw_large, args.reps), timed(cell(large), args.reps)
        print(
            f"{f'{args.rows:,} rows, magic vs ADBC':34} {r * 1000:9.1f} {a * 1000:12.1f} {a / r:7.2f} {1.25:7.2f}"
        )
    finally:
        manager.stop("fetch")


if __name__ == "__main__":
    main()
