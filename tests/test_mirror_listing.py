"""The mirror's listing as the remote script prints it (run here by bash, with the real find,
gzip and base64) and as qxub reads it back: compressed where gzip is found, plain where it is
not, the same entries either way; a damaged one is an error, never an empty mirror."""

from __future__ import annotations

import base64
import binascii
import gzip
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from qxub.errors import QxubError
from qxub.mirroring.remote_state import _entries, _fields
from qxub.remote.scripts import mirror_state_script

NAMES = ["a.txt", "sub/b.txt", "sub/deeper/c d.txt", "new\nline.txt"]


def mirror(root: Path) -> Path:
    for rel in NAMES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    (root / os.fsdecode(b"latin1-\xe9.txt")).write_text("l")
    (root / "link").symlink_to("a.txt")
    return root


def listed(root: Path, path: str | None = None) -> str:
    """The `entries=` field of the script's output, run by bash with PATH=`path`."""
    script = "\n".join(mirror_state_script(str(root), ".qxub-mirror", [], ["."]))
    env = {**os.environ, "PATH": path or os.environ["PATH"]}
    bash = shutil.which("bash")
    assert bash is not None
    done = subprocess.run([bash, "-c", script], capture_output=True, check=True, env=env)
    return _fields(done.stdout.decode(), big="entries")["entries"]


def without_gzip(tmp_path: Path) -> str:
    """A PATH with every tool the script uses but gzip."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("find", "base64", "tr", "xargs", "sh", "head", "cat"):
        found = shutil.which(tool)
        assert found is not None, tool
        (tools / tool).symlink_to(found)
    return str(tools)


def test_a_listing_is_compressed_where_gzip_is_and_reads_the_same_without(tmp_path: Path) -> None:
    root = mirror(tmp_path / "mirror")
    packed, plain = listed(root), listed(root, without_gzip(tmp_path))
    assert binascii.a2b_base64(packed).startswith(b"\x1f\x8b")
    assert not binascii.a2b_base64(plain).startswith(b"\x1f\x8b")
    entries = _entries(packed)
    assert entries == _entries(plain)
    expected = {*NAMES, "sub", "sub/deeper", "link", os.fsdecode(b"latin1-\xe9.txt")}
    assert set(entries) == expected
    assert entries["link"].kind == "link" and entries["sub"].kind == "dir"
    assert entries["a.txt"] == (5, int(os.lstat(root / "a.txt").st_mtime), "file")


def test_a_damaged_compressed_listing_is_an_error_not_an_empty_mirror() -> None:
    packed = gzip.compress(b"f 1 1700000000.0 ./a\0" * 100)
    damaged = base64.b64encode(packed[: len(packed) // 2]).decode()
    with pytest.raises(QxubError, match="damaged"):
        _entries(damaged)
