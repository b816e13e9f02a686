"""Files git tracks are pushed though an ignore rule matches them, as `git ls-files --cached
--others --exclude-standard` lists them; qxub's own layers (.qxubignore, extra lines) can still
leave them out. Real repositories in temp dirs, compared with git where git has a say."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_ignore import HOSTILE

from qxub.sync.ignore import IgnoreRules, select_files
from qxub.sync.project import git_tracked_files

import children
from ignore_trees import (
    Tree,
    empty,
    git_env,  # noqa: F401  (autouse: the user's git config stays away)
    git_files,
    git_init,
    track,
    write_tree,
)


def repo(root: Path, tree: Tree, tracked: str, ignore: str = "") -> None:
    """A repo holding `tree`, with the space-separated `tracked` paths committed first and
    `.gitignore` written after, as when a rule comes after the files it matches."""
    git_init(root)
    write_tree(root, tree)
    track(root, tracked.split(), commit=True)
    if ignore:
        (root / ".gitignore").write_text(ignore)


def selected(root: Path, extra: tuple[str, ...] = ()) -> list[str]:
    return select_files(root, extra).files


def test_committed_file_matching_an_ignore_rule(tmp_path: Path) -> None:
    repo(tmp_path, empty("a.log b.log c"), "a.log", ignore="*.log\n")
    assert git_files(tmp_path) == [b".gitignore", b"a.log", b"c"]
    assert selected(tmp_path) == [".gitignore", "a.log", "c"]
    rules = IgnoreRules(tmp_path)
    assert not rules.is_ignored("a.log", False)
    assert rules.is_ignored("b.log", False)


def test_committed_file_under_an_ignored_folder(tmp_path: Path) -> None:
    tree: Tree = {**empty("build/keep build/deep/kept build/other src/x"), "outside": {"t": ""}}
    repo(tmp_path, tree, "build/keep build/deep/kept", ignore="build/\n")
    (tmp_path / "build" / "link").symlink_to("../outside/t")
    track(tmp_path, ["build/link"])
    expected = [".gitignore", "build/deep/kept", "build/keep", "build/link", "outside/t", "src/x"]
    assert [os.fsdecode(f) for f in git_files(tmp_path)] == expected
    assert selected(tmp_path) == expected
    rules = IgnoreRules(tmp_path)
    assert not rules.is_ignored("build/deep/kept", False)
    assert not rules.is_ignored("build/deep", True)  # it holds a tracked file
    assert rules.is_ignored("build/other", False)
    assert rules.is_ignored("build/new/x", False)


def test_qxub_layers_still_leave_tracked_files_out(tmp_path: Path) -> None:
    tree: Tree = {**empty("a.log b.log build/keep build/x.o data/raw")}
    repo(tmp_path, tree, "a.log b.log build/keep build/x.o data/raw", ignore="*.log\nbuild/\n")
    assert len(git_files(tmp_path)) == 6
    (tmp_path / ".qxubignore").write_text("a.log\n")
    (tmp_path / "build" / ".qxubignore").write_text("*.o\n")  # read, though git ignores build/
    files = [".gitignore", ".qxubignore", "b.log", "build/keep", "data/raw"]
    assert selected(tmp_path) == files
    assert selected(tmp_path, ("data/", "b.log")) == [*files[:2], "build/keep"]
    rules = IgnoreRules(tmp_path, ["data/"])
    assert rules.is_ignored("a.log", False)
    assert rules.is_ignored("build/x.o", False)
    assert not rules.is_ignored("build/keep", False)
    assert rules.is_ignored("data/raw", False)
    assert rules.is_ignored("data", True)
    (tmp_path / ".qxubignore").write_text("build/\n")
    assert selected(tmp_path) == [".gitignore", ".qxubignore", "a.log", "b.log", "data/raw"]


def test_project_in_a_subfolder_of_the_repo(tmp_path: Path) -> None:
    tree: Tree = {**empty("top.log sub/.qxub.yaml sub/a.log sub/b.log sub/d/c.log sub/e/f")}
    repo(tmp_path, tree, "top.log sub/a.log sub/d/c.log", ignore="*.log\ne/\n")
    root = tmp_path / "sub"
    expected = [b".qxub.yaml", b"a.log", b"d/c.log"]
    assert git_files(root) == expected
    assert [os.fsencode(f) for f in selected(root)] == expected
    assert git_tracked_files(root) == {b"a.log", b"d/c.log"}
    rules = IgnoreRules(root)
    assert not rules.is_ignored("d/c.log", False)
    assert rules.is_ignored("b.log", False)


def test_tracked_files_deleted_or_behind_a_symlink_are_not_selected(tmp_path: Path) -> None:
    repo(tmp_path, empty("gone.log data/x elsewhere/x"), "gone.log data/x")
    (tmp_path / "gone.log").unlink()
    (tmp_path / "data" / "x").unlink()
    (tmp_path / "data").rmdir()
    (tmp_path / "data").symlink_to("elsewhere")
    (tmp_path / ".gitignore").write_text("*.log\nelsewhere/\n")
    # git lists what its index holds; only what is here, in the project, can be sent.
    assert git_files(tmp_path) == [b".gitignore", b"data", b"data/x", b"gone.log"]
    assert selected(tmp_path) == [".gitignore", "data"]
    assert not IgnoreRules(tmp_path).is_ignored("gone.log", False)  # a delete event counts


def test_hostile_tracked_names(tmp_path: Path) -> None:
    every_byte = os.fsdecode(bytes(b for b in range(1, 256) if b != ord("/")))
    names = [*HOSTILE, "cr\rname", "del\x7f", 'q"uote', every_byte]
    git_init(tmp_path)
    write_tree(tmp_path, {".gitignore": "ign/\n", "ign": {name: "" for name in names}})
    track(tmp_path, [f"ign/{name}" for name in names])
    # Whatever the user's core.quotePath, the names come back byte for byte.
    children.run(["git", "-C", str(tmp_path), "config", "core.quotePath", "false"], check=True)
    expected = git_files(tmp_path)
    assert len(expected) == len(names) + 1
    assert [os.fsencode(f) for f in selected(tmp_path)] == expected


def test_submodules_are_folders_walked_unless_ignored(tmp_path: Path) -> None:
    """git lists a submodule's path; qxub sends the files in it, by the rules, as before."""
    git_init(tmp_path)
    inner = tmp_path / "lib"
    git_init(inner)
    write_tree(inner, empty("f g.log"))
    track(inner, ["f", "g.log"], commit=True)
    children.run(
        ["git", "-c", "advice.addEmbeddedRepo=false", "add", "lib"], cwd=tmp_path, check=True
    )
    write_tree(tmp_path, {".gitignore": "*.log\n"})
    assert git_files(tmp_path) == [b".gitignore", b"lib"]
    assert selected(tmp_path) == [".gitignore", "lib/f"]
    (tmp_path / ".gitignore").write_text("lib/\n")
    assert selected(tmp_path) == [".gitignore"]
    assert IgnoreRules(tmp_path).is_ignored("lib", True)


def test_is_ignored_follows_the_index_without_reload(tmp_path: Path) -> None:
    repo(tmp_path, empty("a b.log"), "a", ignore="*.log\n")
    rules = IgnoreRules(tmp_path)
    assert rules.is_ignored("b.log", False)
    track(tmp_path, ["b.log"])
    assert not rules.is_ignored("b.log", False)
    children.run(["git", "rm", "-q", "--cached", "b.log"], cwd=tmp_path, check=True)
    assert rules.is_ignored("b.log", False)


@pytest.mark.parametrize("broken", ["no git", "corrupt index", "not a repository"])
def test_without_a_working_git_the_rules_alone_decide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    root = tmp_path / "p"
    repo(root, empty("a.log b"), "a.log", ignore="*.log\n")
    if broken == "no git":
        monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    elif broken == "corrupt index":
        (root / ".git" / "index").write_bytes(b"DIRC garbage")
    else:
        (root / ".git" / "HEAD").unlink()  # neither git nor qxub takes it for a repository
    selection = select_files(root)
    assert (selection.files, selection.warnings) == ([".gitignore", "b"], [])
    assert IgnoreRules(root).is_ignored("a.log", False)
