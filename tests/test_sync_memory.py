"""What a full push of a big tree holds in memory, per file: the selection, the record, the
plan, the mirror's listing and the decisions, measured with tracemalloc (Python's own count of
its allocations: the same on every run) on a generated tree selected by real git. A push must
stay within 1 KiB per file above the interpreter (bench/bigtree.py measures the process); the
budgets here leave room below that for what tracemalloc does not see."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

from qxub.sync.manifest import load_manifest
from qxub.sync.push import plan_push, record_push

FILES = 3000
HELD_PER_FILE = 600  # bytes: what the push holds once it has decided
PEAK_PER_FILE = 800  # bytes: the most it holds at any moment on the way


def make_tree(root: Path) -> list[str]:
    """FILES files in nested packages, named as a real project's, with ignored clutter beside
    them; a git repository whose index holds half of them."""
    names = []
    for i in range(FILES):
        rel = f"src/project/package_{i % 60:02d}/module_{i // 60:03d}/implementation_{i}.py"
        names.append(rel)
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"x = {i}\n")
        path.with_suffix(".pyc").write_bytes(b"")
    (root / ".gitignore").write_text("*.pyc\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "src/project/package_0*"], cwd=root, check=True)
    return [".gitignore", *sorted(names)]


def listing(root: Path, names: list[str]) -> str:
    """The mirror as the remote script lists it (find's `%y %s %T@ %p`, base64)."""
    lines = []
    for rel in names:
        info = os.lstat(root / rel)
        seconds, ns = divmod(info.st_mtime_ns, 1_000_000_000)
        lines.append(f"f {info.st_size} {seconds}.{ns:09d}0 ./{rel}\0".encode())
    return base64.b64encode(b"".join(lines)).decode()


# Measured in a process of its own: threads other tests leave (a paramiko transport's) would
# allocate meanwhile, and tracemalloc counts every thread.
MEASURE = """
import sys, tracemalloc
from pathlib import Path
from qxub.mirroring.remote_state import _entries
from qxub.sync.ignore import select_files
from qxub.sync.manifest import load_manifest
from qxub.sync.push import plan_push, to_decide
from qxub.sync.threeway import decide_push

root, there_text = Path(sys.argv[1]), Path(sys.argv[2]).read_text()
load_manifest("R", root)  # what a first call imports or caches is not the push's
tracemalloc.start()
start = tracemalloc.get_traced_memory()[0]
selection = select_files(root)
manifest = load_manifest("R", root)
plan = plan_push(root, manifest, selection=selection)
here = to_decide(plan, manifest, full=True)
there = _entries(there_text)
decision = decide_push(here, manifest.synced, there)
held, peak = (size - start for size in tracemalloc.get_traced_memory())
assert not decision.send and not decision.delete, decision
print(len(decision.in_sync), len(there), held, peak)
"""


def test_a_full_push_of_a_big_tree_holds_under_a_budget_per_file(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    names = make_tree(root)
    record = load_manifest("R", root)
    first = plan_push(root, record)
    assert first.files == names
    record_push(record, first, sent=first.files)
    record.save()
    listed = tmp_path / "listing"
    listed.write_text(listing(root, names))
    argv = [sys.executable, "-c", MEASURE, str(root), str(listed)]
    said = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()
    in_sync, there, held, peak = map(int, said)
    assert in_sync == there == len(names)
    assert held / len(names) < HELD_PER_FILE, f"{held / len(names):.0f} bytes per file held"
    assert peak / len(names) < PEAK_PER_FILE, f"{peak / len(names):.0f} bytes per file at peak"
