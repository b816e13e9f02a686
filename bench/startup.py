"""Start-up cost of `qxub --help` against the floor of importing its two core dependencies.

Run: python bench/startup.py [--runs N]. Prints the median wall time of each and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def median_time(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    floor = median_time([sys.executable, "-c", "import click, yaml"], args.runs)
    qxub = median_time([sys.executable, "-m", "qxub", "--help"], args.runs)
    exec_help = median_time([sys.executable, "-m", "qxub", "exec", "--help"], args.runs)
    print(f"python -c 'import click, yaml'  {floor * 1000:7.1f} ms")
    print(f"qxub --help                     {qxub * 1000:7.1f} ms  ratio {qxub / floor:.2f}x")
    ratio = exec_help / floor
    print(f"qxub exec --help                {exec_help * 1000:7.1f} ms  ratio {ratio:.2f}x")


if __name__ == "__main__":
    main()
