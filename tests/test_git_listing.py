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
