"""`qxub remote push NAME [-q] [-v] [--full]` runs without click (qxub.cli.push_run): the
same push, the same words, the same errors and exit codes as through click, which every
other form of the command still goes through."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import assert_one_line_error, imported, qxub
from remotes import mirror


def test_an_everyday_push_imports_no_click(remote: str, remote_home: Path) -> None:
    root = Path.cwd()
    (root / "a.py").write_text("a = 1\n")
    done, modules = imported("remote", "push", "R", "--verbose", "-q")
    assert done.returncode == 0, done.stderr
    assert "click" not in modules and "qxub.mirroring.push" in modules
    assert done.stderr == ""  # -q: no summary; --verbose names nothing then either
    (root / "a.py").write_text("a = 2\n")
    done, modules = imported("remote", "push", "-vv", "R")
    assert "click" not in modules
    assert "sent a.py" in done.stderr and done.returncode == 0, done.stderr
    assert (mirror(remote_home) / "a.py").read_text() == "a = 2\n"
    done, modules = imported("remote", "push", "R", "--dry-run")  # the other forms: click
    assert "click" in modules and done.returncode == 0, done.stderr


@pytest.mark.parametrize("words", [["-q"], ["--full"], ["-v", "--quiet"]])
def test_errors_read_as_through_click(tmp_path: Path, words: list[str]) -> None:
    """An unknown remote: the same message, hint and exit code as `--dry-run` (click's
    path) gives."""
    os.chdir(tmp_path)
    fast = qxub("remote", "push", "nosuch", *words)
    slow = qxub("remote", "push", "nosuch", "--dry-run")
    assert_one_line_error(fast)
    assert (fast.returncode, fast.stderr, fast.stdout) == (slow.returncode, slow.stderr, "")
    assert "unknown remote 'nosuch'" in fast.stderr


def test_a_broken_config_is_named_as_through_click(tmp_path: Path) -> None:
    os.chdir(tmp_path)
    (tmp_path / ".qxub.yaml").write_text("remotes: [1, 2\n")
    fast = qxub("remote", "push", "R")
    slow = qxub("remote", "push", "R", "--dry-run")
    assert_one_line_error(fast)
    assert (fast.returncode, fast.stderr) == (slow.returncode, slow.stderr)
    assert ".qxub.yaml" in fast.stderr
