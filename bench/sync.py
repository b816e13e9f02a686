"""qxub's push against bare rsync, over a real sshd on 127.0.0.1, on a generated project.

The project: 10,000 small files in nested folders plus a few large files, a .gitignore.
Times (median of --runs), side by side in one run:
  first push, no-op push, one-file-changed push:
      qxub remote push   vs   bare `rsync -a --files-from` of the same files over the same
      ssh master   vs   the same bare rsync over a fresh connection;
  one file changed: qxub remote push   vs   a bare rsync of that one file over the same
      master (the two in turns, at least PAIRED_RUNS rounds: a median of 5 of two ~150 ms
      commands swung by 0.15x from run to run);
  the sync engines: qxub's push with OpenSSH+rsync, with paramiko+SFTP and with OpenSSH+SFTP
  (each to its own mirror), and SFTP's times as ratios to rsync's. "no-op push --full"
  compares every file with the mirror; a plain no-op push costs no connection with any engine;
  file selection: qxub's ignore engine vs `git ls-files --cached --others --exclude-standard`.
With --before SRC (a folder holding another qxub's `qxub` package, e.g. main's, unpacked by
`git archive main qxub | tar -x -C SRC`), that qxub's pushes are timed in the same run, each
row beside this one's, to its own mirror.
Run: python bench/sync.py [--files 10000] [--runs 5] [--before SRC]
"""

from __future__ import annotations

import argparse
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from harness import (
    QXUB,
    Bench,
    bench_remotes,
    command,
    compile_package,
    interleaved,
    median,
    once,
)

from qxub.sync.ignore import select_files

ENGINES = [("R", "openssh", "rsync"), ("S", "paramiko", "sftp"), ("T", "openssh", "sftp")]
GIT_LS = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
Run = Callable[[], None]
TOUCHED = "pkg3/sub3/f3.py"  # the file the one-file pushes change
PAIRED_RUNS = 21  # rounds, at least, of the one-file pair (qxub vs a bare rsync of it)


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


def pusher(bench: Bench, project: Path, name: str, *extra: str, source: str | None = None) -> Run:
    env = dict(bench.env)
    if source is not None:
        env["PYTHONPATH"] = source  # found before the installed qxub
    return command([*QXUB, "remote", "push", name, "-q", *extra], cwd=project, env=env)


def bare_rsync(bench: Bench, project: Path, listing: bytes, dest: str, shared: bool) -> Run:
    argv = ["rsync", "-a", "-z", "--files-from=-", "--from0", "-e", bench.rsh(shared=shared)]
    argv += [f"{project}/", f"{bench.server.host}:{bench.base / dest}/"]
    return command(argv, input=listing)


