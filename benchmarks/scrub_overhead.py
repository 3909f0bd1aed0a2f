"""What the kernel scrubber costs on a big output: a 5 MB print, with and without ``%load_ext alien_nb``.

    python benchmarks/scrub_overhead.py [--mb 5] [--secrets 3] [--runs 5]

Times each print from execute_request to the kernel's idle status, as a
frontend sees it (the output crosses iopub), best of ``--runs``.
"""

from __future__ import annotations

import argparse
import time

from jupyter_client.manager import start_new_kernel


def timed(kc: object, code: str, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        kc.execute_interactive(code, output_hook=lambda _msg: None, timeout=300)  # type: ignore[attr-defined]
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=5)
    parser.add_argument("--secrets", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        setup = ("import random, string\nrandom.seed(1)\n"
                 f"big = ''.join(random.choices(string.ascii_letters + string.digits + ' \\n', k={int(args.mb * 1e6)}))")  # fmt: skip
        kc.execute_interactive(setup, timeout=300)
        show = "print(big)"
        plain = timed(kc, show, args.runs)
        kc.execute_interactive(
            "%load_ext alien_nb\nimport secrets\nfrom alien_nb.core import remember_secret\n"
            f"for _ in range({args.secrets}): remember_secret(secrets.token_urlsafe(18))",
            timeout=60,
        )
        scrubbed = timed(kc, show, args.runs)
        print(f"{args.mb:g} MB print, {args.secrets} known passwords: without {plain * 1000:.0f} ms, "
              f"with {scrubbed * 1000:.0f} ms, ratio {scrubbed / plain:.2f}")  # fmt: skip
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
