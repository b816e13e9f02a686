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
import queue
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from harness import QXUB, bench_remotes


def wait_until(check: Callable[[], bool], timeout: float = 120) -> float:
    start = time.perf_counter()
    while not check():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("the remote did not catch up")
        time.sleep(0.002)
    return time.perf_counter() - start


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def reads(path: Path, text: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return path.read_text() == text
        except OSError:
            return False

    return check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--burst", type=int, default=5000)
    args = parser.parse_args()
    with bench_remotes(lambda base: {"R": {"working_dir": str(base / "scratch")}}, "watch") as b:
        project = b.base / "project"
        project.mkdir()
        subprocess.run(["git", "init", "-q"], cwd=project, check=True)
        for i in range(200):
            (project / f"f{i}.py").write_text(f"x = {i}\n")
        watch = subprocess.Popen(
            [*QXUB, "remote", "watch", "R"],
            cwd=project,
            env=b.env,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            lines: queue.Queue[str] = queue.Queue()
            stderr = watch.stderr
            assert stderr is not None
            threading.Thread(target=lambda: [lines.put(x) for x in stderr], daemon=True).start()
            while "watching" not in lines.get(timeout=60):
                pass
            mirror = b.base / "scratch" / "project"
            target = project / "edit.py"
            latencies = []
            for i in range(args.edits):
                target.write_text(f"edit {i}\n")
                latencies.append(wait_until(reads(mirror / "edit.py", f"edit {i}\n")))
                time.sleep(0.05)
            floor_dir = b.base / "floor"
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
                        b.rsh(),
                        str(target),
                        f"{b.server.host}:{floor_dir}/",
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
            wait_until(
                lambda: all(
                    (mirror / "burst" / f"b{i}.txt").exists()
                    for i in [*range(0, args.burst, 97), args.burst - 1]
                )
            )
            burst_time = time.perf_counter() - start
            time.sleep(1.5)
            rounds = 0
            while not lines.empty():
                rounds += "sent" in lines.get()
            names = b"".join(f"burst/b{i}.txt".encode() + b"\0" for i in range(args.burst))
            start = time.perf_counter()
            subprocess.run(
                [
                    "rsync",
                    "-ltE",
                    "--files-from=-",
                    "--from0",
                    "-e",
                    b.rsh(),
                    f"{project}/",
                    f"{b.server.host}:{floor_dir}/",
                ],
                input=names,
                check=True,
                capture_output=True,
            )
            bare_burst = time.perf_counter() - start
        finally:
            watch.terminate()
            watch.wait()
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


if __name__ == "__main__":
    main()
