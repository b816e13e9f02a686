"""A first push into an empty mirror as one tar stream (qxub/mirroring/stream.py), over the
real sshd with OpenSSH and with paramiko (remotes.py), and over the built-in `local` remote:
every name the file system allows, links as links, times and execute bits as rsync -a keeps
them, so that the next push, even `--full`, finds nothing to send; files a job writes later
are never overwritten; an interrupted stream never leaves a file half-written there."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from qxub.mirroring.remote_state import _entries
from qxub.mirroring.stream import STAGE, STREAM_AT_LEAST, gnu_tar_here, stream_push
from qxub.remote.local import LocalTransport

from helpers import qxub
from remotes import mirror

pytestmark = [pytest.mark.sshd, pytest.mark.both_transports]

WEIRD = [
    "new\nline.txt",
    "back\\slash",
    "back\\nslash",
    "tab\there",
    "-dash.txt",
    "--option-like",
    "space at end ",
    "a b.txt",
    "$(touch pwned)",
    "'quote\"",
    "*star?",
    "ünïcödé.txt",
    "x" * 255,
]
RAW = [b"latin1-\xe9.txt", b"\xff\xfe" + b"n" * 200]


def make_project(root: Path) -> list[str]:
    """A project with more files than a stream needs, every kind of name among them."""
    names = [f"pkg/mod{i:02d}.py" for i in range(STREAM_AT_LEAST)]
    names += WEIRD + [os.fsdecode(raw) for raw in RAW] + ["-dir/ lead space", "deep/a/b/c.txt"]
    for rel in names:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.fsencode(rel) + b"\n")
    (root / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o755)
    os.utime(root / "pkg" / "mod00.py", (1_000_000_000, 1_000_000_000))
    (root / "inside").symlink_to("run.sh")
    (root / "outside").symlink_to("/etc/hostname")
    os.utime(root / "inside", (1_100_000_000, 1_100_000_000), follow_symlinks=False)
    (root / "hard").write_text("one file\n")
    os.link(root / "hard", root / "hard2")
    return [*names, "run.sh", "inside", "outside", "hard", "hard2"]


def assert_same(root: Path, there: Path, names: list[str]) -> None:
    """Each name there as it is here: content or link target, execute bit, second."""
    for rel in names:
        here, copy = os.lstat(root / rel), os.lstat(there / rel)
        assert stat.S_IFMT(here.st_mode) == stat.S_IFMT(copy.st_mode), rel
        if stat.S_ISLNK(here.st_mode):
            assert os.readlink(there / rel) == os.readlink(root / rel), rel
        else:
            assert (there / rel).read_bytes() == (root / rel).read_bytes(), rel
            assert bool(copy.st_mode & 0o100) == bool(here.st_mode & 0o100), rel
        assert int(copy.st_mtime) == int(here.st_mtime), rel
        assert copy.st_size == here.st_size, rel


def test_first_push_streams_every_name_and_the_next_full_push_sends_nothing(
    remote: str, remote_home: Path
) -> None:
    root = Path.cwd()
    names = make_project(root)
    first = qxub("remote", "push", "R", "-v")
    assert first.returncode == 0, first.stderr
    assert f"as one stream: {len(names)} files" in first.stderr
    assert f"pushed {len(names)} files" in first.stderr
    there = mirror(remote_home)
    assert_same(root, there, names)
    assert not (there / "hard").samefile(there / "hard2")  # as rsync without -H
    assert not (there / STAGE).exists()
    assert not (root / "pwned").exists() and not (there / "pwned").exists()
    full = qxub("remote", "push", "R", "--full", "-v")
    assert full.returncode == 0, full.stderr
    assert "up to date" in full.stderr and "sent " not in full.stderr, full.stderr
    assert "up to date" in qxub("remote", "push", "R").stderr


def test_a_job_written_file_is_never_overwritten_by_a_full_push(
    remote: str, remote_home: Path
) -> None:
    root = Path.cwd()
    make_project(root)
    assert qxub("remote", "push", "R").returncode == 0
    there = mirror(remote_home)
    (there / "pkg" / "mod01.py").write_text("the job's output\n")  # changed there only
    (there / "pkg" / "mod02.py").write_text("the job's too\n")
    (root / "pkg" / "mod02.py").write_text("edited here\n")  # changed at both ends
    (there / "results.txt").write_text("new there\n")
    (there / "pkg" / "mod03.py").unlink()  # lost there: sent again
    full = qxub("remote", "push", "R", "--full", "-v")
    assert full.returncode == 1, full.stderr
    assert (there / "pkg" / "mod01.py").read_text() == "the job's output\n"
    assert (there / "pkg" / "mod02.py").read_text() == "the job's too\n"
    assert (there / "results.txt").read_text() == "new there\n"
    assert (there / "pkg" / "mod03.py").read_text() == "pkg/mod03.py\n"
    assert "changed on R since the last sync: pkg/mod01.py" in full.stderr
    assert "pkg/mod02.py" in full.stderr and "--force" in full.stderr
    assert "as one stream" not in full.stderr  # the mirror is not empty


def test_a_stream_a_killed_push_left_is_removed_and_never_read_as_files(
    remote: str, remote_home: Path
) -> None:
    root = Path.cwd()
    names = make_project(root)
    # The mirror claimed, then a stream killed midway: half a file in the temporary folder.
    there = mirror(remote_home)
    there.mkdir(parents=True)
    (there / ".qxub-mirror").write_text("")
    (there / STAGE / "pkg").mkdir(parents=True)
    (there / STAGE / "pkg" / "mod00.py").write_text("half")
    first = qxub("remote", "push", "R", "-v")
    assert first.returncode == 0, first.stderr
    assert "as one stream" in first.stderr
    assert not (there / STAGE).exists()
    assert_same(root, there, names)


def test_parse_of_a_listing_leaves_out_qxubs_own_files() -> None:
    import base64

    lines = [
        b"f 3 1700000000.5 ./a b",
        b"f 1 1700000000.0 ./latin1-\xe9.txt",
        b"l 6 1600000000.25 ./link",
        b"d 4096 1700000000.0 ./dir",
        b"f 0 1700000000.0 ./.qxub-mirror",
        b"f 9 1700000000.0 ./dir/.qxub-part-0123",
        b"f 9 1700000000.0 ./.qxub-part-stream/dir/x",
        b"d 4096 1700000000.0 ./.qxub-part-stream",
        b"f 2 1700000000.0 ./new\nline",
        b"p 0 1700000000.0 ./fifo f 1 1 ./not-an-entry",
        b"f 5 -1.5 ./before-1970",
    ]
    found = _entries(base64.b64encode(b"\0".join(lines) + b"\0").decode())
    assert found == {
        "a b": (3, 1700000000, "file"),
        os.fsdecode(b"latin1-\xe9.txt"): (1, 1700000000, "file"),
        "link": (6, 1600000000, "link"),
        "dir": (4096, 1700000000, "dir"),
        "new\nline": (2, 1700000000, "file"),
        "before-1970": (5, -1, "file"),
    }


def test_what_stood_in_the_way_is_left_and_said(tmp_path: Path) -> None:
    """Something written into the mirror while the stream ran (a folder of the same name):
    the entry is not moved in, the rest is, and the caller is told to look again."""
    tar = gnu_tar_here()
    assert tar is not None
    root, there = tmp_path / "here", tmp_path / "there"
    (root / "a").mkdir(parents=True)
    (root / "a" / "x").write_text("x")
    (root / "b").write_text("b")
    (root / "gone").write_text("g")
    (there / "a").mkdir(parents=True)
    (there / "a" / "job.out").write_text("job")
    files = ["a/x", "b"]
    done = stream_push(LocalTransport(), str(there), tar, str(root), files, [1, 1], compress=False)
    assert not done.landed and "meanwhile" in " ".join(done.trouble)
    assert (there / "b").read_text() == "b"
    assert not (there / "a" / "x").exists() and (there / "a" / "job.out").exists()
    assert not (there / STAGE).exists()
    # A file gone since it was chosen: the rest lands, and the caller is told to look again.
    (tmp_path / "t2").mkdir()
    gone = stream_push(
        LocalTransport(), str(tmp_path / "t2"), tar, str(root), ["b", "x"], [1, 1], compress=True
    )
    assert not gone.landed and "x" in " ".join(gone.trouble)
    assert (tmp_path / "t2" / "b").read_text() == "b"
