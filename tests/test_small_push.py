"""The small push (qxub/mirroring/small_push.py, qxub/remote/delta.py): a few changed files
checked and sent in one remote command as a tar stream, over the real sshd with OpenSSH and
rsync. Every name the file system allows, links, execute bits, permission bits kept as rsync
-E keeps them, nanosecond times, files replaced by rename (a hard link keeps the old
contents), the check's refusals leaving the mirror untouched, no staging folder left."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from qxub.cli.configured import cli_config
from qxub.mirroring.place import owner_prefix
from qxub.mirroring.push import Pusher
from qxub.mirroring.remote_state import mirror_state
from qxub.mirroring.small_push import MOST_BYTES, NotSent, Refused, small_push
from qxub.remote.config import find_remote
from qxub.sync import MARKER
from qxub.sync.engine import Transfer
from qxub.sync.manifest import Entry, entry, load_manifest

from helpers import qxub
from remotes import mirror

pytestmark = [pytest.mark.sshd]


@pytest.fixture
def project(remote: str) -> Path:
    root = Path.cwd()
    (root / "run.py").write_text("print('v1')\n")
    assert qxub("remote", "push", "R").returncode == 0
    return root


def send(*rels: str, base: dict[str, Entry] | None = None) -> Transfer:
    """small_push of `rels` as they are here, against the record (or `base`)."""
    remote = find_remote(cli_config(), "R")
    pusher = Pusher(remote, Path.cwd(), None)
    here = {}
    for rel in rels:
        found = entry(pusher.root / rel)
        assert found is not None
        here[rel] = found
    if base is None:
        base = load_manifest("R", pusher.root).synced
    return small_push(
        remote,
        pusher.ctx.transport,
        pusher.root,
        pusher.path,
        owner_prefix(pusher.root),
        here,
        base,
    )


def no_staging_left(remote_home: Path) -> None:
    left = [p for p in mirror(remote_home).rglob("*") if ".qxub-part" in p.name]
    assert left == []


def later(path: Path, text: str) -> None:
    """A job's write there: other contents and a time a few seconds on."""
    path.write_text(text)
    ahead = time.time() + 5
    os.utime(path, (ahead, ahead))


def test_every_name_links_modes_and_nanosecond_times(project: Path, remote_home: Path) -> None:
    names = ["caf\udce9.txt", "new\nline.txt", "-dash.txt", "deep/new folder/x.py", "run.sh"]
    for i, name in enumerate(names):
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"contents %d\n" % i)
        os.utime(path, ns=(1_700_000_000_123_456_789 + i, 1_700_000_000_123_456_789 + i))
    os.utime(project / "-dash.txt", ns=(-315_619_199_876_543_211,) * 2)  # 1960, to the ns
    (project / "run.sh").chmod(0o755)
    (project / "link").symlink_to("deep/new folder/x.py")
    done = send(*names, "link", base={})
    assert sorted(rel for rel, _ in done.sent) == sorted([*names, "link"])
    there = mirror(remote_home)
    for name in names:
        here_info, there_info = os.lstat(project / name), os.lstat(there / name)
        assert (there / name).read_bytes() == (project / name).read_bytes()
        assert there_info.st_mtime_ns == here_info.st_mtime_ns
    assert os.lstat(there / "run.sh").st_mode & 0o111 == 0o111
    assert os.lstat(there / "caf\udce9.txt").st_mode & 0o111 == 0
    assert os.readlink(there / "link") == "deep/new folder/x.py"
    assert os.lstat(there / "link").st_mtime_ns == os.lstat(project / "link").st_mtime_ns
    no_staging_left(remote_home)


def test_a_replaced_file_keeps_its_permission_bits_there(project: Path, remote_home: Path) -> None:
    there = mirror(remote_home) / "run.py"
    there.chmod(0o640)  # its time and size stay: as the record says
    (project / "run.py").write_text("print('v2')\n")
    (project / "run.py").chmod(0o755)
    send("run.py")
    assert stat.S_IMODE(os.lstat(there).st_mode) == 0o750  # +x where it can be read
    assert there.read_text() == "print('v2')\n"
    record = load_manifest("R", project).synced
    record["run.py"] = entry(project / "run.py")  # type: ignore[assignment]
    (project / "run.py").write_text("print('v3')\n")
    (project / "run.py").chmod(0o644)
    send("run.py", base=record)
    assert stat.S_IMODE(os.lstat(there).st_mode) == 0o640


