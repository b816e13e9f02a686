"""qxub on a big real-shaped tree, against the bare tools, side by side in one run.

The tree (bench/bigtree_tree.py): about 33,000 files shaped like a Python project with a C
extension, over 300 nested `.gitignore` files with negations, a `.venv`, build outputs and
caches with their own `*` ignore; a git repository with work in progress.

Rows (median of --runs, each pair timed in turns so that load on the machine hits both), over
a throwaway sshd on 127.0.0.1 through qxub's master connection, three remotes: rsync over
OpenSSH, SFTP over paramiko, SFTP over OpenSSH (each to its own mirror):
  selection: qxub's file selection in this process (git's listing where it applies, and
      qxub's own walk) against `git ls-files -z --cached --others --exclude-standard`;
  dry run: `qxub remote push R --dry-run` (the mirror not created yet), same git command;
  first push: `qxub remote push` into an empty mirror against `rsync -a` of a copy of the
      selected files (recursive, over the same master) into an empty folder;
  --full no-op, no-op and one-file pushes against a `rsync -a` no-op of that copy;
  peak memory: of selecting in a process, and of a `--full` push (GNU time's %M), per
      selected file above the same on a one-file project.
With --before SRC (a folder holding another qxub's `qxub` package, e.g. main's, unpacked by
`git archive main qxub | tar -x -C SRC`), that qxub is timed in the same run, each row beside
this one's: selection (each in a process of its own, beside git), and its pushes over OpenSSH
and rsync to a mirror of its own (its first push, once, beside this one's; --full no-op, no-op
and one-file pushes interleaved run by run with this one's and the bare rsync).
Run: python bench/bigtree.py [--runs 5] [--scale 1.0] [--before SRC]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bigtree_tree import make_tree
from harness import QXUB, Bench, bench_remotes, command, compile_package, interleaved, once

from qxub.sync.ignore import select_files

GIT_LS = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
Run = Callable[[], object]

# VmHWM, not ru_maxrss: the latter keeps the peak of the process that forked this one.
_PEAK = """
import re, sys
from pathlib import Path
from qxub.sync.ignore import select_files
selection = select_files(Path(sys.argv[1]), git_listing=sys.argv[2] == "git")
status = Path("/proc/self/status").read_text()
print(re.search(r"VmHWM:\\s+(\\d+) kB", status)[1], len(selection.files))
"""


def paired(a: Run, b: Run, runs: int) -> tuple[float, float]:
    """Median wall times of `a` and `b`, run in turns."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for fn, into in ((a, times[0]), (b, times[1])):
            start = time.perf_counter()
            fn()
            into.append(time.perf_counter() - start)
    return tuple(sorted(t)[len(t) // 2] for t in times)  # type: ignore[return-value]


def peak(project: Path, small: Path, engine: str) -> tuple[float, int]:
    """KiB per selected file that selecting adds to a process's peak (against the same
    process selecting a one-file project), and the file count."""
    argv = [sys.executable, "-c", _PEAK]
    big, count = map(int, subprocess.check_output([*argv, str(project), engine]).split())
    floor, _ = map(int, subprocess.check_output([*argv, str(small), engine]).split())
    return (big - floor) / count, count


def row(name: str, ours: float, theirs: float, what: str) -> None:
    print(f"{name:34} {ours * 1000:8.0f}ms {theirs * 1000:8.0f}ms {ours / theirs:8.2f}x  {what}")


def copy_selected(project: Path, files: list[str], dest: Path) -> None:
    """The selected files, copied with their times (links as links), for the bare rsync."""
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project / rel, target, follow_symlinks=False)


def peak_kib(argv: list[str], **options: object) -> int:
    """The peak resident size of the process `argv` (GNU time's %M: its own, not its
    parent's), in KiB."""
    with tempfile.NamedTemporaryFile("r") as out:
        timed = ["/usr/bin/time", "-f", "%M", "-o", out.name, *argv]
        subprocess.run(timed, check=True, capture_output=True, **options)  # type: ignore[call-overload]
        return int(out.read().split()[-1])


def touching(target: Path, fn: Run) -> Run:
    def run() -> object:
        target.write_text(target.read_text() + "# edit\n")
        return fn()

    return run


def remotes(base: Path) -> dict[str, dict[str, str]]:
    engines = {
        "R": ("openssh", "rsync"),
        "S": ("paramiko", "sftp"),
        "T": ("openssh", "sftp"),
        "B": ("openssh", "rsync"),  # for --before
    }
    return {
        name: {"working_dir": f"{base}/scratch-{name}", "transport": t, "sync_engine": e}
        for name, (t, e) in engines.items()
    }


# Rounds, at least, of the in-process selection pairs: git answers in 13-20 ms here, and a
# median of 5 put the ratio anywhere from 2.2x to 2.9x from one run of the bench to the next.
SELECTION_RUNS = 21

# Selection timed in a process of its own (the qxub that PYTHONPATH finds), beside git.
_SELECTION = """
import subprocess, sys, time
from pathlib import Path
from qxub.sync.ignore import select_files
project, runs, engine = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
git = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
ours, theirs = [], []
for _ in range(runs):
    start = time.perf_counter()
    select_files(project, git_listing=engine == "git")
    ours.append(time.perf_counter() - start)
    start = time.perf_counter()
    subprocess.run(git, cwd=project, capture_output=True, check=True)
    theirs.append(time.perf_counter() - start)
print(sorted(ours)[runs // 2], sorted(theirs)[runs // 2])
"""


def selection_in(source: str | None, project: Path, runs: int, engine: str) -> tuple[float, float]:
    """(qxub's, git's) median selection time, in a fresh process with the qxub at `source`
    (None: this one)."""
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = source
    argv = [sys.executable, "-c", _SELECTION, str(project), str(runs), engine]
    ours, theirs = subprocess.check_output(argv, env=env).split()
    return float(ours), float(theirs)


def before_rows(
    bench: Bench,
    project: Path,
    source: str,
    runs: int,
    bare_noop: Run,
    first: tuple[float, float],
) -> None:
    """Another qxub (`source`) beside this one: selection, and pushes over OpenSSH and rsync
    (its own mirror: remote B), interleaved with this one's (remote R) and the bare rsync;
    `first`: this one's first push and the bare rsync's, timed once each above."""
    print(f"before ({source}) and now, side by side:")
    print(f"{'':34} {'before':>9} {'now':>9} {'bare':>9} {'before':>8} {'now':>8}")

    def show(name: str, b: float, n: float, r: float) -> None:
        print(
            f"{name:34} {b * 1000:7.0f}ms {n * 1000:7.0f}ms {r * 1000:7.0f}ms "
            f"{b / r:7.2f}x {n / r:7.2f}x"
        )

    for engine in ("git", "walk"):
        b, bare_b = selection_in(source, project, runs, engine)
        n, bare_n = selection_in(None, project, runs, engine)
        label = "git listing" if engine == "git" else "qxub's own walk"
        show(f"selection ({label})", b, n, (bare_b + bare_n) / 2)
    env_before = {**bench.env, "PYTHONPATH": source}
    before = command([*QXUB, "remote", "push", "B", "-q"], cwd=project, env=env_before)
    now = command([*QXUB, "remote", "push", "R", "-q"], cwd=project, env=bench.env)
    show("first push (rsync), once", once(before), *first)
    full = [
        command([*QXUB, "remote", "push", name, "-q", "--full"], cwd=project, env=environment)
        for name, environment in (("B", env_before), ("R", bench.env))
    ]
    edited = project / "src" / "proj" / "pkg1" / "sub1" / "core.py"
    timed = [
        ("--full no-op push (rsync)", interleaved([*full, bare_noop], runs)),
        ("no-op push (rsync)", interleaved([before, now, bare_noop], runs)),
        (
            "one-file push (rsync)",
            interleaved([touching(edited, before), touching(edited, now), bare_noop], runs),
        ),
    ]
    for name, (b, n, r) in timed:
        show(name, b, n, r)
    print("  bare: rsync -a no-op of the same files over the same master; selection: git ls-files")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--before", metavar="SRC", help="another qxub to time beside this one")
    args = parser.parse_args()
    with bench_remotes(remotes, "bigtree") as bench:
        base = bench.base
        project = base / "project"
        make_tree(project, args.scale)
        small = base / "small"
        small.mkdir()
        (small / "a").write_text("a\n")
        env = bench.env
        listed = subprocess.run(GIT_LS, cwd=project, capture_output=True, check=True).stdout
        git_files = sorted(listed.split(b"\0")[:-1])
        selection = select_files(project)
        ours = [os.fsencode(f) for f in selection.files]
        walked = [os.fsencode(f) for f in select_files(project, git_listing=False).files]
        here = [f for f in git_files if os.path.lexists(project / os.fsdecode(f))]
        total = sum(len(files) for _, _, files in os.walk(project)) - sum(
            len(files) for _, _, files in os.walk(project / ".git")
        )
        gitignores = sum(1 for _ in project.rglob(".gitignore"))
        print(
            f"tree: {total} files, {gitignores} .gitignore files; git lists {len(git_files)}, "
            f"{len(here)} of them here"
        )
        same = "yes" if ours == here == walked else "NO"
        print(f"qxub selects {len(ours)} (walk: {len(walked)}); the same files as git: {same}")
        print(f"{'':34} {'qxub':>10} {'bare':>10} {'ratio':>9}")
        git = command(GIT_LS, cwd=project)
        rounds = max(args.runs, SELECTION_RUNS)
        sel, bare = paired(lambda: select_files(project), git, rounds)
        row("selection (git listing)", sel, bare, "vs git ls-files -co --exclude-standard")
        sel, bare = paired(lambda: select_files(project, git_listing=False), git, rounds)
        row("selection (qxub's own walk)", sel, bare, "vs git ls-files -co --exclude-standard")
        dry = command([*QXUB, "remote", "push", "R", "--dry-run"], cwd=project, env=env)
        bench.warm()  # the master connection: no push pays for it
        sel, bare = paired(dry, git, args.runs)
        row("remote push --dry-run", sel, bare, "vs git ls-files -co --exclude-standard")

        selected = base / "selected"
        copy_selected(project, selection.files, selected)
        host = bench.server.host
        rsync_a = ["rsync", "-a", "-e", bench.rsh()]
        bare_first = once(command([*rsync_a, f"{selected}/", f"{host}:{base}/bare/"]))
        bare_noop = command([*rsync_a, f"{selected}/", f"{host}:{base}/bare/"])
        edited = project / "src" / "proj" / "pkg1" / "sub1" / "core.py"
        firsts = {}
        for name, label in (("R", "rsync"), ("S", "sftp/paramiko"), ("T", "sftp/openssh")):
            push = command([*QXUB, "remote", "push", name, "-q"], cwd=project, env=env)
            full = command([*QXUB, "remote", "push", name, "-q", "--full"], cwd=project, env=env)
            firsts[name] = once(push)
            row(f"first push ({label})", firsts[name], bare_first, "vs rsync -a, same files")
            ours_t, bare = paired(full, bare_noop, args.runs)
            row(f"--full no-op push ({label})", ours_t, bare, "vs rsync -a no-op")
            ours_t, bare = paired(push, bare_noop, args.runs)
            row(f"no-op push ({label})", ours_t, bare, "vs rsync -a no-op")
            ours_t, bare = paired(touching(edited, push), bare_noop, args.runs)
            row(f"one-file push ({label})", ours_t, bare, "vs rsync -a no-op")
        if args.before:
            compile_package(Path(args.before) / "qxub")
            first = (firsts["R"], bare_first)
            before_rows(bench, project, args.before, args.runs, bare_noop, first)
        for engine in ("git", "walk"):
            per_file, count = peak(project, small, engine)
            print(f"peak memory of selecting ({engine}): {per_file:.2f} KiB per file ({count})")
        pushes = {}
        for where in (project, small):
            argv = [*QXUB, "remote", "push", "R", "-q", "--full"]
            pushes[where] = peak_kib(argv, cwd=where, env=env)
        per_file = (pushes[project] - pushes[small]) / len(selection.files)
        print(
            f"peak memory of a --full push: {pushes[project] / 1024:.1f} MiB, "
            f"{per_file:.2f} KiB per file above a one-file project's "
            f"({pushes[small] / 1024:.1f} MiB)"
        )


if __name__ == "__main__":
    main()
