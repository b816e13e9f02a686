"""qxub's push against bare rsync, over a real sshd on 127.0.0.1, on a generated project.

The project: 10,000 small files in nested folders plus a few large files, a .gitignore.
Times (median of --runs), side by side in one run:
  first push, no-op push, one-file-changed push:
      qxub remote push   vs   bare `rsync -a --files-from` of the same files over the same
      ssh master   vs   the same bare rsync over a fresh connection;
  file selection: qxub's ignore engine vs `git ls-files --cached --others --exclude-standard`;
  the sync engines: qxub's push with OpenSSH+rsync, with paramiko+SFTP and with OpenSSH+SFTP
  (each to its own mirror), and SFTP's times as ratios to rsync's. "no-op push --full"
  compares every file with the mirror; a plain no-op push costs no connection with any engine.
Run: python bench/sync.py [--files 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from qxub.sync.ignore import select_files

from sshd_server import SshServer


def make_project(root: Path, files: int) -> None:
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    (root / ".gitignore").write_text("*.tmp\nscratch/\n")
    for i in range(files):
        folder = root / f"pkg{i % 20}" / f"sub{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i}.py").write_text(f"x = {i}\n" * 3)
        if i % 50 == 0:
            (folder / f"f{i}.tmp").write_text("ignored\n")
    for i in range(3):
        (root / f"model{i}.bin").write_bytes(os.urandom(8 * 1024 * 1024))


def median(fn: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def once(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


ENGINES = [("R", "openssh", "rsync"), ("S", "paramiko", "sftp"), ("T", "openssh", "sftp")]
Make = Callable[..., Callable[[], None]]


def engine_rows(
    push_to: Make,
    touch_then: Callable[[Callable[[], None]], Callable[[], None]],
    runs: int,
    first_rsync: float,
) -> list[tuple[str, list[float]]]:
    """qxub push times per engine: (row name, [R, S, T]); R's first push was timed already."""
    names = [name for name, _, _ in ENGINES]
    return [
        ("first push", [first_rsync, *(once(push_to(n)) for n in names[1:])]),
        ("no-op push --full", [median(push_to(n, "--full"), runs) for n in names]),
        ("no-op push", [median(push_to(n), runs) for n in names]),
        ("one file changed", [median(touch_then(push_to(n)), runs) for n in names]),
    ]


def print_engines(rows: list[tuple[str, list[float]]]) -> None:
    print("qxub remote push by engine (each to its own mirror):")
    print(
        f"{'':18} {'rsync':>9} {'sftp':>9} {'sftp/rsync':>11} {'sftp over ssh':>14} {'/rsync':>7}"
    )
    for name, (r, s, t) in rows:
        print(
            f"{name:18} {r * 1000:7.0f}ms {s * 1000:7.0f}ms {s / r:10.2f}x "
            f"{t * 1000:12.0f}ms {t / r:6.2f}x"
        )
    print("  rsync: OpenSSH and rsync; sftp: paramiko and SFTP; sftp over ssh: OpenSSH and SFTP")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="qxub-bench-sync-"))
    runtime = tempfile.mkdtemp(prefix="qb", dir="/tmp")
    server = SshServer(base / "sshd")
    server.start()
    try:
        project = base / "project"
        make_project(project, args.files)
        scratch = base / "scratch"
        config_home = base / "config"
        (config_home / "qxub").mkdir(parents=True)
        (config_home / "qxub" / "config.yaml").write_text(
            "remotes:\n"
            + "".join(
                f"  {name}:\n    url: {server.url}\n    config: {server.ssh_config}\n"
                f"    working_dir: {scratch}-{name}\n"
                f"    transport: {transport}\n    sync_engine: {engine}\n"
                for name, transport, engine in ENGINES
            )
        )
        env = {
            **os.environ,
            "XDG_CONFIG_HOME": str(config_home),
            "XDG_RUNTIME_DIR": runtime,
            "XDG_STATE_HOME": str(base / "state"),
        }

        def push_to(name: str, *extra: str) -> Callable[[], None]:
            argv = [sys.executable, "-m", "qxub", "remote", "push", name, "-q", *extra]

            def run() -> None:
                subprocess.run(argv, cwd=project, env=env, check=True)

            return run

        push = push_to("R")

        listing = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=project,
            capture_output=True,
            check=True,
        ).stdout
        ssh = ["ssh", "-F", str(server.ssh_config), "-p", str(server.port), "-l", server.user]
        shared = shlex.join([*ssh, "-o", f"ControlPath={runtime}/qxub/%C"])
        fresh = shlex.join([*ssh, "-o", "ControlMaster=no", "-o", "ControlPath=none"])

        def bare(rsh: str, dest: str) -> Callable[[], None]:
            def run() -> None:
                subprocess.run(
                    [
                        "rsync",
                        "-a",
                        "-z",
                        "--files-from=-",
                        "--from0",
                        "-e",
                        rsh,
                        f"{project}/",
                        f"{server.host}:{base / dest}/",
                    ],
                    input=listing,
                    check=True,
                    capture_output=True,
                )

            return run

        rows = []
        t_q = once(push)  # also opens the master that the shared bare rsync rides on
        t_b = once(bare(shared, "bare"))
        t_f = once(bare(fresh, "fresh"))
        rows.append(("first push", t_q, t_b, t_f))
        rows.append(
            (
                "no-op push",
                median(push, args.runs),
                median(bare(shared, "bare"), args.runs),
                median(bare(fresh, "fresh"), args.runs),
            )
        )
        target = project / "pkg3" / "sub3" / "f3.py"

        def touch_then(fn: Callable[[], None]) -> Callable[[], None]:
            def run() -> None:
                target.write_text(target.read_text() + "# edit\n")
                fn()

            return run

        rows.append(
            (
                "one file changed",
                median(touch_then(push), args.runs),
                median(touch_then(bare(shared, "bare")), args.runs),
                median(touch_then(bare(fresh, "fresh")), args.runs),
            )
        )
        print(f"{args.files} small files + 3 x 8MB over ssh to 127.0.0.1")
        print(
            f"{'':18} {'qxub':>9} {'rsync/master':>13} {'rsync/fresh':>12} "
            f"{'qxub/master':>12} {'qxub/fresh':>11}"
        )
        for name, q, b, f in rows:
            print(
                f"{name:18} {q * 1000:7.0f}ms {b * 1000:11.0f}ms {f * 1000:10.0f}ms "
                f"{q / b:11.2f}x {q / f:10.2f}x"
            )
        print_engines(engine_rows(push_to, touch_then, args.runs, t_q))
        t_sel = median(lambda: select_files(project), args.runs)
        t_git = median(
            lambda: subprocess.run(
                ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                cwd=project,
                capture_output=True,
                check=True,
            ),
            args.runs,
        )
        print(
            f"file selection: qxub {t_sel * 1000:.0f}ms, git ls-files {t_git * 1000:.0f}ms, "
            f"ratio {t_sel / t_git:.2f}x"
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
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
