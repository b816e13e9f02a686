"""Project trees for the file-selection tests: written to temp dirs, made into real git
repositories, and listed by git itself (the oracle qxub's selection is compared with)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Union

import pytest

from qxub.sync.ignore import DEFAULT_IGNORES, select_files

import children

Tree = dict[str, Union[str, "Tree"]]
"""A folder: name -> file content (str) or sub-folder. Names are str with surrogate escapes."""


@pytest.fixture(autouse=True)
def git_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No system or user git config: neither git nor the engine may see the real excludes."""
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)


def write_tree(folder: Path, tree: Tree) -> None:
    """Write `tree` below `folder`; names may be paths ("a/b") whose folders are made."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in tree.items():
        path = folder / name
        if isinstance(content, dict):
            write_tree(path, content)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.fsencode(content))


def git_init(root: Path, exclude: str = "") -> None:
    children.run(["git", "init", "-q", "--template=", str(root)], check=True)
    (root / ".git" / "info").mkdir(exist_ok=True)
    if exclude:
        (root / ".git" / "info" / "exclude").write_bytes(os.fsencode(exclude))


def track(root: Path, paths: Sequence[str], commit: bool = False) -> None:
    """`git add -f` these paths (literally, whatever their bytes), then maybe commit."""
    argv = ["git", "--literal-pathspecs", "add", "-f", "--pathspec-from-file=-"]
    names = b"".join(os.fsencode(path) + b"\0" for path in paths)
    children.run([*argv, "--pathspec-file-nul"], cwd=root, input=names, check=True)
    if commit:
        who = ["-c", "user.name=qxub", "-c", "user.email=qxub@example.org"]
        children.run(["git", *who, "commit", "-qm", "tracked"], cwd=root, check=True)


def git_files(cwd: Path) -> list[bytes]:
    """The oracle: what git lists (tracked, plus untracked and not ignored)."""
    argv = ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"]
    out = children.run(argv, cwd=cwd, capture_output=True, check=True).stdout
    return sorted(out.split(b"\0")[:-1])


def ours(root: Path, defaults: Sequence[str] = DEFAULT_IGNORES) -> list[bytes]:
    """qxub's selection, by both engines (git's listing where it applies, and qxub's own
    walk), which must agree, with the same stamps."""
    selection = select_files(root, defaults=defaults)
    walked = select_files(root, defaults=defaults, git_listing=False)
    assert selection.files == sorted(selection.files, key=os.fsencode)
    assert walked.files == selection.files
    assert list(walked.stamps()) == list(selection.stamps())
    for rel, (size, mtime) in selection.stamps():
        info = os.lstat(root / rel)
        assert (size, mtime) == (info.st_size, info.st_mtime_ns), rel
    return [os.fsencode(f) for f in selection.files]


def empty(paths: str) -> Tree:
    """Empty files at these whitespace-separated paths."""
    return dict.fromkeys(paths.split(), "")
