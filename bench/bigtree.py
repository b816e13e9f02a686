"""qxub on a big real-shaped tree, against the bare tools, side by side in one run.

The tree (bench/bigtree_tree.py): about 33,000 files shaped like a Python project with a C
extension, over 300 nested `.gitignore` files with negations, a `.venv`, build outputs and
caches with their own `*` ignore; a git repository with work in progress.

Rows (median of --runs, each pair timed in turns so that load on the machine hits both):
  selection: qxub's file selection in this process (git's listing where it applies, and
      qxub's own walk) against `git ls-files -z --cached --others --exclude-standard`;
  dry run: `qxub remote push local --dry-run` (a new process, the mirror not created yet)
      against the same git command;
  peak memory: of a process that selects, above the same process before it selects, per
      selected file.
Run: python bench/bigtree.py [--runs 5] [--scale 1.0]
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
from harness import QXUB, command

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="qxub-bench-bigtree-"))
    try:
        project = base / "project"
        make_tree(project, args.scale)
        small = base / "small"
        small.mkdir()
        (small / "a").write_text("a\n")
        env = {
            **os.environ,
            "XDG_CONFIG_HOME": str(base / "config"),
            "XDG_STATE_HOME": str(base / "state"),
        }
        listed = subprocess.run(GIT_LS, cwd=project, capture_output=True, check=True).stdout
        git_files = sorted(listed.split(b"\0")[:-1])
        ours = [os.fsencode(f) for f in select_files(project).files]
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
        sel, bare = paired(lambda: select_files(project), git, args.runs)
        row("selection (git listing)", sel, bare, "vs git ls-files -co --exclude-standard")
        sel, bare = paired(lambda: select_files(project, git_listing=False), git, args.runs)
        row("selection (qxub's own walk)", sel, bare, "vs git ls-files -co --exclude-standard")
        dry = command([*QXUB, "remote", "push", "local", "--dry-run"], cwd=project, env=env)
        sel, bare = paired(dry, git, args.runs)
        row("remote push local --dry-run", sel, bare, "vs git ls-files -co --exclude-standard")
        for engine in ("git", "walk"):
            per_file, count = peak(project, small, engine)
            print(f"peak memory of selecting ({engine}): {per_file:.2f} KiB per file ({count})")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
