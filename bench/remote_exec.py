"""`qxub exec --remote R -- true` against bare `ssh R qxub exec -- true` over the same master.

Starts its own OpenSSH server on 127.0.0.1 (as the tests do), configures a remote for it,
warms the master connection, then times both commands in turn. Run: python bench/remote_exec.py
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from sshd_server import SshServer


def timed(argv: list[str], env: dict[str, str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="qxub-bench-"))
    runtime = tempfile.mkdtemp(prefix="qb", dir="/tmp")
    server = SshServer(root / "sshd")
    server.start()
    try:
        state = root / "remote-state"
        qxub_remote = [
            "env",
            f"XDG_STATE_HOME={state}",
            sys.executable,
            "-m",
            "qxub",
        ]
        config_home = root / "config"
        (config_home / "qxub").mkdir(parents=True)
        (config_home / "qxub" / "config.yaml").write_text(
            "remotes:\n  R:\n"
            f"    url: {server.url}\n"
            f"    config: {server.ssh_config}\n"
            f"    working_dir: {root / 'scratch'}\n"
            f"    qxub_command: {shlex.join(qxub_remote)!r}\n"
        )
        env = {
            **os.environ,
            "XDG_CONFIG_HOME": str(config_home),
            "XDG_RUNTIME_DIR": runtime,
            "XDG_STATE_HOME": str(root / "laptop-state"),
        }
        project = root / "project"
        project.mkdir()
        qxub = [sys.executable, "-m", "qxub", "exec", "--remote", "R", "--quiet", "--", "true"]
        subprocess.run(qxub, env=env, cwd=project, check=True, capture_output=True)  # warm master
        control = f"ControlPath={runtime}/qxub/%C"
        ssh = [
            "ssh",
            "-F",
            str(server.ssh_config),
            "-o",
            control,
            "-p",
            str(server.port),
            f"{server.user}@{server.host}",
        ]
        bare = [*ssh, shlex.join([*qxub_remote, "exec", "--quiet", "--", "true"])]
        floor = [*ssh, "true"]
        os.chdir(project)
        t_floor = timed(floor, env, args.runs)
        t_bare = timed(bare, env, args.runs)
        t_qxub = timed(qxub, env, args.runs)
        print(f"ssh R true (same master)                {t_floor * 1000:7.1f} ms")
        print(f"ssh R qxub exec -- true (same master)   {t_bare * 1000:7.1f} ms")
        print(
            f"qxub exec --remote R -- true            {t_qxub * 1000:7.1f} ms  "
            f"ratio to bare {t_qxub / t_bare:.2f}x"
        )
    finally:
        subprocess.run(
            [
                "ssh",
                "-o",
                f"ControlPath={runtime}/qxub/%C",
                "-O",
                "exit",
                "-p",
                str(server.port),
                server.host,
            ],
            capture_output=True,
            check=False,
        )
        server.stop()


if __name__ == "__main__":
    main()
