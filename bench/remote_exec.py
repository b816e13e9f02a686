"""`qxub exec --remote R -- true` against bare `ssh R qxub exec -- true` over the same master.

Starts its own OpenSSH server on 127.0.0.1 (as the tests do), configures a remote for it,
warms the master connection, then times both commands in turn. Run: python bench/remote_exec.py
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from pathlib import Path

from harness import QXUB, bench_remotes, command, median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    def remote_qxub(base: Path) -> list[str]:
        return ["env", f"XDG_STATE_HOME={base / 'remote-state'}", *QXUB]

    def remotes(base: Path) -> dict[str, dict[str, str]]:
        settings = {"working_dir": str(base / "scratch")}
        return {"R": {**settings, "qxub_command": shlex.join(remote_qxub(base))}}

    with bench_remotes(remotes, "exec") as bench:
        project = bench.base / "project"
        project.mkdir()

        def run(argv: list[str]) -> Callable[[], None]:
            return command(argv, cwd=project, env=bench.env)

        qxub = run([*QXUB, "exec", "--remote", "R", "--quiet", "--", "true"])
        qxub()  # opens the master connection
        host = bench.server.host
        remote = shlex.join([*remote_qxub(bench.base), "exec", "--quiet", "--", "true"])
        t_floor = median(run([*bench.ssh(), host, "true"]), args.runs)
        t_bare = median(run([*bench.ssh(), host, remote]), args.runs)
        t_qxub = median(qxub, args.runs)
        print(f"ssh R true (same master)                {t_floor * 1000:7.1f} ms")
        print(f"ssh R qxub exec -- true (same master)   {t_bare * 1000:7.1f} ms")
        print(
            f"qxub exec --remote R -- true            {t_qxub * 1000:7.1f} ms  "
            f"ratio to bare {t_qxub / t_bare:.2f}x"
        )


if __name__ == "__main__":
    main()
