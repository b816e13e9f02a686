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
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qxub.errors import QxubError
from qxub.mirroring import remote_state
from qxub.mirroring.remote_state import ListingReader, _entries, _fields
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


# A listing's lines: kind, size, seconds (a fraction at times), name as find prints it.
_NAME = st.lists(
    st.sampled_from(
        [
            "a",
            "b c",
            "d\ne",
            "caf\xe9".encode("latin-1").decode("utf-8", "surrogateescape"),
            "\u00e9t\u00e9",
            ".qxub-part-1",
            ".qxub-mirror",
            "-x",
        ]
    ),
    min_size=1,
    max_size=3,
).map("/".join)
_LINE = st.tuples(
    st.sampled_from(["f", "l", "d", "p"]),
    st.integers(0, 10**12),
    st.integers(-(10**9), 4 * 10**9),
    st.sampled_from(["", ".5", ".0000000001"]),
    st.sampled_from(["./", "././", "./././"]),
    _NAME,
).map(lambda p: f"{p[0]} {p[1]} {p[2]}{p[3]} {p[4]}{p[5]}\0")


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(_LINE, max_size=60),
    packed=st.booleans(),
    marker=st.sampled_from(["", "marker=/home/me/proj on laptop \xe9\0"]),
    tools=st.sampled_from(["", "gnutar=1\0zstd=1\0"]),
    cuts=st.lists(st.integers(0, 5000), max_size=12),
)
def test_a_listing_read_as_it_arrives_is_the_listing_read_whole(
    lines: list[str], packed: bool, marker: str, tools: str, cuts: list[int]
) -> None:
    """Cut anywhere, in pieces as stdout brings them: the same entries as the field read
    whole, and read as it came (not read again whole at the end)."""
    text = "".join(lines).encode("utf-8", "surrogateescape")
    raw = gzip.compress(text, compresslevel=1) if packed else text
    field = base64.b64encode(raw).decode()
    stdout = f"\0state=ok\0{marker}entries={field}\0{tools}".encode("utf-8", "surrogateescape")
    reader = ListingReader()
    start = 0
    for cut in [*sorted({min(cut, len(stdout)) for cut in cuts}), len(stdout)]:
        reader.feed(stdout[start:cut])
        start = cut
    assert _fields(stdout.decode(errors="replace"), big="entries")["entries"] == field
    with mock.patch.object(remote_state, "_read", side_effect=AssertionError("read again")):
        found = reader.entries(field)
    assert found == _entries(field)


def test_a_damaged_listing_read_as_it_arrives_is_the_same_error() -> None:
    packed = gzip.compress(b"f 1 1700000000 ./a\0" * 1000)
    field = base64.b64encode(packed[: len(packed) // 2]).decode()
    reader = ListingReader()
    reader.feed(f"\0state=ok\0entries={field}\0".encode())
    with pytest.raises(QxubError, match="damaged"):
        reader.entries(field)


def test_what_was_not_fed_is_read_whole() -> None:
    field = base64.b64encode(b"f 1 1700000000 ./a\0").decode()
    assert ListingReader().entries(field) == {"a": (1, 1700000000, "file")}
    half = ListingReader()
    half.feed(f"\0state=ok\0entries={field[:8]}".encode())  # the rest never came
    assert half.entries(field) == {"a": (1, 1700000000, "file")}


def test_a_big_listing_read_as_it_arrives_in_pieces_bigger_than_it_reads_at_once() -> None:
    """Thousands of lines in two pieces of stdout: each is read a part at a time (a piece of
    a compressed listing unpacks to ten times its size), and the lines cut between the parts
    are read whole."""
    lines = [f"f {n} {1_700_000_000 + n} ././dir{n % 97}/file {n}.txt\0" for n in range(20_000)]
    field = base64.b64encode(gzip.compress("".join(lines).encode(), compresslevel=1)).decode()
    stdout = f"\0state=ok\0entries={field}\0".encode()
    reader = ListingReader()
    reader.feed(stdout[: len(stdout) // 3])
    reader.feed(stdout[len(stdout) // 3 :])
    with mock.patch.object(remote_state, "_read", side_effect=AssertionError("read again")):
        found = reader.entries(field)
    assert found == _entries(field)
    assert len(found) == 20_000 and found["dir5/file 5.txt"] == (5, 1_700_000_005, "file")
