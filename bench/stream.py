"""Streaming a job's output through `qxub exec --remote`, against bare `ssh R cat FILE` over
the same master connection; and how soon output flows again after the remote follower dies.

Two files of 100 MB: short lines, and one long line. For each, the time of
`qxub exec --remote R -- cat FILE` less that of `qxub exec --remote R -- true` (submission and
the job's start), as a ratio to `ssh R cat FILE`; the three are timed in turns, one of each
per round, and the medians taken. Then a job printing a line every 20 ms: the
remote follower is killed (SIGKILL) and the time until the next line reaches the laptop is
measured. Starts its own OpenSSH server on 127.0.0.1. Run: python bench/stream.py
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from harness import QXUB, bench_remotes, interleaved

SIZE = 100 * 1000 * 1000


def write_files(base: Path) -> dict[str, Path]:
    short = base / "short-lines.txt"
    line = b"%09d the quick brown fox jumps over the lazy dog\n"
    with open(short, "wb") as handle:
        block = b"".join(line % i for i in range(10_000))
        for _ in range(SIZE // len(block) + 1):
            handle.write(block)
        handle.truncate(SIZE)
    long = base / "one-long-line.txt"
    with open(long, "wb") as handle:
        chunk = b"x" * (1 << 20)
        for _ in range(SIZE // len(chunk)):
            handle.write(chunk)
        handle.write(b"\n")
    return {"short lines": short, "one long line": long}


def remote_followers(base: Path) -> list[int]:
    """This bench's remote qxub processes streaming to a laptop (its sshd runs them here)."""
    mine = f"XDG_STATE_HOME={base / 'remote-state'}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"QXUB_PROTOCOL=" not in environ or mine not in environ.split(b"\0"):
            continue
        programs = [os.path.basename(arg) for arg in cmdline]  # `-m qxub`, or .../bin/qxub
        if b"qxub" in programs and b"cancel" not in cmdline:
            found.append(int(entry.name))
    return found


def reattach_time(argv: list[str], cwd: Path, env: dict[str, str], base: Path) -> float | None:
    """Seconds from killing the remote follower to the next line of the job's output; None
    (and what qxub said) when qxub did not leave within a minute of the Ctrl-C that ends it."""
    job = "while :; do echo tick; sleep 0.02; done"
    with tempfile.TemporaryFile("w+") as said:
        proc = subprocess.Popen(
            [*argv, "--", "sh", "-c", job],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=said,
            start_new_session=True,
            # A bench started in the background (`nohup ... &`) hands its children SIGINT
            # ignored (POSIX), and the Ctrl-C that ends this run would then be lost on qxub.
            preexec_fn=_sigint_default,
        )
        assert proc.stdout is not None
        try:
            for _ in range(20):
                proc.stdout.readline()
            followers = remote_followers(base)
            killed_at = time.perf_counter()
            for pid in followers:
                os.kill(pid, signal.SIGKILL)
            os.set_blocking(proc.stdout.fileno(), False)
            while proc.stdout.read() is not None:  # what was already on its way
                pass
            os.set_blocking(proc.stdout.fileno(), True)
            proc.stdout.readline()
            took = time.perf_counter() - killed_at
        finally:
            proc.send_signal(signal.SIGINT)  # cancels the job
            left = _left(proc, said)
        return took if left else None


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _left(proc: subprocess.Popen[bytes], said: IO[str]) -> bool:
    """Whether qxub left within a minute (else it is killed, and what it said is shown)."""
    try:
        proc.wait(timeout=60)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        said.seek(0)
        print(f"qxub did not leave within 60 s of Ctrl-C; it said: {said.read()[-2000:]!r}")
        print("(is SIGINT ignored in this shell? `grep SigIgn /proc/$$/status`, bit 2)")
        return False


def clear(jobs: Path) -> None:
    """Remove the bench's job folders. Each streamed job leaves 200 MB (its frame log and its
    stdout); left in place, writing the same 100 MB slowed fivefold from run to run (0.1 s,
    then 0.5 s, on tmpfs as on disk), likely the host paying for memory the VM had not
    touched: not qxub's cost. Called outside the timing."""
    for folder in jobs.glob("2*"):
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    def remote_qxub(base: Path) -> list[str]:
        return ["env", f"XDG_STATE_HOME={base / 'remote-state'}", *QXUB]

    def remotes(base: Path) -> dict[str, dict[str, str]]:
        settings = {"working_dir": str(base / "scratch")}
        return {"R": {**settings, "qxub_command": shlex.join(remote_qxub(base))}}

    with bench_remotes(remotes, "stream") as bench:
        project = bench.base / "project"
        project.mkdir()
        files = write_files(bench.base)

        jobs = bench.base / "remote-state" / "qxub" / "jobs"

        def run(argv: list[str], clearing: bool = False) -> Callable[[], None]:
            def call() -> None:
                subprocess.run(
                    argv, cwd=project, env=bench.env, check=True, stdout=subprocess.DEVNULL
                )
                if clearing:
                    clear(jobs)  # the job's 200 MB of logs, gone before the next call

            return call

        exec_remote = [*QXUB, "exec", "--remote", "R", "--quiet"]
        run([*exec_remote, "--", "true"])()  # opens the master connection
        true = run([*exec_remote, "--", "true"])
        for label, path in files.items():
            # One of each per round: load on the machine slows all three alike.
            t_true, t_bare, t_qxub = interleaved(
                [
                    true,
                    run([*bench.ssh(), bench.server.host, "cat", str(path)]),
                    run([*exec_remote, "--", "cat", str(path)], clearing=True),
                ],
                args.runs,
            )
            streamed = t_qxub - t_true
            print(
                f"100 MB, {label:14}  ssh R cat {t_bare:6.3f} s   qxub exec {t_qxub:6.3f} s   "
                f"less true ({t_true:5.3f} s) {streamed:6.3f} s   ratio {streamed / t_bare:.2f}x"
            )
        runs = range(args.runs)
        took = [reattach_time(exec_remote, project, bench.env, bench.base) for _ in runs]
        shown = "  ".join("no exit" if t is None else f"{t:.2f} s" for t in took)
        print("killed follower to output flowing again    " + shown)


if __name__ == "__main__":
    main()
