"""Directories for ssh control sockets (a pytest plugin, loaded by conftest.py).

`control_dir` is one test's own: a transport's masters, or qxub's XDG_RUNTIME_DIR when a test
needs no master to reuse (`fresh_masters` in remotes.py). `shared_runtime_dir` is the
session's XDG_RUNTIME_DIR for the `remote` fixture, so that tests reuse qxub's master
connections as a user's runs do. Both close the masters left in them and are removed."""

from __future__ import annotations

import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from children import run


def close_masters(path: Path) -> None:
    """Ask every ssh master listening under `path` to exit, then remove `path`."""
    for sock in sorted(path.rglob("*")):
        try:
            is_socket = stat.S_ISSOCK(sock.lstat().st_mode)
        except OSError:
            continue
        if is_socket:
            argv = ["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "x"]
            run(argv, capture_output=True, timeout=30, check=False)
    shutil.rmtree(path, ignore_errors=True)


def _short_dir() -> Path:
    """pytest's tmp_path is too long for unix socket paths (about 108 bytes)."""
    return Path(tempfile.mkdtemp(prefix="qxc-", dir="/tmp"))


@pytest.fixture
def control_dir() -> Iterator[Path]:
    """A short private directory for this test's control sockets."""
    path = _short_dir()
    yield path
    close_masters(path)


@pytest.fixture(scope="session")
def shared_runtime_dir() -> Iterator[Path]:
    """The session's XDG_RUNTIME_DIR for qxub: its masters outlive a test."""
    path = _short_dir()
    yield path
    close_masters(path)
