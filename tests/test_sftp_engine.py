"""The SFTP sync engine over the real sshd: what the shared sync suite (test_sync.py, run with
it too) cannot see from the command line. The mirror is on this machine, so the tests look at
it directly."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qxub.errors import QxubError
from qxub.mirroring.engines import engine_choice
from qxub.remote.config import Remote
from qxub.remote.paramiko import connect as paramiko_connect
from qxub.remote.sftp.files import SftpFiles, paramiko_files
from qxub.remote.target import SshError, SshTarget
from qxub.sync import sftp_push
from qxub.sync.sftp import PART, SftpEngine
from qxub.sync.sftp_push import part_name

import children
from helpers import QXUB, qxub
from remotes import remote_settings, write_config
from sshd_server import SshServer

pytestmark = pytest.mark.sshd


@pytest.fixture
def files(sshd: SshServer) -> Iterator[SftpFiles]:
    target = SshTarget(sshd.host, sshd.user, sshd.port, str(sshd.ssh_config))
    opened = paramiko_files(target)
    yield opened
    opened.close()
    paramiko_connect._close_all()
    paramiko_connect._CONNECTIONS.clear()


@pytest.fixture
def engine(files: SftpFiles) -> SftpEngine:
    return SftpEngine(files, files.where)


@pytest.fixture
def here(tmp_path: Path) -> Path:
    root = tmp_path / "here"
    root.mkdir()
    return root


@pytest.fixture
def there(tmp_path: Path) -> Path:
    return tmp_path / "there"


def test_times_execute_bits_and_links(engine: SftpEngine, here: Path, there: Path) -> None:
    (here / "run.sh").write_text("#!/bin/sh\n")
    (here / "run.sh").chmod(0o755)
    (here / "data.txt").write_text("d")
    (here / "data.txt").chmod(0o640)
    os.utime(here / "data.txt", (1_000_000_000, 1_000_000_000))
    (here / "deep" / "er").mkdir(parents=True)
    (here / "deep" / "er" / "link").symlink_to("../../run.sh")
    names = ["data.txt", "deep/er/link", "run.sh"]
    transfer = engine.push(here, names, [], str(there))
    assert sorted(rel for rel, _ in transfer.sent) == names
    assert (there / "run.sh").stat().st_mode & 0o777 == 0o755
    assert (there / "data.txt").stat().st_mode & 0o777 == 0o640
    assert (there / "data.txt").stat().st_mtime == 1_000_000_000
    assert os.readlink(there / "deep" / "er" / "link") == "../../run.sh"
    (here / "run.sh").chmod(0o644)  # same size and time: only the execute bits change
    assert engine.push(here, names, [], str(there)).sent == []
    assert (there / "run.sh").stat().st_mode & 0o777 == 0o644
    (there / "out").mkdir()
    (there / "out" / "x").write_text("job output")
    fetched = engine.fetch(str(there), ["out/x", "data.txt"], here)
    assert sorted(rel for rel, _ in fetched.sent) == ["data.txt", "out/x"]
    assert (here / "out" / "x").read_text() == "job output"
    assert (here / "data.txt").stat().st_mtime == 1_000_000_000


def test_unchanged_files_are_not_read(
    engine: SftpEngine, here: Path, there: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (here / "a.txt").write_text("one")
    engine.push(here, ["a.txt"], [], str(there))
    stamp = (here / "a.txt").stat()
    (here / "a.txt").write_text("two")  # same size; the time put back
    os.utime(here / "a.txt", ns=(stamp.st_atime_ns, stamp.st_mtime_ns))

    def no_reading(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an unchanged file was opened")

    monkeypatch.setattr(sftp_push, "open", no_reading, raising=False)
    assert engine.push(here, ["a.txt"], [], str(there)).sent == []
    monkeypatch.undo()
    forced = engine.push(here, ["a.txt"], [], str(there), force_times=True)
    assert forced.sent == [("a.txt", 3)] and (there / "a.txt").read_text() == "two"


def test_large_files_stream_both_ways(engine: SftpEngine, here: Path, there: Path) -> None:
    data = os.urandom(9 * 1024 * 1024 + 7)
    (here / "big.bin").write_bytes(data)
    engine.push(here, ["big.bin"], [], str(there))
    assert (
        hashlib.sha256((there / "big.bin").read_bytes()).digest() == hashlib.sha256(data).digest()
    )
    (here / "big.bin").unlink()
    engine.fetch(str(there), ["big.bin"], here)
    assert (here / "big.bin").read_bytes() == data


def test_an_interrupted_send_leaves_the_old_file_whole(
    engine: SftpEngine, here: Path, there: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (here / "f.bin").write_bytes(b"old" * 100_000)
    engine.push(here, ["f.bin"], [], str(there))
    (here / "f.bin").write_bytes(b"new" * 200_000)

    class Breaks:
        def __init__(self, *args: Any) -> None:
            self.reads = 0

        def __enter__(self) -> Breaks:
            return self

        def __exit__(self, *args: Any) -> None:
            pass

        def read(self, size: int) -> bytes:
            self.reads += 1
            if self.reads > 1:
                raise KeyboardInterrupt
            return b"new" * (size // 3)

    monkeypatch.setattr(sftp_push, "open", Breaks, raising=False)
    with pytest.raises(KeyboardInterrupt):
        engine.push(here, ["f.bin"], [], str(there))
    assert (there / "f.bin").read_bytes() == b"old" * 100_000
    assert set(os.listdir(there)) <= {"f.bin", part_name("f.bin")}
    monkeypatch.undo()
    engine.push(here, ["f.bin"], [], str(there))
    assert (there / "f.bin").read_bytes() == b"new" * 200_000
    assert os.listdir(there) == ["f.bin"]  # the temporary name was reused


def test_a_killed_push_leaves_no_partial_file(
    remote: str, sshd: SshServer, remote_home: Path
) -> None:
    write_config(
        {"R": remote_settings(sshd, remote_home, transport="paramiko", sync_engine="sftp")}
    )
    big = Path.cwd() / "big.bin"
    with open(big, "wb") as handle:
        handle.truncate(512 * 1024 * 1024)
    mirror = remote_home / "scratch" / "proj"
    push = children.popen([*QXUB, "remote", "push", "R", "-q"], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not (mirror.is_dir() and any(n.startswith(PART) for n in os.listdir(mirror))):
        assert push.poll() is None, "the push ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    push.send_signal(signal.SIGKILL)
    push.wait()
    assert not (mirror / "big.bin").exists()
    big.unlink()
    big.write_bytes(b"small now")
    assert qxub("remote", "push", "R").returncode == 0
    assert (mirror / "big.bin").read_bytes() == b"small now"
    assert not any(n.startswith(PART) for n in os.listdir(mirror))  # the leftover was reused


def test_the_session_comes_back_after_the_server_does(
    files: SftpFiles, sshd: SshServer, there: Path
) -> None:
    there.mkdir()
    assert files.stat(str(there)) is not None
    sshd.stop()
    with pytest.raises(SshError) as caught:
        files.stat(str(there))
    assert caught.value.kind in ("closed", "unreachable")
    sshd.start()
    assert files.stat(str(there)) is not None  # a watch's next push works again


def test_a_missing_pull_path_is_named(engine: SftpEngine, here: Path, there: Path) -> None:
    there.mkdir()
    with pytest.raises(QxubError) as caught:
        engine.plan_pull(here, ["results/"], str(there))
    assert "results is not in the mirror" in caught.value.message


def test_sftp_over_the_openssh_master(remote: str, sshd: SshServer, remote_home: Path) -> None:
    settings = remote_settings(sshd, remote_home, transport="openssh", sync_engine="sftp")
    write_config({"R": settings})
    (Path.cwd() / "a.py").write_text("a")
    data = os.urandom(5 * 1024 * 1024)  # more writes in flight than paramiko lets wait
    (Path.cwd() / "big.bin").write_bytes(data)
    pushed = qxub("remote", "push", "R")
    assert pushed.returncode == 0, pushed.stderr
    mirror = remote_home / "scratch" / "proj"
    assert (mirror / "a.py").read_text() == "a" and (mirror / "big.bin").read_bytes() == data
    (mirror / "out.txt").write_text("o")
    assert qxub("remote", "pull", "R", "out.txt").returncode == 0
    assert (Path.cwd() / "out.txt").read_text() == "o"


def test_engine_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    target = SshTarget("h")
    remote = Remote(name="g", target=target, working_dir="/w")
    for module in ("qxub.mirroring.engines", "qxub.remote.reach"):  # what each finds on PATH
        monkeypatch.setattr(f"{module}.which", lambda name: f"/usr/bin/{name}")
    assert engine_choice(remote, None)[0] == "rsync"
    assert engine_choice(remote, True)[0] == "rsync"
    assert engine_choice(remote, False) == ("sftp", "auto: no rsync on g")
    assert engine_choice(Remote("g", target, "/w", sync_engine="sftp"), True)[0] == "sftp"
    assert engine_choice(Remote("g", target, "/w", transport="paramiko"), True)[0] == "sftp"
    assert engine_choice(Remote("local", None, "/w"), False)[0] == "rsync"
    for module in ("qxub.mirroring.engines", "qxub.remote.reach"):
        monkeypatch.setattr(f"{module}.which", lambda name: None if name == "rsync" else "/x")
    assert engine_choice(remote, True) == ("sftp", "auto: no rsync on this machine")
