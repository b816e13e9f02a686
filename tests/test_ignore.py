"""The file-selection engine against the real thing: `git ls-files --cached --others
--exclude-standard` on real repositories in temp dirs, hand-written cases for each of git's
rules (links, hostile names and long paths among them) and hypothesis-generated trees (some
files tracked though ignored). qxub's own layers, links' warnings, unreadable files and speed
are in test_ignore_layers.py; tracked files have their own cases in test_ignore_tracked.py."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qxub.project import find_project_root
from qxub.sync.ignore import DEFAULT_IGNORES, IgnoreRules, select_files

import children
from ignore_trees import (
    Tree,
    empty,
    git_env,  # noqa: F401  (autouse: the user's git config stays away)
    git_files,
    git_init,
    ours,
    track,
    write_tree,
)


def git_config(root: Path, key: str, value: str) -> None:
    children.run(["git", "-C", str(root), "config", key, value], check=True)


def same_as_git(root: Path, tree: Tree, exclude: str = "") -> list[str]:
    """Build `tree` as a fresh repo; assert qxub selects what git lists (with no defaults, as
    git has none); return the selection."""
    git_init(root, exclude)
    write_tree(root, tree)
    expected = git_files(root)
    assert ours(root, defaults=()) == expected
    return [os.fsdecode(f) for f in expected]


# --- git's rules, one by one -------------------------------------------------------------------

CASES: dict[str, tuple[Tree, list[str]]] = {
    "nested .gitignore is relative to its folder": (
        {"sub/.gitignore": "/x\ny\n", **empty("x y sub/x sub/y sub/d/x sub/d/y")},
        ["sub/.gitignore", "sub/d/x", "x", "y"],
    ),
    "no slash matches at any depth, middle slash anchors": (
        {".gitignore": "n\na/b\n", **empty("n k/n k/a/b a/b a/c")},
        [".gitignore", "a/c", "k/a/b"],
    ),
    "leading slash anchors": (
        {".gitignore": "/top\n", **empty("top d/top")},
        [".gitignore", "d/top"],
    ),
    "trailing slash matches folders only": (
        {".gitignore": "build/\n", **empty("build/x d/build e/build/y")},
        [".gitignore", "d/build"],
    ),
    "double star forms": (
        {".gitignore": "**/l1\na/**/b\nt/**\n**/m/n\n", **empty("l1 d/l1 d/m/n a/b a/x/y/b a/c")},
        [".gitignore", "a/c"],
    ),
    "a**/b: git compares the literal prefix, then matches '**/b' afresh": (
        {".gitignore": "a**/b\n", **empty("a/b ax/y/b ab c/b")},
        [".gitignore", "c/b"],
    ),
    "negation re-includes": (
        {".gitignore": "*.log\n!keep.log\n", **empty("a.log keep.log d/keep.log")},
        [".gitignore", "d/keep.log", "keep.log"],
    ),
    "no re-include below an excluded folder; its .gitignore is never read": (
        {".gitignore": "build/\n!build/keep\n", "build/.gitignore": "!*\n", "build/keep": ""},
        [".gitignore"],
    ),
    "re-include a folder's child after excluding the folder's contents": (
        {".gitignore": "/*\n!/foo\n/foo/*\n!/foo/bar\n", **empty("x foo/bar foo/baz")},
        ["foo/bar"],
    ),
    "escapes, comments, blank lines, trailing spaces": (
        {
            ".gitignore": "# comment\n\n\\#x\n\\!y\nsp   \nesc\\ \n",
            **dict.fromkeys(["#x", "!y", "# comment", "sp", "sp ", "esc", "esc "], ""),
        },
        ["# comment", ".gitignore", "esc", "sp "],
    ),
    "CRLF lines and a byte-order mark": (
        {".gitignore": "\ufeffa\r\nb\r\n", **empty("a b c")},
        [".gitignore", "c"],
    ),
    "deeper .gitignore wins over the shallower": (
        {
            ".gitignore": "*.txt\n!keep\n",
            "d/.gitignore": "!a.txt\nkeep\n",
            **empty("a.txt keep d/a.txt d/keep"),
        },
        [".gitignore", "d/.gitignore", "d/a.txt", "keep"],
    ),
    "brackets, classes, ranges, unclosed": (
        {
            ".gitignore": "[ab]1\n[!ab]2\n[^c]3\n[]]4\nx[[:digit:]]\n[a-c]5\n[6\n",
            **empty("a1 c1 a2 c2 c3 d3 ]4 x4 x7 xa b5 d5 [6"),
        },
        [".gitignore", "[6", "a2", "c1", "c3", "d5", "xa"],
    ),
    "? matches one byte, not one character": (
        {".gitignore": "?\n", **empty("é e d/x")},
        [".gitignore", "é"],
    ),
    "a trailing backslash never matches": (
        {".gitignore": "a\\\n", **empty("a a\\")},
        [".gitignore", "a", "a\\"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_git_rule(tmp_path: Path, case: str) -> None:
    tree, expected = CASES[case]
    assert same_as_git(tmp_path, tree) == expected


def test_info_exclude_is_below_every_gitignore(tmp_path: Path) -> None:
    tree: Tree = {".gitignore": "!a\nb\n", "a": "", "b": "", "c": ""}
    assert same_as_git(tmp_path, tree, exclude="a\n!b\nc\n") == [".gitignore", "a"]


def test_excludes_file_is_below_info_exclude(tmp_path: Path) -> None:
    excludes = tmp_path / "global-ignore"
    excludes.write_text("a\nb\n*.tmp\n")
    root = tmp_path / "repo"
    git_init(root, exclude="!a\n")
    git_config(root, "core.excludesFile", str(excludes))
    write_tree(root, {"a": "", "b": "", "c.tmp": "", "d": ""})
    assert ours(root, defaults=()) == git_files(root) == [b"a", b"d"]


def test_default_excludes_file_is_xdg_config(tmp_path: Path, isolated_env: Path) -> None:
    xdg_ignore = isolated_env / ".config" / "git" / "ignore"
    xdg_ignore.parent.mkdir(parents=True)
    xdg_ignore.write_text("*.swp\n")
    git_init(tmp_path)
    write_tree(tmp_path, {"a.swp": "", "b": ""})
    assert ours(tmp_path, defaults=()) == git_files(tmp_path) == [b"b"]


def test_project_below_the_worktree_top_gets_the_parent_rules(tmp_path: Path) -> None:
    git_init(tmp_path)
    tree: Tree = {".gitignore": "*.log\nsub/x\n", "sub": {".qxub.yaml": "", "a.log": "", "x": ""}}
    write_tree(tmp_path, tree)
    write_tree(tmp_path / "sub", {"y": "", "d": {"x": ""}})
    root = find_project_root(tmp_path / "sub" / "d")
    assert root == tmp_path / "sub"
    assert ours(root, defaults=()) == git_files(root) == [b".qxub.yaml", b"d/x", b"y"]


def test_symlinks_are_files_and_folder_patterns_skip_them(tmp_path: Path) -> None:
    write_tree(tmp_path, {".gitignore": "ln/\n", "real": {"f": ""}})
    (tmp_path / "ln").symlink_to("real")
    (tmp_path / "real" / "ln").symlink_to("f")
    files = same_as_git(tmp_path, {})
    assert files == [".gitignore", "ln", "real/f", "real/ln"]


def test_symlinked_gitignore_is_not_followed_like_git(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules": "a\n", "a": "", "d": {"a": ""}})
    (tmp_path / "d" / ".gitignore").symlink_to("../rules")
    assert same_as_git(tmp_path, {}) == ["a", "d/.gitignore", "d/a", "rules"]
    assert any("symlink" in w for w in select_files(tmp_path).warnings)


HOSTILE = ["a b", "new\nline", "quo'te\"s", "$(touch pwned)", "`id`", "-rf", "--help", "tab\tname"]
HOSTILE += ["back\\slash", " lead", "trail ", "*", "?", "[", "!bang", "#hash", "ünï", "L" * 255]
HOSTILE += [os.fsdecode(b"bad\xff\xfe")]


def test_hostile_names(tmp_path: Path) -> None:
    tree: Tree = {name: "x" for name in HOSTILE}
    tree["deep"] = {name: {"f": ""} for name in HOSTILE}
    files = same_as_git(tmp_path, tree)
    assert len(files) == 2 * len(HOSTILE)
    assert not (tmp_path / "pwned").exists()
    rules = IgnoreRules(tmp_path)
    assert not any(rules.is_ignored(f, False) for f in files)


def test_long_paths(tmp_path: Path) -> None:
    tree: Tree = {".gitignore": "*.skip\n", "f.skip": ""}
    folder = tree
    for level in range(12):
        folder["x.skip"] = ""
        folder = folder.setdefault(f"{level:02d}" + "d" * 198, {})  # type: ignore[assignment]
    folder["leaf"] = ""
    files = same_as_git(tmp_path, tree)
    assert len(files) == 2 and len(os.fsencode(files[-1])) > 2400


# --- hypothesis: random trees and random .gitignore files --------------------------------------

NAMES = ["a", "b", "ab", "a b", "#x", "!y", "x.pyc", "build", ".hidden", "c.txt", "é", "a ", "[a]"]
NAMES += ["__pycache__", ".venv", os.fsdecode(b"\xff"), "-", "]", "a-b", "1", "A", "a\\b"]
SEGMENTS = ["a", "b", "build", "*", "?", "*.pyc", "x*", "[ab]", "[!a]", "a*", "*b", ".hidden"]
SEGMENTS += ["#x", "\\#x", "!y", "\\!y", "a b", "c.txt", "é", "**", "[a-c]", "\\*", "a\\ ", "?b"]
SEGMENTS += ["[[:alpha:]]", "\\[a]", "[a]", "a**", "**b", os.fsdecode(b"\xff"), "__pycache__"]
SEGMENTS += ["[/]", "*/", "[a-]", "[!]a]", "[[:foo:]]", "[z-a]", "a\\", "***", "a**b", "[\\]]"]


@st.composite
def patterns(draw: st.DrawFn) -> str:
    segments = draw(st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3))
    text = segments[0]
    for segment in segments[1:]:
        text += draw(st.sampled_from(["/", "/", "/**/"])) + segment
    text = draw(st.sampled_from(["", "", "/", "**/"])) + text
    text += draw(st.sampled_from(["", "", "/", "/**", " ", "  "]))
    return ("!" if draw(st.integers(0, 3)) == 0 else "") + text


ignore_files = st.lists(
    st.one_of(patterns(), st.sampled_from(["", "# a comment", "!", "*", "!*/"])), max_size=6
).map(lambda lines: "\n".join(lines) + "\n")


@st.composite
def trees(draw: st.DrawFn, depth: int = 0) -> Tree:
    tree: Tree = {}
    for name in draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=5)):
        tree[name] = draw(trees(depth + 1)) if depth < 3 and draw(st.booleans()) else ""
    if draw(st.integers(0, 2)) == 0:
        tree[".gitignore"] = draw(ignore_files)
    return tree


def walk(tree: Tree, prefix: str = "") -> Iterator[tuple[str, bool]]:
    for name, content in tree.items():
        yield prefix + name, isinstance(content, dict)
        if isinstance(content, dict):
            yield from walk(content, prefix + name + "/")


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(tree=trees(), exclude=ignore_files, global_lines=ignore_files, data=st.data())
def test_random_trees_match_git(
    tree: Tree, exclude: str, global_lines: str, data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        excludes = Path(tmp) / "global-ignore"
        # The defaults go in the global excludes file, the lowest git layer, so git agrees.
        excludes.write_bytes(os.fsencode("\n".join(DEFAULT_IGNORES) + "\n" + global_lines))
        root = Path(tmp) / "repo"
        git_init(root, exclude)
        with (root / ".git" / "config").open("a") as config:
            config.write(f"[core]\n\texcludesFile = {excludes}\n")
        write_tree(root, tree)
        files = [path for path, is_dir in walk(tree) if not is_dir]
        if files and data.draw(st.integers(0, 2), "track some files") == 0:
            # Tracked files are listed by git whatever the rules say; deleted ones too, but
            # a push cannot send those.
            tracked = data.draw(st.lists(st.sampled_from(files), min_size=1, unique=True))
            track(root, tracked, commit=data.draw(st.integers(0, 3), "commit") == 0)
            for path in data.draw(st.lists(st.sampled_from(tracked), unique=True, max_size=2)):
                (root / path).unlink()
        listed = git_files(root)
        rules = IgnoreRules(root)
        here = [path for path in listed if os.path.lexists(root / os.fsdecode(path))]
        assert [os.fsencode(f) for f in rules.select().files] == here
        walked = IgnoreRules(root, git_listing=False).select()
        assert [os.fsencode(f) for f in walked.files] == here
        for path in files:
            assert rules.is_ignored(path, False) == (os.fsencode(path) not in listed), path
