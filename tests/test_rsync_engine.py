"""The rsync engine with real rsync on this machine: a long list goes to rsync as arguments
(rsync reads a --files-from list one byte per read()), with the same result as a list."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qxub.sync import rsync
from qxub.sync.rsync import Endpoint, RsyncEngine, argument_chunks

NAMES = ["a.py", "-rf", "--help", "sp ace", "new\nline", "ünï", "d/e/f.txt", "d/-x", "[x]*"]


def _tree(root: Path) -> set[str]:
    found = set()
    for folder, dirs, files in os.walk(root):
        links = [d for d in dirs if os.path.islink(os.path.join(folder, d))]
        for name in files + links:
            found.add(os.path.relpath(os.path.join(folder, name), root))
    return found


@pytest.mark.parametrize("list_max", [rsync.LIST_MAX, 0])
def test_arguments_and_list_give_the_same_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, list_max: int
) -> None:
    monkeypatch.setattr(rsync, "LIST_MAX", list_max)
    root, there = tmp_path / "here", tmp_path / "there"
    for name in NAMES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    (root / "d" / "run.sh").write_text("#!/bin/sh\n")
    (root / "d" / "run.sh").chmod(0o755)
    (root / "ln").symlink_to("a.py")
    files = [*NAMES, "d/run.sh", "ln"]
    engine = RsyncEngine(Endpoint())
    sent = engine.push(root, files, [], str(there))
    assert sorted(rel for rel, _ in sent.sent) == sorted(files)
    assert _tree(there) == set(files)
    assert os.readlink(there / "ln") == "a.py"
    assert os.access(there / "d" / "run.sh", os.X_OK)
    assert os.stat(there / "sp ace").st_mtime == os.stat(root / "sp ace").st_mtime
    assert engine.push(root, files, [], str(there)).sent == []
    for gone in ("-rf", "d/e/f.txt"):
        (root / gone).unlink()
    kept = [f for f in files if f not in ("-rf", "d/e/f.txt")]
    done = engine.push(root, kept, ["-rf", "d/e/f.txt"], str(there))
    assert sorted(done.deleted) == ["-rf", "d/e/f.txt"]
    assert _tree(there) == set(kept)


def test_argument_chunks_fit_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sysconf", lambda name: 2 * 64 * 1024)
    paths = [f"folder/file{i:05d}.py" for i in range(20_000)] + ["-dash"]
    chunks = argument_chunks(paths)
    assert len(chunks) > 1
    assert [p for chunk in chunks for p in chunk] == [*paths[:-1], "./-dash"]
    for chunk in chunks:
        assert sum(len(p) + 9 for p in chunk) <= 64 * 1024