def touching(target: Path) -> Callable[[Run], Run]:
    def wrap(fn: Run) -> Run:
        def run() -> None:
            target.write_text(target.read_text() + "# edit\n")
            fn()

        return run

    return wrap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", metavar="SRC", help="another qxub to time beside this one")
    args = parser.parse_args()

    def remotes(base: Path) -> dict[str, dict[str, str]]:
        return {
            name: {
                "working_dir": f"{base}/scratch-{name}",
                "transport": transport,
                "sync_engine": engine,
            }
            for name, transport, engine in [*ENGINES, ("B", "openssh", "rsync")]
        }

    with bench_remotes(remotes, "sync") as bench:
        project = bench.base / "project"
        make_project(project, args.files)
        listing = subprocess.run(GIT_LS, cwd=project, capture_output=True, check=True).stdout
        push = pusher(bench, project, "R")
        shared = bare_rsync(bench, project, listing, "bare", shared=True)
        fresh = bare_rsync(bench, project, listing, "fresh", shared=False)
        touch = touching(project / TOUCHED)
        bench.warm()  # the master connection: the first pushes do not pay for it
        first = once(push)
        rows = [
            ("first push", first, once(shared), once(fresh)),
            ("no-op push", *(median(f, args.runs) for f in (push, shared, fresh))),
            ("one file changed", *(median(touch(f), args.runs) for f in (push, shared, fresh))),
        ]
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
        one_file = bare_rsync(bench, project, os.fsencode(TOUCHED) + b"\0", "bare", shared=True)
        ours, bare = interleaved([touch(push), touch(one_file)], max(args.runs, PAIRED_RUNS))
        print(
            f"one file changed: qxub {ours * 1000:.0f}ms, a bare rsync of that file alone over "
            f"the same master {bare * 1000:.0f}ms, ratio {ours / bare:.2f}x"
        )
        if args.before:
            compile_package(Path(args.before) / "qxub")
            before_rows(bench, project, args.before, args.runs, rows, touch)
        names = [name for name, _, _ in ENGINES]
        engine_rows = [
            ("first push", [first, *(once(pusher(bench, project, n)) for n in names[1:])]),
            (
                "no-op push --full",
                [median(pusher(bench, project, n, "--full"), args.runs) for n in names],
            ),
            ("no-op push", [median(pusher(bench, project, n), args.runs) for n in names]),
            (
                "one file changed",
                [median(touch(pusher(bench, project, n)), args.runs) for n in names],
            ),
        ]
        print("qxub remote push by engine (each to its own mirror):")
        print(
            f"{'':18} {'rsync':>9} {'sftp':>9} {'sftp/rsync':>11} {'sftp over ssh':>14} "
            f"{'/rsync':>7}"
        )
        for name, (r, s, t) in engine_rows:
            print(
                f"{name:18} {r * 1000:7.0f}ms {s * 1000:7.0f}ms {s / r:10.2f}x "
                f"{t * 1000:12.0f}ms {t / r:6.2f}x"
            )
        print(
            "  rsync: OpenSSH and rsync; sftp: paramiko and SFTP; sftp over ssh: OpenSSH and SFTP"
        )
        t_sel = median(lambda: select_files(project), args.runs)
        t_git = median(command(GIT_LS, cwd=project), args.runs)
        print(
            f"file selection: qxub {t_sel * 1000:.0f}ms, git ls-files {t_git * 1000:.0f}ms, "
            f"ratio {t_sel / t_git:.2f}x"
        )


def before_rows(
    bench: Bench,
    project: Path,
    source: str,
    runs: int,
    rows: list[tuple[str, float, float, float]],
    touch: Callable[[Run], Run],
) -> None:
    """The same pushes with another qxub (to its own mirror, remote B) beside these, and bare
    rsync over the same master: the three interleaved run by run, so load hits all alike."""
    before = pusher(bench, project, "B", source=source)
    now = pusher(bench, project, "R")
    listing = subprocess.run(GIT_LS, cwd=project, capture_output=True, check=True).stdout
    shared = bare_rsync(bench, project, listing, "bare", shared=True)
    one_file = bare_rsync(bench, project, os.fsencode(TOUCHED) + b"\0", "bare", shared=True)
    first = once(before)
    timed = [
        ("first push", first, rows[0][1], rows[0][2]),
        ("no-op push", *interleaved([before, now, shared], runs)),
        ("one file changed", *interleaved([touch(before), touch(now), touch(shared)], runs)),
        ("  vs rsync of it", *interleaved([touch(before), touch(now), touch(one_file)], runs)),
    ]
    print(f"before ({source}) and now, side by side:")
    print(f"{'':18} {'before':>9} {'now':>9} {'before/rsync':>13} {'now/rsync':>10}")
    for name, b, n, r in timed:
        print(f"{name:18} {b * 1000:7.0f}ms {n * 1000:7.0f}ms {b / r:12.2f}x {n / r:9.2f}x")
    print("  rsync: bare rsync of the same files over the same master (last row: of the one")
    print("  changed file alone)")


if __name__ == "__main__":
    main()