def test_a_file_is_replaced_by_rename_so_a_hard_link_keeps_the_old_contents(
    project: Path, remote_home: Path, tmp_path: Path
) -> None:
    there = mirror(remote_home) / "run.py"
    snapshot = tmp_path / "snapshot-run.py"
    os.link(there, snapshot)
    (project / "run.py").write_text("print('v2')\n")
    send("run.py")
    assert there.read_text() == "print('v2')\n"
    assert snapshot.read_text() == "print('v1')\n"


def test_a_file_a_job_changed_there_is_refused_and_nothing_is_written(
    project: Path, remote_home: Path
) -> None:
    (project / "new.txt").write_text("new here\n")
    (project / "run.py").write_text("print('v2')\n")
    later(mirror(remote_home) / "run.py", "the job's\n")
    with pytest.raises(Refused, match="changed there"):
        send("new.txt", "run.py")
    assert (mirror(remote_home) / "run.py").read_text() == "the job's\n"
    assert not (mirror(remote_home) / "new.txt").exists()
    no_staging_left(remote_home)


def test_a_mirror_claimed_by_another_project_is_refused(project: Path, remote_home: Path) -> None:
    (mirror(remote_home) / MARKER).write_text('{"project": "/elsewhere", "host": "other"}\n')
    (project / "run.py").write_text("print('v2')\n")
    with pytest.raises(Refused, match="marker"):
        send("run.py")
    assert (mirror(remote_home) / "run.py").read_text() == "print('v1')\n"


def test_a_large_delta_is_not_sent_this_way(project: Path, remote_home: Path) -> None:
    (project / "big.bin").write_bytes(b"x" * (MOST_BYTES + 1))
    with pytest.raises(NotSent):
        send("big.bin", base={})
    assert not (mirror(remote_home) / "big.bin").exists()


def test_one_file_pushes_and_a_large_one_land_as_rsync_would(
    project: Path, remote_home: Path
) -> None:
    for text in ("print('v2')\n", "print('v3')\n"):
        (project / "run.py").write_text(text)
        result = qxub("remote", "push", "R", "-v")
        assert result.returncode == 0, result.stderr
        assert "sent run.py" in result.stderr
        there = mirror(remote_home) / "run.py"
        assert there.read_text() == text
        assert os.lstat(there).st_mtime_ns == os.lstat(project / "run.py").st_mtime_ns
    (project / "big.bin").write_bytes(os.urandom(MOST_BYTES + 1))
    assert qxub("remote", "push", "R").returncode == 0
    assert (mirror(remote_home) / "big.bin").read_bytes() == (project / "big.bin").read_bytes()
    assert qxub("remote", "push", "R", "--full", "-v").stderr.count("sent ") == 0
    no_staging_left(remote_home)


def test_a_staging_folder_left_by_a_killed_push_is_not_the_mirrors(
    project: Path, remote_home: Path
) -> None:
    left = mirror(remote_home) / ".qxub-part-stage.abc123" / "deep"
    left.mkdir(parents=True)
    (left / "x.py").write_text("half\n")
    remote = find_remote(cli_config(), "R")
    pusher = Pusher(remote, Path.cwd(), None)
    state = mirror_state(remote, pusher.ctx.transport, pusher.path, under=["."])
    assert "run.py" in state.entries
    assert [name for name in state.entries if ".qxub-part" in name] == []


def test_a_staging_name_already_there_is_left_alone_and_nothing_is_sent(
    project: Path, remote_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The staging folder's name is drawn here and made by the tar stream there: should
    that name stand there already (a job's, however unlikely), the push leaves it and its
    contents as they are, writes nothing, and says it was not sent (sent another way)."""
    monkeypatch.setattr(os, "urandom", lambda n: b"\x07" * n)
    taken = mirror(remote_home) / f".qxub-part-stage.{'07' * 8}"
    taken.mkdir()
    (taken / "run.py").write_text("someone's\n")
    (project / "run.py").write_text("print('v2')\n")
    with pytest.raises(NotSent):
        send("run.py")
    assert (taken / "run.py").read_text() == "someone's\n"
    assert (mirror(remote_home) / "run.py").read_text() == "print('v1')\n"
