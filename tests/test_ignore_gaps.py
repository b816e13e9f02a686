"""The corners of the selection, against real git: core.ignoreCase, git's guard against runaway
backtracking (t3070), the built-in ignores, nested clones and submodules, and where git's
listing stands in for qxub's walk (a hidden .qxubignore, an unreadable folder). Every case is
checked with both engines (see ignore_trees.ours)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from test_ignore_layers import _as_nobody

from qxub.sync.ignore import DEFAULT_IGNORES, IgnoreRules, select_files
from qxub.sync.ignore_source import Matcher, Source
from qxub.sync.wildmatch import compile_pattern

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

# --- core.ignoreCase ---------------------------------------------------------------------------

FOLDED: Tree = {
    ".gitignore": (
        "*.log\nbuild/\n/Docs\nfile[A-C].txt\nx[[:upper:]]\ny[B]\nz[b-d]\n"
        "Keep*.TMP\n!keepme.tmp\nsub/DEEP/*.Dat\nliteral\n"
    ),
    **empty(
        "A.LOG b.log c.Log BUILD/x Build/y docs/d DOCS/e other/Docs/f fileb.txt FILEc.TXT "
        "filed.txt xa xA yb yB zC zc ze KEEPME.TMP keepother.tmp SUB/deep/x.dat sub/deep/y.DAT "
        "LITERAL Literal/x plain"
    ),
}


@pytest.mark.parametrize("ignore_case", ["true", "false"])
def test_core_ignorecase_is_honoured_like_git(tmp_path: Path, ignore_case: str) -> None:
    git_init(tmp_path)
    argv = ["git", "-C", str(tmp_path), "config", "core.ignoreCase", ignore_case]
    subprocess.run(argv, check=True)
    write_tree(tmp_path, FOLDED)
    expected = git_files(tmp_path)
    assert ours(tmp_path, defaults=()) == expected
    folded = ignore_case == "true"
    assert (b"A.LOG" in expected) != folded  # the case: *.log and A.LOG
    rules = IgnoreRules(tmp_path, defaults=())
    for path in [p for p in FOLDED if p != ".gitignore"]:
        assert rules.is_ignored(path, False) == (os.fsencode(path) not in expected), path


def test_ignorecase_in_the_global_excludes_and_info_exclude(tmp_path: Path) -> None:
    excludes = tmp_path / "global"
    excludes.write_text("*.BAK\n")
    root = tmp_path / "repo"
    git_init(root, exclude="/TOP\n")
    for key, value in (("core.ignoreCase", "yes"), ("core.excludesFile", str(excludes))):
        subprocess.run(["git", "-C", str(root), "config", key, value], check=True)
    write_tree(root, empty("a.bak b.Bak top Top/x keep"))
    assert ours(root, defaults=()) == git_files(root) == [b"keep"]


# --- runaway backtracking (git's t3070) ----------------------------------------------------------

PATHOLOGICAL = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a"


def test_pathological_pattern_answers_at_once(tmp_path: Path) -> None:
    """git before 2.41 (Debian 12 has 2.39) takes exponential time here, so git is not asked:
    the answer is t3070's. With such a git, git's listing is given up after a short budget."""
    pattern = compile_pattern(PATHOLOGICAL.encode())
    assert pattern is not None
    matcher = Matcher(frozenset([Source([pattern], b"", 0)]))
    start = time.process_time()
    assert not matcher.excluded(b"a" * 60 + b"b", 0, False)
    assert matcher.excluded(b"a" * 60, 0, False)
    assert matcher.excluded(b"a" * 16, 0, False)
    assert not matcher.excluded(b"a" * 15, 0, False)
    assert time.process_time() - start < 0.1
    git_init(tmp_path)
    write_tree(tmp_path, {".gitignore": PATHOLOGICAL + "\n", **empty(f"{'a' * 60}b {'a' * 60} ab")})
    start = time.process_time()
    walked = select_files(tmp_path, defaults=(), git_listing=False).files
    assert time.process_time() - start < 0.1
    assert walked == [".gitignore", "a" * 60 + "b", "ab"]
    start = time.perf_counter()
    assert select_files(tmp_path, defaults=()).files == walked
    assert time.perf_counter() - start < 10.0


@pytest.mark.parametrize(
    "pattern",
    ["*a*b", "a*?b*c", "*[ab]x*", "x*y*", "*.tar*gz", "*a?*a", "**a*a*", "d/*a*a*/f", "*\\**"],
)
def test_atomic_stars_match_what_git_matches(tmp_path: Path, pattern: str) -> None:
    names = "ab aab abab axb xay xy x.y.tar.gz a.tarXgz aaa aXa bxx axa a* b*c d/xaya/f d/aa/f"
    git_init(tmp_path)
    write_tree(tmp_path, {".gitignore": pattern + "\n", **empty(names)})
    assert ours(tmp_path, defaults=()) == git_files(tmp_path)


# --- built-in ignores --------------------------------------------------------------------------


def test_builtin_ignores_are_the_documented_ones(tmp_path: Path) -> None:
    """docs/sync.md names `*.pyc`: `.pyo` and `.pyd` files (a Windows extension module) that
    the project's rules keep are pushed, as git lists them."""
    git_init(tmp_path)
    write_tree(tmp_path, empty("m.py m.pyc m.pyo m.pyd pkg/__pycache__/m.cpython-311.pyc"))
    listed = git_files(tmp_path)
    assert ours(tmp_path) == [f for f in listed if not f.endswith(b".pyc")]
    docs = (Path(__file__).parent.parent / "docs" / "sync.md").read_text()
    for line in DEFAULT_IGNORES:
        assert f"`{line}`" in docs, line


