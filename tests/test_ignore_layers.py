"""What qxub adds to git's rules, on real trees in temp dirs: .qxubignore files, a remote's
extra lines and the built-in defaults; single paths, as a watcher asks; links, unreadable and
special files, a missing root; the project root; speed. The comparison with git itself is in
test_ignore.py."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from qxub.errors import QxubError
from qxub.project import find_project_root
from qxub.sync.ignore import IgnoreRules, Selection, select_files

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


# --- links, unreadable files, special files, a missing root ------------------------------------


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


def _as_nobody(fn: Callable[[], Selection]) -> Selection:
    """Run `fn` in a forked child that has dropped to the `nobody` user, for whom permission
    bits count (they do not for root, which is who runs CI)."""
    user = pwd.getpwnam("nobody")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            found = fn()
            os.write(write, json.dumps([found.files, found.unreadable, found.warnings]).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as handle:
        data = handle.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the selection failed as `nobody`"
    files, unreadable, warnings = json.loads(data)
    return Selection(files=files, warnings=warnings, unreadable=unreadable)


def test_unreadable_files_are_warned_not_fatal() -> None:
    """Real denials: as root nothing is unreadable, so the selection runs as `nobody` then.
    The permission bits are read from the one lstat of each file; a fifo is reported too."""
    base = Path(tempfile.mkdtemp(prefix="qxub-perm-", dir="/tmp"))
    base.chmod(0o755)  # reachable by `nobody`
    try:
        tree: Tree = {"secret": "", "closed": {"x": ""}, "ok": "", "d": {"secret": "", "open": ""}}
        write_tree(base, tree)
        os.mkfifo(base / "fifo")
        for path in ("secret", "closed", "d/secret"):
            (base / path).chmod(0)
        for path in ("ok", "d/open"):
            (base / path).chmod(0o444)
        if os.geteuid() == 0:
            selection = _as_nobody(lambda: select_files(base))
        else:
            selection = select_files(base)
    finally:
        (base / "closed").chmod(0o755)
        shutil.rmtree(base)
    assert selection.files == ["d/open", "ok"]
    assert selection.unreadable == ["closed/", "d/secret", "secret"]
    assert sorted(selection.warnings) == [
        "cannot read d/secret: permission denied; skipped",
        "cannot read folder closed/: Permission denied; skipped",
        "cannot read secret: permission denied; skipped",
        "fifo is not a regular file: skipped",
    ]


def test_a_missing_root_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(QxubError, match="cannot read the project folder"):
        select_files(tmp_path / "nope")


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
    children.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    track(tmp_path, [f"pkg0/mod{d}/file{f}.log" for d in range(10) for f in range(2, 100, 5)])
    start = time.process_time()  # this process's CPU: not stretched by a loaded machine
    files = ours(tmp_path)
    elapsed = time.process_time() - start
    assert files == git_files(tmp_path)
    assert len(files) > 4000
    assert elapsed < 1.0, f"selecting 10,000 files took {elapsed:.2f}s"
