"""A per-test directory for ssh control sockets, for the OpenSSH transport's tests.

It replaces, in the modules that import it, the session-wide `control_dir` of remotes.py."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def control_dir() -> Iterator[Path]:
    """A short private directory: pytest's tmp_path is too long for unix socket paths."""
    path = Path(tempfile.mkdtemp(prefix="qxc-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
