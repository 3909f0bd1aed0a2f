"""Local server lifecycle: alien_nb against the raw steps, measured in the same run.

    python benchmarks/local_lifecycle.py [--reps 5]

Three ratios (targets from the local-Postgres issue):

* cold:   new database ready for its first query, vs raw initdb + start (-W, polled by
          connection) + CREATE DATABASE + CREATE EXTENSION vector      target <= 1.15x
* warm:   stopped database back to its first query, vs a raw `pg_ctl start -W` of the same
          data dir (same settings) polled by connection                 target <= 1.5x
          (also shown: the raw start of a cluster with stock settings; the gap is
          the price of alien_nb's larger shared_buffers, paid once per start)
* attach: start() of a running database + first query, vs one raw psycopg connect
          + SELECT 1                                                     target <= 2x
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from alien_nb.core import connection_string
from alien_nb.local import LocalPostgresManager, find_installation
from alien_nb.local._account import resolve_server_account
from alien_nb.local._ports import free_loopback_port

PASSWORD = "benchmarkpassword"


def first_query(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("SELECT 1").fetchone()


def poll_until_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            first_query(url)
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class RawServer:
    """The raw steps, as a careful user would script them by hand."""

    def __init__(self, root: Path) -> None:
        self.install = find_installation(None)
        self.account = resolve_server_account(None, print)
        self.root = root
        self.data = root / "data"
        self.port = free_loopback_port()
        self.url = f"postgres://postgres:{PASSWORD}@127.0.0.1:{self.port}/postgres?sslmode=disable"

    def run(self, *cmd: str) -> None:
        subprocess.run(cmd, check=True, capture_output=True, cwd="/", **self.account.popen_kwargs())  # type: ignore[call-overload]

    def initdb(self) -> None:
        self.root.mkdir(parents=True)
        self.account.own(self.root, 0o700)
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD)
        self.account.own(pwfile, 0o600)
        initdb = str(self.install.exe("initdb"))
        auth = ["--auth-host=scram-sha-256", "--auth-local=scram-sha-256"]
        self.run(initdb, "-D", str(self.data), "-U", "postgres", f"--pwfile={pwfile}", *auth, "-E", "UTF8")
        pwfile.unlink()

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
        log = str(self.data / "log")
        self.run(
            str(self.install.exe("pg_ctl")), "start", "-W", "-D", str(self.data), "-l", log, "-o", options
        )
        poll_until_ready(self.url)

    def stop(self) -> None:
        self.run(str(self.install.exe("pg_ctl")), "stop", "-m", "fast", "-w", "-D", str(self.data))

    def create_database(self) -> str:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        url = self.url.replace("/postgres?", "/bench?")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION vector")
        return url


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="alien-nb-bench-"))
    os.chmod(work, 0o711)
    manager = LocalPostgresManager(work / "home", notify=lambda _m: None, monitor=False)
    cold_raw, cold_nb, warm_raw, warm_nb, warm_stock, attach_raw, attach_nb = [], [], [], [], [], [], []
    try:
        for rep in range(args.reps):
            raw = RawServer(work / f"raw{rep}")
            t = time.perf_counter()
            raw.initdb()
            raw.start()
            url = raw.create_database()
            first_query(url)
            cold_raw.append(time.perf_counter() - t)

            t = time.perf_counter()
            binding = manager.start(f"bench{rep}")
            first_query(connection_string(binding).get_secret_value())
            cold_nb.append(time.perf_counter() - t)

            ours = connection_string(binding).get_secret_value()
            data = manager.paths(f"bench{rep}").data
            for _ in range(3):
                raw.stop()
                t = time.perf_counter()
                raw.start()
                warm_stock.append(time.perf_counter() - t)

                manager.stop(f"bench{rep}")
                t = time.perf_counter()
                raw.run(
                    str(raw.install.exe("pg_ctl")),
                    "start",
                    "-W",
                    "-D",
                    str(data),
                    "-l",
                    str(data / "raw.log"),
                )
                poll_until_ready(ours)
                warm_raw.append(time.perf_counter() - t)
                raw.run(str(raw.install.exe("pg_ctl")), "stop", "-m", "fast", "-w", "-D", str(data))

                t = time.perf_counter()
                binding = manager.start(f"bench{rep}")
                first_query(connection_string(binding).get_secret_value())
                warm_nb.append(time.perf_counter() - t)

            for _ in range(10):
                t = time.perf_counter()
                first_query(url)
                attach_raw.append(time.perf_counter() - t)

                t = time.perf_counter()
                fresh = LocalPostgresManager(work / "home", notify=lambda _m: None, monitor=False)
                binding = fresh.start(f"bench{rep}")
                first_query(connection_string(binding).get_secret_value())
                attach_nb.append(time.perf_counter() - t)
            raw.stop()
            manager.stop(f"bench{rep}")
    finally:
        for status in manager.list():
            manager.stop(status.name)
        shutil.rmtree(work, ignore_errors=True)

    print(f"{'step':8} {'raw ms':>9} {'alien_nb ms':>12} {'ratio':>7} {'target':>7}")
    for name, raw_s, nb_s, target in (
        ("cold", cold_raw, cold_nb, 1.15),
        ("warm", warm_raw, warm_nb, 1.5),
        ("attach", attach_raw, attach_nb, 2.0),
        ("warm vs stock settings", warm_stock, warm_nb, None),
    ):
        ratio = median_ms(nb_s) / median_ms(raw_s)
        goal = f"{target:7.2f}" if target else "      -"
        print(f"{name:8} {median_ms(raw_s):9.1f} {median_ms(nb_s):12.1f} {ratio:7.2f} {goal}")


if __name__ == "__main__":
    main()
