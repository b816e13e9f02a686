"""The file-selection engine against the real thing: `git ls-files --cached --others
--exclude-standard` on real repositories in temp dirs, hand-written cases for each of git's
rules and hypothesis-generated trees (some files tracked though ignored); then qxub's own
layers, links, hostile names, speed. Tracked files have their own cases in
test_ignore_tracked.py."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Union

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qxub.errors import QxubError
from qxub.sync.ignore import DEFAULT_IGNORES, IgnoreRules, select_files
from qxub.sync.project import find_project_root

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
    subprocess.run(["git", "init", "-q", "--template=", str(root)], check=True)
    (root / ".git" / "info").mkdir(exist_ok=True)
    if exclude:
        (root / ".git" / "info" / "exclude").write_bytes(os.fsencode(exclude))


def git_config(root: Path, key: str, value: str) -> None:
    subprocess.run(["git", "-C", str(root), "config", key, value], check=True)


def track(root: Path, paths: Sequence[str], commit: bool = False) -> None:
    """`git add -f` these paths (literally, whatever their bytes), then maybe commit."""
    argv = ["git", "--literal-pathspecs", "add", "-f", "--pathspec-from-file=-"]
    names = b"".join(os.fsencode(path) + b"\0" for path in paths)
    subprocess.run([*argv, "--pathspec-file-nul"], cwd=root, input=names, check=True)
    if commit:
        who = ["-c", "user.name=qxub", "-c", "user.email=qxub@example.org"]
        subprocess.run(["git", *who, "commit", "-qm", "tracked"], cwd=root, check=True)


def git_files(cwd: Path) -> list[bytes]:
    """The oracle: what git lists (tracked, plus untracked and not ignored)."""
    argv = ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"]
    out = subprocess.run(argv, cwd=cwd, capture_output=True, check=True).stdout
    return sorted(out.split(b"\0")[:-1])


def ours(root: Path, defaults: Sequence[str] = DEFAULT_IGNORES) -> list[bytes]:
    selection = select_files(root, defaults=defaults)
    assert selection.files == sorted(selection.files, key=os.fsencode)
    return [os.fsencode(f) for f in selection.files]


def same_as_git(root: Path, tree: Tree, exclude: str = "") -> list[str]:
    """Build `tree` as a fresh repo; assert qxub selects what git lists (with no defaults, as
    git has none); return the selection."""
    git_init(root, exclude)
    write_tree(root, tree)
    expected = git_files(root)
    assert ours(root, defaults=()) == expected
    return [os.fsdecode(f) for f in expected]


# --- git's rules, one by one -------------------------------------------------------------------


def empty(paths: str) -> Tree:
    """Empty files at these whitespace-separated paths."""
    return dict.fromkeys(paths.split(), "")


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


def test_a_missing_root_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(QxubError, match="cannot read the project folder"):
        select_files(tmp_path / "nope")


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
        for path in files:
            assert rules.is_ignored(path, False) == (os.fsencode(path) not in listed), path


# --- qxub's own layers -------------------------------------------------------------------------


def test_qxubignore_adds_ignores_relative_to_its_folder(tmp_path: Path) -> None:
    write_tree(tmp_path, {".qxubignore": "*.h5\n", "a.h5": "", "d": {".qxubignore": "/x", "x": ""}})
    write_tree(tmp_path, {"x": "", "d": {"e": {"x": ""}}})
    assert select_files(tmp_path).files == [".qxubignore", "d/.qxubignore", "d/e/x", "x"]


def test_qxubignore_reincludes_what_git_ignores(tmp_path: Path) -> None:
    git_init(tmp_path)
    tree: Tree = {
        ".gitignore": "*.csv\nbuild/\nout/\n",
        ".qxubignore": "!small.csv\n!build/\n",
        "build/.gitignore": "*.o\n",
        "sub/.qxubignore": "!out/\n",
        **empty("small.csv big.csv build/lib.so build/x.o out/keep sub/out/f"),
    }
    write_tree(tmp_path, tree)
    expected = "small.csv build/lib.so sub/out/f " + " ".join(n for n in tree if "ignore" in n)
    assert select_files(tmp_path).files == sorted(expected.split())


def test_extra_lines_beat_every_file(tmp_path: Path) -> None:
    tree: Tree = {".gitignore": "*.log\n", ".qxubignore": "!*.log\n!data/\n"}
    write_tree(tmp_path, {**tree, **empty("a.log data/raw/x data/y d/data/raw/z")})
    files = select_files(tmp_path, ["data/raw/", "!a.log", "*.log"]).files
    assert files == [".gitignore", ".qxubignore", "d/data/raw/z", "data/y"]
    assert "a.log" in select_files(tmp_path, ["*.log", "!a.log"]).files


def test_builtin_defaults(tmp_path: Path) -> None:
    tree: Tree = {
        ".venv": {"bin": {"python": ""}},
        "venv": {"x": ""},
        "__pycache__": {"m.cpython-311.pyc": ""},
        "pkg": {"m.py": "", "m.pyc": "", "__pycache__": {"m.pyc": ""}, ".DS_Store": ""},
        ".qxub": {"state": ""},
        ".tox": {"py311": {"x": ""}},
        ".git": "gitdir: elsewhere\n",
        "sub": {".git": {"HEAD": ""}, "f": ""},
    }
    write_tree(tmp_path, tree)
    assert select_files(tmp_path).files == ["pkg/m.py", "sub/f"]
    # Defaults are the lowest layer: any ignore file may take one back. `.git` never comes back.
    (tmp_path / ".gitignore").write_text("!venv/\n")
    extra = ["!.git", "!.git/"]
    assert select_files(tmp_path, extra).files == [".gitignore", "pkg/m.py", "sub/f", "venv/x"]


# --- single paths, as a watcher asks -----------------------------------------------------------


def test_is_ignored_checks_the_folders_above(tmp_path: Path) -> None:
    write_tree(tmp_path, {".gitignore": "build/\n*.o\n!keep.o\n"})
    rules = IgnoreRules(tmp_path)
    assert rules.is_ignored("build", True)
    assert not rules.is_ignored("build", False)  # a file named build
    assert rules.is_ignored("build/keep.o", False)
    assert rules.is_ignored("src/x.o", False)
    assert not rules.is_ignored("src/keep.o", False)
    assert not rules.is_ignored("src/deep/er/file.py", False)
    assert rules.is_ignored(".git/HEAD", False)
    assert not rules.is_ignored("", True)
    with pytest.raises(ValueError):
        rules.is_ignored("../outside", False)


def test_reload_after_an_ignore_file_changes(tmp_path: Path) -> None:
    write_tree(tmp_path, {"src": {".gitignore": "*.tmp\n"}})
    rules = IgnoreRules(tmp_path)
    assert rules.is_ignored("src/a.tmp", False)
    assert not rules.is_ignored("src/deep/a.dat", False)
    (tmp_path / "src" / ".gitignore").write_text("*.dat\n")
    rules.reload("src/.gitignore")
    assert not rules.is_ignored("src/a.tmp", False)
    assert rules.is_ignored("src/deep/a.dat", False)
    (tmp_path / ".gitignore").write_text("deep/\n")
    rules.reload(".gitignore")
    assert rules.is_ignored("src/deep/x", False)


# --- links, unreadable files, special files ----------------------------------------------------


def test_symlinks_are_listed_and_outside_targets_warned(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write_tree(root, {"data": {"f": ""}})
    write_tree(tmp_path, {"outside": {"g": ""}})
    (root / "in").symlink_to("data/f")
    (root / "up").symlink_to("../outside")
    (root / "abs").symlink_to(root / "data" / "f")
    (root / "dangling").symlink_to("nowhere")
    selection = select_files(root)
    assert selection.files == ["abs", "dangling", "data/f", "in", "up"]
    assert len(selection.warnings) == 2
    assert any("symlink up points outside the project" in w for w in selection.warnings)
    assert any("symlink abs has an absolute target" in w for w in selection.warnings)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file: permission bits do not stop it")
def test_unreadable_files_are_warned_not_fatal(tmp_path: Path) -> None:
    write_tree(tmp_path, {"secret": "", "closed": {"x": ""}, "ok": ""})
    (tmp_path / "secret").chmod(0)
    (tmp_path / "closed").chmod(0)
    try:
        selection = select_files(tmp_path)
    finally:
        (tmp_path / "closed").chmod(0o755)
    assert selection.files == ["ok"]
    assert selection.unreadable == ["closed/", "secret"]


def test_unreadable_reporting_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As root nothing is unreadable, so the denials are simulated where the engine asks."""
    write_tree(tmp_path, {"secret": "", "closed": {"x": ""}, "ok": "", "d": {"secret": ""}})
    os.mkfifo(tmp_path / "fifo")
    real_access, real_scandir = os.access, os.scandir

    def access(path: object, mode: int) -> bool:
        return not os.fsencode(path).endswith(b"/secret") and real_access(path, mode)  # type: ignore[arg-type]

    def scandir(path: bytes) -> object:
        if path.endswith(b"/closed"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(os, "scandir", scandir)
    selection = select_files(tmp_path)
    assert selection.files == ["ok"]
    assert selection.unreadable == ["closed/", "d/secret", "secret"]
    assert len(selection.warnings) == 4
    assert any("fifo is not a regular file" in w for w in selection.warnings)


# --- project root ------------------------------------------------------------------------------


@pytest.mark.parametrize("marker", [".qxub.yaml", ".qxubignore", ".git"])
def test_find_project_root(tmp_path: Path, marker: str) -> None:
    deep = tmp_path / "p" / "a" / "b"
    deep.mkdir(parents=True)
    assert find_project_root(deep) == deep
    (tmp_path / "p" / marker).write_text("")
    assert find_project_root(deep) == tmp_path / "p"
    assert find_project_root(tmp_path / "p") == tmp_path / "p"


# --- speed -------------------------------------------------------------------------------------

PYTHON_GITIGNORE = (
    "__pycache__/ *.py[cod] *$py.class *.so .Python build/ dist/ *.egg-info/ .eggs/ *.egg "
    ".installed.cfg pip-log.txt htmlcov/ .coverage .coverage.* .cache nosetests.xml coverage.xml "
    "*.cover .hypothesis/ .pytest_cache/ *.mo *.pot *.log instance/ docs/_build/ target/ "
    ".ipynb_checkpoints .env .venv env/ venv/ ENV/ .mypy_cache/"
).replace(" ", "\n")


def test_ten_thousand_files_well_under_a_second(tmp_path: Path) -> None:
    """With an index, as in most projects: git's list of tracked files is read too."""
    git_init(tmp_path)
    (tmp_path / ".gitignore").write_text(PYTHON_GITIGNORE)
    for d in range(100):
        folder = tmp_path / f"pkg{d // 10}" / f"mod{d}"
        folder.mkdir(parents=True)
        if d % 10 == 0:
            (folder / ".gitignore").write_text("*.tmp\n!keep.tmp\n")
        for f in range(100):
            name = folder / f"file{f}.{('py', 'pyc', 'log', 'txt', 'tmp')[f % 5]}"
            os.close(os.open(name, os.O_CREAT | os.O_WRONLY, 0o644))
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    track(tmp_path, [f"pkg0/mod{d}/file{f}.log" for d in range(10) for f in range(2, 100, 5)])
    start = time.perf_counter()
    files = ours(tmp_path)
    elapsed = time.perf_counter() - start
    assert files == git_files(tmp_path)
    assert len(files) > 4000
    assert elapsed < 1.0, f"selecting 10,000 files took {elapsed:.2f}s"
