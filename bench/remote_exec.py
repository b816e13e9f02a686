"""`qxub exec --remote R -- true` against bare `ssh R qxub exec -- true` over the same master.

Starts its own OpenSSH server on 127.0.0.1 (as the tests do), configures a remote for it,
warms the master connection, then times the commands in interleaved rounds (one of each per
round), so that a machine loaded by others slows them alike. The ratio is the median qxub
time over the median bare time.

`--before DIR` also times another qxub source tree (a checkout of an earlier version: its
folder holding `qxub/`) in the same rounds, at both ends, so before and after are measured
side by side. Run: python bench/remote_exec.py [--runs 61] [--before DIR]

Each call takes about half a second and moves by 10% or more from one call to the next on a
small shared VM; the median of 61 rounds moves by about 2%, of 31 by about 3%.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from harness import QXUB, Bench, bench_remotes, command


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=61)
    parser.add_argument(
        "--before", type=Path, help="another qxub source tree to time alongside this one"
    )
    args = parser.parse_args()
    trees = {"this": None} if args.before is None else {"before": args.before, "this": None}

    def remote_qxub(base: Path, tree: Path | None) -> list[str]:
        path = [f"PYTHONPATH={tree.resolve()}"] if tree else []
        return ["env", *path, f"XDG_STATE_HOME={base / 'remote-state'}", *QXUB]

    def remotes(base: Path) -> dict[str, dict[str, str]]:
        settings = {"working_dir": str(base / "scratch")}
        return {
            name: {**settings, "qxub_command": shlex.join(remote_qxub(base, tree))}
            for name, tree in trees.items()
        }

    with bench_remotes(remotes, "exec") as bench:
        project = bench.base / "project"
        project.mkdir()
        timed: dict[str, Callable[[], None]] = {
            "floor": _run(bench, project, [*bench.ssh(), bench.server.host, "true"]),
        }
        for name, tree in trees.items():
            env = {"PYTHONPATH": str(tree.resolve())} if tree else {}
            laptop = [*QXUB, "exec", "--remote", name, "--quiet", "--", "true"]
            bare = shlex.join([*remote_qxub(bench.base, tree), "exec", "--quiet", "--", "true"])
            timed[f"{name} qxub"] = _run(bench, project, laptop, env)
            timed[f"{name} bare"] = _run(bench, project, [*bench.ssh(), bench.server.host, bare])
            timed[f"{name} qxub"]()  # opens the master connection, creates the mirror folder
        samples = _interleaved(timed, args.runs)
        t = {key: statistics.median(values) for key, values in samples.items()}
        print(f"{'ssh R true (same master)':<44}{t['floor'] * 1000:8.1f} ms")
        for name in trees:
            label = "" if args.before is None else f"[{name}] "
            ratio = t[f"{name} qxub"] / t[f"{name} bare"]
            print(
                f"{label + 'ssh R qxub exec -- true (same master)':<44}"
                f"{t[f'{name} bare'] * 1000:8.1f} ms"
            )
            print(
                f"{label + 'qxub exec --remote R -- true':<44}"
                f"{t[f'{name} qxub'] * 1000:8.1f} ms  ratio to bare {ratio:.2f}x"
            )


def _run(
    bench: Bench, cwd: Path, argv: list[str], env: dict[str, str] | None = None
) -> Callable[[], None]:
    return command(argv, cwd=cwd, env={**bench.env, **(env or {})})


def _interleaved(timed: dict[str, Callable[[], None]], runs: int) -> dict[str, list[float]]:
    """Wall times of each call, one of each per round."""
    samples: dict[str, list[float]] = {key: [] for key in timed}
    for _ in range(runs):
        for key, call in timed.items():
            start = time.perf_counter()
            call()
            samples[key].append(time.perf_counter() - start)
    return samples


if __name__ == "__main__":
    main()
