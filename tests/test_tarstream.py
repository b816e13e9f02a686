"""The small push's tar stream (qxub/sync/tarstream.py), written without tarfile: read back
with Python's tarfile (here) and GNU tar (over the real sshd, tests/test_small_push.py), it
holds each name as its bytes, each file's contents and permission bits, each link's target,
and each modification time to the nanosecond, before 1970 too."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qxub.sync.tarstream import tar_stream

# Name parts: any byte but NUL and '/', so non-UTF-8 names, newlines and long names come up.
_PART = st.binary(min_size=1, max_size=120).filter(
    lambda b: b"\0" not in b and b"/" not in b and b not in (b".", b"..")
)
_NS = st.integers(min_value=-(2**33) * 10**9, max_value=2**34 * 10**9)


def _read(stream: bytes) -> dict[bytes, tuple[tarfile.TarInfo, bytes]]:
    """Each member by its name's bytes, with its contents."""
    assert len(stream) % 10240 == 0
    found = {}
    with tarfile.open(fileobj=io.BytesIO(stream), errors="surrogateescape") as tar:
        for member in tar.getmembers():
            handle = tar.extractfile(member) if member.isreg() else None
            found[os.fsencode(member.name)] = (member, handle.read() if handle else b"")
    return found


@settings(max_examples=60, deadline=None)
@given(
    files=st.dictionaries(
        st.lists(_PART, min_size=1, max_size=3).map(b"/".join),
        st.tuples(st.binary(max_size=2000), _NS, st.sampled_from([0o644, 0o755, 0o600, 0o4711])),
        min_size=1,
        max_size=5,
    ),
    link=st.tuples(_PART, st.binary(min_size=1, max_size=300).filter(lambda b: b"\0" not in b)),
)
def test_what_tarfile_reads_back_is_what_is_here(
    tmp_path_factory: pytest.TempPathFactory,
    files: dict[bytes, tuple[bytes, int, int]],
    link: tuple[bytes, bytes],
) -> None:
    root = tmp_path_factory.mktemp("tree")
    made: list[bytes] = []
    for rel, (data, ns, mode) in files.items():
        path = os.path.join(os.fsencode(root), rel)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(data)
            os.chmod(path, mode)
            os.utime(path, ns=(ns, ns))
        except (NotADirectoryError, IsADirectoryError, FileExistsError):
            continue  # a name that is another's folder: not both
        made.append(rel)
    name, target = link
    link_path = os.path.join(os.fsencode(root), b"L" + name)
    os.symlink(target, link_path)
    made.append(b"L" + name)

    stream = tar_stream(Path(root), [os.fsdecode(rel) for rel in made], under=".stage.x")
    found = _read(stream)

    folder, _ = found[b".stage.x"]
    assert folder.isdir() and folder.mode == 0o700
    assert set(found) == {b".stage.x", *(b".stage.x/" + rel for rel in made)}
    for rel in made:
        member, contents = found[b".stage.x/" + rel]
        info = os.lstat(os.path.join(os.fsencode(root), rel))
        exact = Decimal(member.pax_headers["mtime"])
        names = [rel, os.readlink(os.path.join(os.fsencode(root), rel)) if rel == made[-1] else b""]
        binary = any(_not_utf8(name) for name in names)
        assert member.pax_headers.get("hdrcharset") == ("BINARY" if binary else None)
        assert exact * 10**9 == info.st_mtime_ns
        if stat.S_ISLNK(info.st_mode):
            assert member.issym()
            assert os.fsencode(member.linkname) == os.readlink(os.path.join(os.fsencode(root), rel))
        else:
            assert member.isreg()
            assert contents == files[rel][0]
            assert member.mode == stat.S_IMODE(info.st_mode)


def _not_utf8(name: bytes) -> bool:
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def test_a_folder_or_a_vanished_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    with pytest.raises(OSError, match="no longer a file or a link"):
        tar_stream(tmp_path, ["folder"])
    with pytest.raises(FileNotFoundError):
        tar_stream(tmp_path, ["gone.txt"])


def test_a_stream_without_a_folder_holds_the_names_as_they_are(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"a")
    found = _read(tar_stream(tmp_path, ["a.txt"]))
    assert list(found) == [b"a.txt"]
    assert found[b"a.txt"][1] == b"a"
