"""`qxub remote watch` latency and bursts, against the floor of bare rsync over the same master.

Starts its own sshd on 127.0.0.1 and a watch on a generated project, then:
  latency: 50 edits, each timed from the save until the remote copy (read on the remote side's
           file system) has the new content; p50 and p95, against one bare rsync of that file
           over the same master connection;
  burst:   5,000 new files at once: how many rsync runs the watch made and the time until the
           remote holds all of them, against one bare rsync of the same files over the master.
Run: python bench/watch.py [--edits 50] [--burst 5000]
"""

from __future__ import annotations

import argparse
import os
import queue
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from sshd_server import SshServer


def wait_until(check: object, timeout: float = 120) -> float:
    start = time.perf_counter()
    while not check():  # type: ignore[operator]
        if time.perf_counter() - start > timeout:
            raise TimeoutError("the remote did not catch up")
        time.sleep(0.002)
    return time.perf_counter() - start


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--burst", type=int, default=5000)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="qxub-bench-watch-"))
    runtime = tempfile.mkdtemp(prefix="qb", dir="/tmp")
    server = SshServer(base / "sshd")
    server.start()
    watch = None
    try:
        project = base / "project"
        project.mkdir()
        subprocess.run(["git", "init", "-q"], cwd=project, check=True)
        for i in range(200):
            (project / f"f{i}.py").write_text(f"x = {i}\n")
        scratch = base / "scratch"
        config_home = base / "config"
        (config_home / "qxub").mkdir(parents=True)
        (config_home / "qxub" / "config.yaml").write_text(
            f"remotes:\n  R:\n    url: {server.url}\n    config: {server.ssh_config}\n"
            f"    working_dir: {scratch}\n"
        )
        env = {
            **os.environ,
            "XDG_CONFIG_HOME": str(config_home),
            "XDG_RUNTIME_DIR": runtime,
            "XDG_STATE_HOME": str(base / "state"),
        }
        watch = subprocess.Popen(
            [sys.executable, "-m", "qxub", "remote", "watch", "R"],
            cwd=project,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(
            target=lambda: [lines.put(line) for line in watch.stderr],  # type: ignore[union-attr]
            daemon=True,
        ).start()
        while "watching" not in lines.get(timeout=60):
            pass
        mirror = scratch / "project"
        target, remote_copy = project / "edit.py", mirror / "edit.py"
        latencies = []
        for i in range(args.edits):
            text = f"edit {i}\n"
            target.write_text(text)
            latencies.append(wait_until(lambda t=text: _reads(remote_copy, t)))
            time.sleep(0.05)
        ssh = [
            "ssh",
            "-F",
            str(server.ssh_config),
            "-p",
            str(server.port),
            "-l",
            server.user,
            "-o",
            f"ControlPath={runtime}/qxub/%C",
        ]
        rsh = shlex.join(ssh)
        floor = base / "floor"
        bare = []
        for i in range(args.edits):
            target.write_text(f"bare {i}\n")
            start = time.perf_counter()
            subprocess.run(
                [
                    "rsync",
                    "-ltE",
                    "--ignore-times",
                    "-e",
                    rsh,
                    str(target),
                    f"{server.host}:{floor}/",
                ],
                check=True,
                capture_output=True,
            )
            bare.append(time.perf_counter() - start)
        while not lines.empty():
            lines.get()
        burst = project / "burst"
        burst.mkdir()
        start = time.perf_counter()
        for i in range(args.burst):
            (burst / f"b{i}.txt").write_text(f"{i}\n")
        last = mirror / "burst" / f"b{args.burst - 1}.txt"
        wait_until(
            lambda: (
                all((mirror / "burst" / f"b{i}.txt").exists() for i in range(0, args.burst, 97))
                and last.exists()
            )
        )
        burst_time = time.perf_counter() - start
        time.sleep(1.5)
        rounds = 0
        while not lines.empty():
            if "sent" in lines.get():
                rounds += 1
        names = b"".join(f"burst/b{i}.txt".encode() + b"\0" for i in range(args.burst))
        start = time.perf_counter()
        subprocess.run(
            [
                "rsync",
                "-ltE",
                "--files-from=-",
                "--from0",
                "-e",
                rsh,
                f"{project}/",
                f"{server.host}:{floor}/",
            ],
            input=names,
            check=True,
            capture_output=True,
        )
        bare_burst = time.perf_counter() - start
        p50, p95 = statistics.median(latencies), percentile(latencies, 95)
        floor50 = statistics.median(bare)
        print(
            f"save-to-remote latency over {args.edits} edits: p50 {p50 * 1000:.0f}ms, "
            f"p95 {p95 * 1000:.0f}ms"
        )
        print(f"bare rsync of that file over the same master: p50 {floor50 * 1000:.0f}ms")
        print(f"ratio p50 {p50 / floor50:.2f}x, p95 {p95 / floor50:.2f}x")
        print(
            f"burst of {args.burst} new files: {rounds} rsync runs, remote complete after "
            f"{burst_time:.2f}s; one bare rsync of them {bare_burst:.2f}s; "
            f"ratio {burst_time / bare_burst:.2f}x"
        )
    finally:
        if watch is not None:
            watch.terminate()
            watch.wait()
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
        shutil.rmtree(base, ignore_errors=True)


def _reads(path: Path, text: str) -> bool:
    try:
        return path.read_text() == text
    except OSError:
        return False


if __name__ == "__main__":
    main()
