"""How much `import alien_nb` (and its layers) adds to a fresh interpreter.

Prints medians over fresh processes, side by side with `import psycopg` and
the bare interpreter, measured in the same run.

    python benchmarks/import_cost.py [--reps 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

_KERNEL = (
    "from IPython.testing.globalipapp import start_ipython; import time; ip = start_ipython(); "
    "t = time.perf_counter(); {} ; print(time.perf_counter() - t)"
)
IN_SHELL = {
    "%load_ext alien_nb": "ip.run_line_magic('load_ext', 'alien_nb')",
    "import psycopg": "import psycopg",
}

CASES = {
    "python -c pass": "pass",
    "import alien_nb": "import alien_nb",
    "import alien_nb.core": "import alien_nb.core",
    "import psycopg": "import psycopg",
}


def wall(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.reps):  # interleaved, so drift hits every case alike
        for name, code in CASES.items():
            samples[name].append(wall(code))
    base = statistics.median(samples["python -c pass"])
    psy = statistics.median(samples["import psycopg"]) - base
    print(f"{'case':24} {'median ms':>10} {'extra ms':>9} {'x import psycopg':>17}")
    for name, times in samples.items():
        med = statistics.median(times)
        extra = med - base
        print(f"{name:24} {med * 1000:10.1f} {extra * 1000:9.1f} {extra / psy:17.2f}")
    print("\nin a fresh IPython shell (time of the statement alone; target for %load_ext: < 150 ms)")
    shell: dict[str, list[float]] = {name: [] for name in IN_SHELL}
    for _ in range(args.reps):
        for name, code in IN_SHELL.items():
            out = subprocess.run(
                [sys.executable, "-c", _KERNEL.format(code)], check=True, capture_output=True
            )
            shell[name].append(float(out.stdout.decode().split()[-1]))
    psy_shell = statistics.median(shell["import psycopg"])
    for name, times in shell.items():
        med = statistics.median(times)
        print(f"{name:24} {med * 1000:10.1f} ms {med / psy_shell:17.2f} x import psycopg")


if __name__ == "__main__":
    main()
