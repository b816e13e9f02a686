"""What the shared ssh master saves: a fresh `ssh host true` against one through the master.

    python bench/ssh_master.py                  # against a throwaway sshd on 127.0.0.1
    python bench/ssh_master.py --clean-home     # same, but the remote shell skips ~/.bashrc
    python bench/ssh_master.py --url ssh://gadi [--config ~/.ssh/config]

Every remote command runs through the user's login shell, which reads its init files (root's
~/.bashrc here is slow); `--clean-home` points HOME at an empty dir on the throwaway server to
show the transport's own cost.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qxub.remote.openssh import OpenSshTransport
from qxub.remote.target import SshTarget


def timed(action: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def summary(label: str, times: list[float]) -> float:
    median = statistics.median(times)
    print(f"{label:<44} median {median * 1000:7.1f} ms   min {min(times) * 1000:7.1f} ms")
    return median


def measure(target: SshTarget, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="qxb-", dir="/tmp") as control:
        transport = OpenSshTransport(target, control_dir=Path(control))
        options = transport.base_argv()[:-1]
        # ssh keeps the first value it gets for an option: these win over the transport's.
        no_master = ["-o", "ControlMaster=no", "-o", "ControlPath=none"]
        fresh_argv = ["ssh", *no_master, *options[1:], "-T", "-n", target.host, "true"]
        master_argv = [*options, "-T", "-n", target.host, "true"]

        def fresh() -> None:
            subprocess.run(fresh_argv, check=True, capture_output=True)

        def through_master() -> None:
            subprocess.run(master_argv, check=True, capture_output=True)

        def via_transport() -> None:
            transport.run(["true"])

        try:
            transport.run(["true"])  # start the master
            a = summary("fresh connection  (ssh host true)", timed(fresh, runs))
            b = summary("through the master (ssh host true)", timed(through_master, runs))
            c = summary("through the master (transport.run(['true']))", timed(via_transport, runs))
            print(f"ratio fresh / master: {a / b:.1f}x (via transport.run: {a / c:.1f}x)")
        finally:
            transport.exit_master()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="ssh://[user@]host[:port] (default: a throwaway sshd)")
    parser.add_argument("--config", help="ssh config file for --url")
    parser.add_argument("-n", "--runs", type=int, default=10)
    parser.add_argument("--clean-home", action="store_true", help="throwaway sshd: empty HOME")
    args = parser.parse_args()
    if args.url:
        measure(SshTarget.from_url(args.url, args.config), args.runs)
        return 0
    from sshd_server import SshServer, missing_tools  # type: ignore[import-not-found, unused-ignore]

    if missing_tools():
        print(f"missing: {', '.join(missing_tools())}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="qxub-bench-") as root:
        server = SshServer(Path(root) / "sshd")
        if args.clean_home:
            (Path(root) / "home").mkdir()
            server.set_env({"HOME": str(Path(root) / "home")})
        server.start()
        try:
            target = SshTarget(server.host, server.user, server.port, str(server.ssh_config))
            measure(target, args.runs)
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
