"""The three-way rule over the real sshd, with both engine pairs: each case where a push, a
pull or a watch lost a job's output or a local edit, a stuck state or a crash, reproduced as a
new user would meet it (issue 12), and what qxub does now."""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path

import pytest

from qxub.sync.manifest import load_manifest, manifest_path

import children
from helpers import QXUB, assert_one_line_error, qxub
from remotes import mirror

pytestmark = [pytest.mark.sshd, pytest.mark.both_transports]


@pytest.fixture
def project(remote: str) -> Path:
    root = Path.cwd()
    (root / "run.py").write_text("print('v1')\n")
    return root


def later(path: Path, text: str) -> None:
    """Write `text` with an mtime a few seconds on (a job writing later than the last sync)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    ahead = time.time() + 5
    os.utime(path, (ahead, ahead))


def test_a_pulled_file_a_job_rewrote_is_not_sent_back(project: Path, remote_home: Path) -> None:
    assert qxub("remote", "push", "R").returncode == 0
    later(mirror(remote_home) / "results" / "out.txt", "first output\n")
    assert qxub("remote", "pull", "R", "results/").returncode == 0
    later(mirror(remote_home) / "results" / "out.txt", "newer output, written later\n")
    (project / "run.py").write_text("print('v2')\n")
    for extra in ([], ["--full"]):
        result = qxub("remote", "push", "R", *extra)
        assert result.returncode == 0, result.stderr
        there = mirror(remote_home) / "results" / "out.txt"
        assert there.read_text() == "newer output, written later\n"
    assert (mirror(remote_home) / "run.py").read_text() == "print('v2')\n"


def test_deleting_pulled_results_here_keeps_them_there(project: Path, remote_home: Path) -> None:
    assert qxub("remote", "push", "R").returncode == 0
    later(mirror(remote_home) / "results" / "out.txt", "job output\n")
    assert qxub("remote", "pull", "R", "results/").returncode == 0
    assert qxub("remote", "push", "R").returncode == 0
    (project / "results" / "out.txt").unlink()
    (project / "results").rmdir()
    result = qxub("remote", "push", "R")
    assert result.returncode == 0, result.stderr
    assert (mirror(remote_home) / "results" / "out.txt").read_text() == "job output\n"


def test_a_file_changed_there_is_a_conflict_never_overwritten(
    project: Path, remote_home: Path
) -> None:
    (project / "notes.txt").write_text("mine\n")
    (project / "gone.txt").write_text("mine\n")
    assert qxub("remote", "push", "R").returncode == 0
    later(mirror(remote_home) / "notes.txt", "the job's\n")
    later(mirror(remote_home) / "gone.txt", "the job's too\n")
    (project / "notes.txt").write_text("my edit\n")
    (project / "gone.txt").unlink()
    (project / "run.py").write_text("print('v2')\n")
    result = qxub("remote", "push", "R")
    assert result.returncode == 1, result.stderr
    assert "notes.txt" in result.stderr and "gone.txt" in result.stderr
    assert "qxub remote pull R" in result.stderr and "--force" in result.stderr
    assert "--keep-local" in result.stderr
    assert (mirror(remote_home) / "notes.txt").read_text() == "the job's\n"
    assert (mirror(remote_home) / "gone.txt").read_text() == "the job's too\n"
    assert (mirror(remote_home) / "run.py").read_text() == "print('v2')\n"  # the rest went on
    forced = qxub("remote", "push", "R", "--force")
    assert forced.returncode == 0, forced.stderr
    assert (mirror(remote_home) / "notes.txt").read_text() == "my edit\n"
    assert not (mirror(remote_home) / "gone.txt").exists()


@pytest.mark.parametrize("also_new", [False, True])
def test_an_edit_here_and_there_is_a_conflict(
    project: Path, remote_home: Path, also_new: bool
) -> None:
    """Edits only (no deletion): the check rides in the command that starts rsync there."""
    (project / "notes.txt").write_text("mine\n")
    assert qxub("remote", "push", "R").returncode == 0
    later(mirror(remote_home) / "notes.txt", "the job's\n")
    (project / "notes.txt").write_text("my edit\n")
    if also_new:
        (project / "new.txt").write_text("new\n")
    result = qxub("remote", "push", "R")
    assert result.returncode == 1, result.stderr
    assert "not sent: notes.txt changed on R" in result.stderr
    assert (mirror(remote_home) / "notes.txt").read_text() == "the job's\n"
    assert (mirror(remote_home) / "new.txt").exists() == also_new


def test_dry_run_shows_the_conflict_and_changes_nothing(project: Path, remote_home: Path) -> None:
    assert qxub("remote", "push", "R").returncode == 0
    later(mirror(remote_home) / "run.py", "the job's\n")
    (project / "run.py").write_text("print('v2')\n")
    result = qxub("remote", "push", "R", "--dry-run")
    assert "send    run.py" not in result.stdout and "run.py" in result.stderr
    assert (mirror(remote_home) / "run.py").read_text() == "the job's\n"


def test_a_purged_mirror_claimed_by_another_project_is_refused(
    project: Path, remote_home: Path, tmp_path: Path
) -> None:
    (project / "a.txt").write_text("A\n")
    assert qxub("remote", "push", "R").returncode == 0
    children.run(["rm", "-rf", str(mirror(remote_home))], check=True)
    other = tmp_path / "elsewhere" / project.name
    (other / ".git").mkdir(parents=True)
    (other / "b.txt").write_text("B\n")
    assert qxub("remote", "push", "R", cwd=other).returncode == 0
    before = sorted(p.name for p in mirror(remote_home).iterdir())
    (project / "c.txt").write_text("C\n")  # sent with its check in rsync's command
    result = qxub("remote", "push", "R")
    assert_one_line_error(result)
    assert "another project" in result.stderr
    assert sorted(p.name for p in mirror(remote_home).iterdir()) == before
    (project / "a.txt").unlink()  # a deletion: the mirror is looked at first
    result = qxub("remote", "push", "R")
    assert_one_line_error(result)
    assert sorted(p.name for p in mirror(remote_home).iterdir()) == before


def test_a_purged_mirror_is_pushed_again_whole(project: Path, remote_home: Path) -> None:
    (project / "a.txt").write_text("A\n")
    assert qxub("remote", "push", "R").returncode == 0
    children.run(["rm", "-rf", str(mirror(remote_home))], check=True)
    (project / "a.txt").write_text("A2\n")
    assert qxub("remote", "push", "R").returncode == 0
    assert (mirror(remote_home) / "a.txt").read_text() == "A2\n"
    assert (mirror(remote_home) / ".qxub-mirror").stat().st_size > 0
    assert qxub("remote", "push", "R", "--full").returncode == 0
    assert (mirror(remote_home) / "run.py").exists()


def test_an_empty_marker_is_claimed_again(project: Path, remote_home: Path) -> None:
    mirror(remote_home).mkdir(parents=True)
    (mirror(remote_home) / ".qxub-mirror").write_text("")  # a first push onto a full disk
    result = qxub("remote", "push", "R")
    assert result.returncode == 0, result.stderr
    assert str(project) in (mirror(remote_home) / ".qxub-mirror").read_text()


def test_a_pull_never_writes_through_a_local_symlink(
    project: Path, remote_home: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    assert qxub("remote", "push", "R").returncode == 0
    later(mirror(remote_home) / "results" / "a.txt", "job\n")
    (project / "results").symlink_to(outside)
    (mirror(remote_home) / "link").symlink_to("/etc")
    result = qxub("remote", "pull", "R", "results/", "link")
    assert result.returncode == 1
    assert "results is a symlink here; a pull never writes through it" in result.stderr
    assert (project / "results").is_symlink() and list(outside.iterdir()) == []
    assert os.readlink(project / "link") == "/etc"  # a remote link comes as a link
    # The fix it names is one that works: --force does not, --keep-local leaves it (exit 0).
    assert "even with --force: move it out of the way" in result.stderr
    assert "with --force" not in result.stderr.replace("even with --force", "")
    forced = qxub("remote", "pull", "R", "results/", "--force")
    assert forced.returncode == 1 and list(outside.iterdir()) == []
    kept = qxub("remote", "pull", "R", "results/", "--keep-local")
    assert kept.returncode == 0, kept.stderr
    assert "skipped results/a.txt: results is a symlink here" in kept.stderr
    assert (project / "results").is_symlink() and list(outside.iterdir()) == []
    (project / "results").unlink()  # moved out of the way: the pull goes through
    assert qxub("remote", "pull", "R", "results/").returncode == 0
    assert (project / "results" / "a.txt").read_text() == "job\n"


@pytest.mark.parametrize("swap", ["folder-to-file", "file-to-folder"])
def test_folder_and_file_swaps(project: Path, remote_home: Path, swap: str) -> None:
    if swap == "folder-to-file":
        (project / "pkg").mkdir()
        (project / "pkg" / "mod.py").write_text("m\n")
    else:
        (project / "pkg").write_text("a file\n")
    assert qxub("remote", "push", "R").returncode == 0
    if swap == "folder-to-file":
        (project / "pkg" / "mod.py").unlink()
        (project / "pkg").rmdir()
        (project / "pkg").write_text("now a file\n")
    else:
        (project / "pkg").unlink()
        (project / "pkg").mkdir()
        (project / "pkg" / "mod.py").write_text("now in a folder\n")
    result = qxub("remote", "push", "R")
    assert result.returncode == 0, result.stderr
    if swap == "folder-to-file":
        assert (mirror(remote_home) / "pkg").read_text() == "now a file\n"
    else:
        assert (mirror(remote_home) / "pkg" / "mod.py").read_text() == "now in a folder\n"
    assert qxub("remote", "push", "R").returncode == 0


def test_a_folder_with_a_name_that_is_not_utf8(project: Path, remote_home: Path) -> None:
    folder = project / os.fsdecode(b"d\xe9j\xe0")
    folder.mkdir()
    (folder / "f.txt").write_text("f\n")
    assert qxub("remote", "push", "R").returncode == 0
    assert (mirror(remote_home) / folder.name / "f.txt").exists()
    (folder / "f.txt").unlink()
    folder.rmdir()
    result = qxub("remote", "push", "R")
    assert result.returncode == 0, result.stderr
    assert not (mirror(remote_home) / folder.name).exists()
    assert qxub("remote", "push", "R").returncode == 0


def test_a_conflict_on_a_255_byte_name_gets_a_shortened_copy(
    project: Path, remote_home: Path
) -> None:
    name = "n" * 251 + ".txt"
    (project / name).write_text("v1\n")
    assert qxub("remote", "push", "R").returncode == 0
    (project / name).write_text("mine\n")
    later(mirror(remote_home) / name, "the job's\n")
    result = qxub("remote", "pull", "R", name)
    assert result.returncode == 1, result.stderr
    assert "shortened" in result.stderr
    copies = [p for p in project.iterdir() if p.name.endswith(".from-R")]
    assert len(copies) == 1 and copies[0].read_text() == "the job's\n"
    assert (project / name).read_text() == "mine\n"


def test_names_starting_with_a_dash(project: Path, remote_home: Path) -> None:
    (project / "-n").write_text("dash\n")
    (project / "--delete").mkdir()
    (project / "--delete" / "-rf").write_text("x\n")
    assert qxub("remote", "push", "R").returncode == 0
    assert (mirror(remote_home) / "--delete" / "-rf").exists()
    (project / "-n").unlink()
    assert qxub("remote", "push", "R").returncode == 0
    assert not (mirror(remote_home) / "-n").exists()
    later(mirror(remote_home) / "--delete" / "-rf", "job\n")
    assert qxub("remote", "pull", "R", "--", "--delete").returncode == 0
    assert (project / "--delete" / "-rf").read_text() == "job\n"


def test_keep_local_exits_0_when_every_conflict_was_skipped(
    project: Path, remote_home: Path
) -> None:
    assert qxub("remote", "push", "R").returncode == 0
    (project / "run.py").write_text("mine\n")
    later(mirror(remote_home) / "run.py", "theirs\n")
    result = qxub("remote", "pull", "R", "run.py", "--keep-local")
    assert result.returncode == 0, result.stderr
    assert (project / "run.py").read_text() == "mine\n"


def test_a_local_edit_newer_than_an_unchanged_remote_is_not_a_conflict(
    project: Path, remote_home: Path
) -> None:
    assert qxub("remote", "push", "R").returncode == 0
    (project / "run.py").write_text("print('mine')\n")
    result = qxub("remote", "pull", "R", "run.py")
    assert result.returncode == 0, result.stderr
    assert (project / "run.py").read_text() == "print('mine')\n"
    assert not (project / "run.py.from-R").exists()


def test_exec_without_sync_says_what_is_stale(project: Path, remote_home: Path) -> None:
    never = qxub("exec", "--remote", "R", "--", "true")
    assert "has never been pushed" in never.stderr
    assert qxub("remote", "push", "R").returncode == 0
    (project / "run.py").write_text("print('v2')\n")
    (project / "new.py").write_text("n\n")
    stale = qxub("exec", "--remote", "R", "--", "cat", "run.py")
    assert "2 files changed here since the last push to R; add --sync" in stale.stderr
    assert stale.stdout == "print('v1')\n"


def test_dry_with_sync_pushes_nothing(project: Path, remote_home: Path) -> None:
    (project / "sub").mkdir()
    (project / "sub" / "step.py").write_text("print('step')\n")
    result = qxub("exec", "--remote", "R", "--sync", "--dry", "--", "python3", "run.py")
    assert "would send 2 files" in result.stderr, result.stderr
    assert "send    run.py" in result.stdout
    # Not even the mirror's folder is made: the job script shows where it would run.
    assert not mirror(remote_home).exists()
    assert "qxub: created" not in result.stderr
    assert f"cd -- {shlex.quote(str(mirror(remote_home)))} ||" in result.stdout
    inside = qxub("exec", "--remote", "R", "--dry", "--", "python3", "step.py", cwd=project / "sub")
    assert inside.returncode == 0, inside.stderr
    assert f"cd -- {shlex.quote(str(mirror(remote_home) / 'sub'))} ||" in inside.stdout
    assert not mirror(remote_home).exists()
    # Once pushed, a dry run stands in the mirror as a real run does.
    assert qxub("remote", "push", "R").returncode == 0
    again = qxub("exec", "--remote", "R", "--dry", "--", "python3", "run.py")
    assert f"cd -- {shlex.quote(str(mirror(remote_home)))} ||" in again.stdout


def test_home_and_root_are_refused(remote: str, tmp_path: Path) -> None:
    home = Path(os.environ["HOME"])
    (home / ".ssh").mkdir(exist_ok=True)
    (home / ".ssh" / "id_ed25519").write_text("secret\n")
    result = qxub("remote", "push", "R", "--dry-run", cwd=home)
    assert_one_line_error(result)
    assert "home directory" in result.stderr and "git init" in result.stderr
    assert "id_ed25519" not in result.stdout
    assert_one_line_error(qxub("remote", "push", "R", cwd=Path("/")))


def test_ssh_and_gnupg_folders_are_never_selected(project: Path, remote_home: Path) -> None:
    (project / ".ssh").mkdir()
    (project / ".ssh" / "id_ed25519").write_text("secret\n")
    (project / "sub" / ".gnupg").mkdir(parents=True)
    (project / "sub" / ".gnupg" / "key").write_text("secret\n")
    result = qxub("remote", "push", "R", "--dry-run")
    assert "id_ed25519" not in result.stdout and "key" not in result.stdout
    assert "run.py" in result.stdout


@pytest.mark.openssh_only  # paramiko's SFTP engine runs inside qxub: nothing to outlive it
def test_kill_9_mid_push_leaves_no_transfer_running(project: Path, remote_home: Path) -> None:
    for i in range(40):
        (project / f"big{i}.bin").write_bytes(os.urandom(1 << 20))
    process = children.popen([*QXUB, "remote", "push", "R"], cwd=project)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _children_of(process.pid):
        time.sleep(0.01)
    helpers = _children_of(process.pid)
    assert helpers, "no child process seen"
    process.kill()
    process.wait()
    time.sleep(0.5)
    alive = [pid for pid in helpers if _alive(pid)]
    assert not alive, f"left running after qxub died: {alive}"


def _children_of(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_full_push_that_finds_both_ends_as_recorded_leaves_the_record_as_it_is(
    project: Path, remote_home: Path
) -> None:
    """Only the time of the comparison is kept, beside it (a full push of a big tree wrote a
    megabyte and an fsync to say nothing new); a full push that records anything rewrites it."""
    (project / "data.csv").write_text("1,2\n")
    assert qxub("remote", "push", "R").returncode == 0
    path = manifest_path("R", project)
    saved, stamp = path.read_bytes(), path.stat().st_mtime_ns
    started = time.time()
    full = qxub("remote", "push", "R", "--full")
    assert full.returncode == 0, full.stderr
    assert (path.read_bytes(), path.stat().st_mtime_ns) == (saved, stamp)
    assert load_manifest("R", project).verified_at >= started - 1
    (project / "data.csv").write_text("1,2\n3,4\n")
    started = time.time()
    full = qxub("remote", "push", "R", "--full")
    assert full.returncode == 0, full.stderr
    assert path.read_bytes() != saved
    record = load_manifest("R", project)
    assert record.verified_at >= started - 1
    assert record.synced["data.csv"].size == len("1,2\n3,4\n")
    assert (mirror(remote_home) / "data.csv").read_text() == "1,2\n3,4\n"


def test_a_full_round_compares_and_never_rewrites(project: Path, remote_home: Path) -> None:
    (project / "data.csv").write_text("1,2\n")
    assert qxub("remote", "push", "R").returncode == 0
    there = mirror(remote_home) / "data.csv"
    inode = there.stat().st_ino
    full = qxub("remote", "push", "R", "--full")
    assert "up to date" in full.stderr, full.stderr
    assert there.stat().st_ino == inode  # not sent again
    later(there, "the job's\n")
    full = qxub("remote", "push", "R", "--full", "-v")
    assert full.returncode == 0, full.stderr
    assert "changed on R since the last sync: data.csv" in full.stderr
    assert there.read_text() == "the job's\n"