# --- nested clones and submodules --------------------------------------------------------------


def test_nested_clone_is_pushed_with_its_own_ignore_files(tmp_path: Path) -> None:
    """git lists a nested clone as one entry (`lib/`); qxub pushes what is in it, by the same
    rules plus its .gitignore files (not its .git/info/exclude), as docs/sync.md says."""
    git_init(tmp_path)
    write_tree(tmp_path, {".gitignore": "*.o\n", "main.c": "", "main.o": ""})
    lib = tmp_path / "lib"
    git_init(lib, exclude="secret\n")
    write_tree(lib, {".gitignore": "build/\n", **empty("a.c a.o build/x secret sub/b.c")})
    assert git_files(tmp_path) == [b".gitignore", b"lib/", b"main.c"]
    expected = [b".gitignore", b"lib/.gitignore", b"lib/a.c", b"lib/secret", b"lib/sub/b.c"]
    assert ours(tmp_path, defaults=()) == [*expected, b"main.c"]


def test_submodule_folder_follows_the_rules(tmp_path: Path) -> None:
    sub = tmp_path / "upstream"
    git_init(sub)
    write_tree(sub, empty("s.c s.o"))
    track(sub, ["s.c"], commit=True)
    root = tmp_path / "repo"
    git_init(root)
    write_tree(root, {".gitignore": "*.o\n"})
    argv = ["git", "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "dep"]
    subprocess.run(argv, cwd=root, check=True, capture_output=True)
    write_tree(root / "dep", {"local.o": "", "new.c": ""})
    assert ours(root, defaults=()) == [b".gitignore", b".gitmodules", b"dep/new.c", b"dep/s.c"]


# --- where git's listing stands in for the walk ---------------------------------------------------


def test_a_qxubignore_that_git_ignores_still_counts(tmp_path: Path) -> None:
    git_init(tmp_path)
    tree: Tree = {"data": {".gitignore": "*\n", ".qxubignore": "!*.csv\n", **empty("a.csv b.h5")}}
    write_tree(tmp_path, {**tree, "src.py": ""})
    assert git_files(tmp_path) == [b"src.py"]
    assert ours(tmp_path, defaults=()) == [b"data/a.csv", b"src.py"]


def test_a_qxubignore_in_an_ignored_folder_leaves_tracked_files_out(tmp_path: Path) -> None:
    git_init(tmp_path)
    write_tree(tmp_path, {".gitignore": "vendor/\n", "vendor": empty("a.c b.c"), "m.c": ""})
    track(tmp_path, ["vendor/a.c", "vendor/b.c"])
    (tmp_path / "vendor" / ".qxubignore").write_text("b.c\n")
    assert ours(tmp_path, defaults=()) == [b".gitignore", b"m.c", b"vendor/a.c"]


def test_unreadable_folder_is_reported_from_gits_listing() -> None:
    """As `nobody` when run as root (git is told that the root's repository is safe)."""
    base = Path(tempfile.mkdtemp(prefix="qxub-perm-", dir="/tmp"))
    base.chmod(0o755)
    try:
        git_init(base)
        write_tree(base, {"closed": {"x": ""}, "ok": "", "sub": {"in": ""}})
        track(base, ["ok", "closed/x"])
        (base / "closed").chmod(0o311)  # enter, but not list
        os.environ.update(GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="safe.directory")
        os.environ["GIT_CONFIG_VALUE_0"] = "*"
        try:
            run = lambda: select_files(base)  # noqa: E731
            selection = _as_nobody(run) if os.geteuid() == 0 else run()
        finally:
            for key in ("GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_CONFIG_VALUE_0"):
                del os.environ[key]
    finally:
        (base / "closed").chmod(0o755)
        shutil.rmtree(base)
    # closed/x is tracked and can be read: it is sent; the folder is reported.
    assert selection.files == ["closed/x", "ok", "sub/in"]
    assert selection.unreadable == ["closed/"]
    assert selection.warnings == ["cannot read folder closed/: Permission denied; skipped"]
