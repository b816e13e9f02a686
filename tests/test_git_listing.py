"""git's listings started early (a push starts them before it reads its config): a selection
takes them when they fit, and stops them when it walks instead; either way the selection is
what git lists, and nothing is left running."""

from __future__ import annotations

import os
from pathlib import Path

from qxub.sync import git_select
from qxub.sync.git_select import start_listing
from qxub.sync.ignore import DEFAULT_IGNORES, select_files

from ignore_trees import git_env, git_files, git_init, track, write_tree  # noqa: F401


def project(root: Path) -> Path:
    git_init(root)
    write_tree(
        root,
        {
            ".gitignore": "*.log\nbuild/\n",
            "src": {"a.py": "a\n", "b.log": "b\n", "new\nline.py": "n\n"},
            "build": {"tracked.o": "o\n", "untracked.o": "u\n"},
            "notes.txt": "n\n",
        },
    )
    track(root, ["src/a.py", "build/tracked.o"], commit=True)
    return root


def test_a_listing_started_early_is_taken_and_equals_git(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    start_listing(root, DEFAULT_IGNORES)
    assert git_select._early
    files = [os.fsencode(f) for f in select_files(root).files]
    assert files == git_files(root)
    assert b"build/tracked.o" in files and b"src/b.log" not in files
    assert not git_select._early


def test_a_listing_started_early_is_dropped_when_qxub_walks(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    start_listing(root, DEFAULT_IGNORES)
    files = select_files(root, ["notes.txt"]).files  # a remote's sync.ignore: qxub walks
    assert "notes.txt" not in files and "src/a.py" in files and "build/tracked.o" in files
    assert not git_select._early


def test_a_listing_started_with_other_defaults_is_not_taken(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    start_listing(root, ("*.py",))
    files = select_files(root).files
    assert "src/new\nline.py" in files  # the defaults the selection asked for, not those
    assert not git_select._early


def test_untracked_files_few_or_many_take_their_place_with_their_stamps(tmp_path: Path) -> None:
    """git lists the tracked files, then the others: a few others are moved each into its
    place, many are sorted with the rest; either way each file keeps its own lstat."""
    for many in (False, True):
        root = tmp_path / ("many" if many else "few")
        git_init(root)
        tracked = {f"t{i:02d}": {"f.txt": f"{i}\n" * i} for i in range(0, 40, 2)}
        untracked = {f"t{i:02d}.txt": "u\n" * i for i in range(1, 40, 3 if not many else 1)}
        if many:
            untracked["zz"] = {f"{i}.txt": "z\n" for i in range(40)}
        write_tree(root, {**tracked, **untracked, "0.txt": "first\n"})
        track(root, [f"{name}/f.txt" for name in tracked], commit=True)
        selection = select_files(root)
        assert [os.fsencode(f) for f in selection.files] == git_files(root)
        for rel, size, mtime in zip(
            selection.files, selection.sizes, selection.mtimes, strict=True
        ):
            info = os.lstat(root / rel)
            assert (size, mtime) == (info.st_size, info.st_mtime_ns), rel
