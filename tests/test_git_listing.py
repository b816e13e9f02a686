"""git's listings started early (a push starts them before it reads its config): a selection
takes them when they fit, and stops them when it walks instead; either way the selection is
what git lists, and nothing is left running."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from pathlib import Path

import pytest
from test_ignore_layers import _as_nobody

from qxub.sync import git_select, ignore
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


def test_paths_taken_at_once_or_one_by_one_select_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git's paths are lstat'ed a chunk at a time and taken whole when each is a readable
    regular file; a chunk holding anything else is taken path by path. Both give the same
    selection, with chunks of three paths: a tracked file deleted here, one below a folder
    that is now a symlink (to a folder that holds a file of that name), one its owner may not
    read, a symlink, a nested clone. As root, the tree is `nobody`'s (but for one file of
    root's that all may read) and selected as `nobody`, where permission bits count; as
    anyone else, it is selected as its owner."""
    as_owner = _as_nobody if os.geteuid() == 0 else lambda select: select()
    base = Path(tempfile.mkdtemp(prefix="qxub-chunks-", dir="/tmp"))
    base.chmod(0o755)
    root = base / "p"
    try:
        git_init(root)
        write_tree(root, {f"a{i}.txt": f"{i}\n" for i in range(7)})
        write_tree(root, {"gone.txt": "", "linked": {"in.txt": ""}, "secret": "", "others": ""})
        write_tree(root, {"sub": {f"b{i}": "" for i in range(5)}, "open": "o\n"})
        (root / "sub" / "in.txt").write_text("here too\n")
        track(root, ["a0.txt", "a1.txt", "gone.txt", "linked/in.txt"], commit=True)
        (root / "gone.txt").unlink()
        shutil.rmtree(root / "linked")
        (root / "linked").symlink_to("sub")
        (root / "link").symlink_to("a1.txt")
        git_init(root / "nested")
        (root / "nested" / "n.txt").write_text("n\n")
        if os.geteuid() == 0:
            owned = [path for path in root.rglob("*") if path.name not in ("others", "open")]
            for path in [root, *owned]:
                os.lchown(path, pwd.getpwnam("nobody").pw_uid, -1)
        (root / "secret").chmod(0)
        (root / "others").chmod(0o444)  # root's, readable by all
        monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
        monkeypatch.setenv("GIT_CONFIG_KEY_0", "safe.directory")
        monkeypatch.setenv("GIT_CONFIG_VALUE_0", "*")
        monkeypatch.setattr(git_select, "_CHUNK", 3)
        selected = as_owner(lambda: select_files(root))
        monkeypatch.setattr(git_select, "_all_readable_files", lambda *_: False)
        each = as_owner(lambda: select_files(root))
    finally:
        shutil.rmtree(base)
    assert selected.files == each.files
    assert selected.unreadable == each.unreadable == ["secret"]
    assert selected.warnings == each.warnings
    assert "gone.txt" not in selected.files and "linked/in.txt" not in selected.files
    assert {"others", "open", "link", "nested/n.txt", "sub/b4", "a6.txt"} <= set(selected.files)


def _defaults_files() -> list[Path]:
    return sorted((Path(os.environ["XDG_STATE_HOME"]) / "qxub").glob("ignore-defaults-*"))


def test_the_defaults_go_to_git_in_a_file_written_once_and_mended_when_damaged(
    tmp_path: Path,
) -> None:
    """git reads the built-in ignores from a file named by its contents in the state folder:
    the first selection writes it, later ones read it as it is; a damaged one is rewritten."""
    root = project(tmp_path / "p")
    (root / "cache.pyc").write_text("c\n")  # a built-in ignore
    assert "cache.pyc" not in select_files(root).files
    [kept] = _defaults_files()
    text = "".join(f"{line}\n" for line in DEFAULT_IGNORES)
    assert kept.read_text() == text
    os.utime(kept, ns=(1_000_000_000, 1_000_000_000))
    assert "cache.pyc" not in select_files(root).files
    assert kept.stat().st_mtime_ns == 1_000_000_000  # read, not written again
    kept.write_text("nothing\n")
    assert "cache.pyc" not in select_files(root).files
    assert _defaults_files() == [kept] and kept.read_text() == text
    assert [f for f in os.listdir(kept.parent) if ".qxub" in f or f.count(".") > 1] == []


def test_with_no_state_folder_to_write_the_defaults_in_they_still_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the state folder would be\n")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocked))
    root = project(tmp_path / "p")
    (root / "cache.pyc").write_text("c\n")
    before = set(os.listdir(tempfile.gettempdir()))
    answers: list[bool] = []
    by_git = ignore.select_by_git
    monkeypatch.setattr(
        ignore, "select_by_git", lambda *a: answers.append(by_git(*a)) or answers[-1]
    )
    files = [os.fsencode(f) for f in select_files(root).files]
    assert answers == [True]  # git's listing, not qxub's own walk
    assert files == [f for f in git_files(root) if f != b"cache.pyc"]
    assert b"cache.pyc" in git_files(root)  # git alone would list it
    made = set(os.listdir(tempfile.gettempdir())) - before
    assert [n for n in made if n.startswith("qxub-defaults-")] == []  # this run's, removed
