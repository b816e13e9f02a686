"""The mirror's listing started at start-up (qxub/remote/warm_list.py), against the real sshd
with OpenSSH: `remote push NAME --full` (or a push whose full comparison is due) starts the
last full push's listing before Python imports anything; what it finds is the mirror as it
is now (a file a job changed there is seen and left); a listing older than the record (a
push that waited for another's lock) is dropped and taken anew; a command line that does not
match is not used; no other command starts one."""

from __future__ import annotations

import contextlib
import marshal
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qxub.remote.warm_list import push_words, run_key

import children
from helpers import qxub, qxub_popen
from remotes import mirror

LISTED_AHEAD = "the listing of the mirror on R was started at start-up"


@pytest.mark.parametrize(
    ("words", "found"),
    [
        (["remote", "push", "gadi", "--full"], ("gadi", True)),
        (["remote", "push", "-q", "--full", "gadi", "-v"], ("gadi", True)),
        (["remote", "push", "gadi"], ("gadi", False)),  # started only when the full is due
        (["remote", "push", "--full"], None),  # the default remote: not known before the config
        (["remote", "push", "gadi", "--full", "--dry-run"], None),
        (["remote", "push", "gadi", "--full", "--force"], None),
        (["remote", "push", "gadi", "other", "--full"], None),
        (["remote", "pull", "gadi", "--full"], None),
        (["exec", "--remote", "gadi", "--", "true"], None),
        ([], None),
    ],
)
def test_which_pushes_may_start_the_listing_ahead(
    words: list[str], found: tuple[str, bool] | None
) -> None:
    assert push_words(words) == found


@pytest.mark.parametrize(
    ("words", "found"),
    [
        (["remote", "push", "gadi", "--full", "-v"], ("push\0gadi\0/p", True)),
        (["remote", "push", "gadi"], ("push\0gadi\0/p", False)),
        (["remote", "pull", "gadi", "results", "-v"], ("pull\0gadi\0results\0/p", True)),
        (["remote", "pull", "-q", "results"], ("pull\0results\0/p", True)),
        (["remote", "pull", "gadi", "--help"], None),
        (["remote", "watch", "gadi"], None),
    ],
)
def test_which_runs_keep_a_listing(words: list[str], found: tuple[str, bool] | None) -> None:
    """A push is one entry whatever its words (its listing is the whole mirror), a pull one
    per set of words (the paths it lists); talk (-v, -q) changes no listing."""
    assert run_key(words, "/p") == found


@pytest.fixture
def project(remote: str) -> Path:
    root = Path.cwd()
    (root / "pkg").mkdir()
    (root / "pkg" / "run.py").write_text("print('v1')\n")
    (root / "pkg" / "other.py").write_text("x = 1\n")
    assert qxub("remote", "push", "R").returncode == 0
    result = qxub("remote", "push", "R", "--full", "-v")  # the first full push: remembers
    assert result.returncode == 0, result.stderr
    assert LISTED_AHEAD not in result.stderr
    return root


def _store() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "qxub" / "warm-list.marshal"


@pytest.mark.usefixtures("project")
def test_a_full_push_takes_the_listing_started_ahead(remote_home: Path) -> None:
    for _ in range(2):
        result = qxub("remote", "push", "R", "--full", "-v")
        assert result.returncode == 0, result.stderr
        assert LISTED_AHEAD in result.stderr
        assert "up to date (2 files)" in result.stderr
    # What it lists is the mirror now: a file deleted there is sent again.
    (mirror(remote_home) / "pkg" / "other.py").unlink()
    result = qxub("remote", "push", "R", "--full", "-v")
    assert LISTED_AHEAD in result.stderr, result.stderr
    assert "sent pkg/other.py" in result.stderr
    assert (mirror(remote_home) / "pkg" / "other.py").read_text() == "x = 1\n"
    # A plain push starts none while the full comparison is not due: it makes no connection.
    result = qxub("remote", "push", "R", "-v")
    assert LISTED_AHEAD not in result.stderr
    assert "up to date" in result.stderr


def test_a_file_a_job_changed_there_is_seen_and_left(project: Path, remote_home: Path) -> None:
    there = mirror(remote_home) / "pkg" / "run.py"
    there.write_text("the job's\n")
    ahead = time.time() + 5
    os.utime(there, (ahead, ahead))
    result = qxub("remote", "push", "R", "--full", "-v")
    assert result.returncode == 0, result.stderr
    assert LISTED_AHEAD in result.stderr
    assert "changed on R since the last sync: pkg/run.py (left there)" in result.stderr
    assert there.read_text() == "the job's\n"
    assert (project / "pkg" / "run.py").read_text() == "print('v1')\n"


@pytest.mark.usefixtures("project")
def test_a_plain_push_starts_the_listing_when_the_full_comparison_is_due(
    remote_home: Path,
) -> None:
    """The record's last full comparison moved back past ten minutes, as the store's due
    time: the next plain push compares all, with the listing started ahead."""
    store = marshal.loads(_store().read_bytes())
    (key,) = store
    store[key]["due"] = time.time() - 1
    _store().write_bytes(marshal.dumps(store))
    _age_record(Path.cwd(), seconds=700)
    (mirror(remote_home) / "pkg" / "other.py").unlink()
    result = qxub("remote", "push", "R", "-v")
    assert result.returncode == 0, result.stderr
    assert LISTED_AHEAD in result.stderr
    assert "sent pkg/other.py" in result.stderr


@pytest.mark.usefixtures("project")
def test_a_listing_not_due_after_all_is_dropped_and_not_started_again(
    remote_home: Path,
) -> None:
    """The store's time says due, the record says compared just now (a watch did): the
    plain push sends only what changed, drops the listing it started, and moves the store's
    time to when the comparison is due."""
    store = marshal.loads(_store().read_bytes())
    (key,) = store
    store[key]["due"] = time.time() - 1
    _store().write_bytes(marshal.dumps(store))
    (mirror(remote_home) / "pkg" / "other.py").unlink()
    result = qxub("remote", "push", "R", "-v")
    assert result.returncode == 0, result.stderr
    assert LISTED_AHEAD not in result.stderr
    assert "up to date" in result.stderr  # no full comparison: the file gone there is not seen
    assert marshal.loads(_store().read_bytes())[key]["due"] > time.time() + 500


def _age_record(root: Path, *, seconds: float) -> None:
    """Move the record's last full comparison back by `seconds` (as time passing would)."""
    code = (
        "import sys; from pathlib import Path; from qxub.sync.manifest import load_manifest\n"
        "m = load_manifest('R', Path(sys.argv[1])); m.verified_at -= float(sys.argv[2]); m.save()"
    )
    subprocess.run([sys.executable, "-c", code, str(root), str(seconds)], check=True)


@pytest.mark.usefixtures("project")
def test_a_listing_with_another_command_line_is_not_used(remote_home: Path) -> None:
    store = marshal.loads(_store().read_bytes())
    (key,) = store
    argv = store[key]["argv"]
    argv[argv.index("ServerAliveCountMax=4")] = "ServerAliveCountMax=5"
    _store().write_bytes(marshal.dumps(store))
    (mirror(remote_home) / "pkg" / "other.py").unlink()
    result = qxub("remote", "push", "R", "--full", "-v")
    assert result.returncode == 0, result.stderr
    assert LISTED_AHEAD not in result.stderr
    assert "sent pkg/other.py" in result.stderr
    assert "ServerAliveCountMax=4" in marshal.loads(_store().read_bytes())[key]["argv"]
    assert LISTED_AHEAD in qxub("remote", "push", "R", "--full", "-v").stderr


_HOLD_AND_PUSH = """
import os, sys, time
from pathlib import Path
from qxub.locks import file_lock
from qxub.sync.manifest import load_manifest
root, mirrored, go = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
manifest = load_manifest("R", root)
with file_lock(manifest.path):
    print("locked", flush=True)
    while not go.exists():
        time.sleep(0.05)
    # What another push does under the lock: the file edited here sent, the record says so.
    mirrored.write_bytes((root / "pkg" / "run.py").read_bytes())
    stamp = os.stat(root / "pkg" / "run.py").st_mtime_ns
    os.utime(mirrored, ns=(stamp, stamp))
    manifest = load_manifest("R", root)
    entry = manifest.synced["pkg/run.py"]
    manifest.synced["pkg/run.py"] = entry._replace(size=12, mtime_ns=stamp)
    manifest.save()
"""


def _wait_for_listing(pid: int) -> None:
    """Until the process `pid` has started its listing ahead (an ssh child, its script
    in `bash --norc -c`)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for found in Path("/proc").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                parent = int((found / "stat").read_text().rpartition(")")[2].split()[1])
                if parent == pid and b"bash --norc -c" in (found / "cmdline").read_bytes():
                    return
        time.sleep(0.02)
    raise AssertionError("the push started no listing ahead")


def test_a_listing_older_than_the_record_is_taken_anew(project: Path, remote_home: Path) -> None:
    """Another push holds the lock: this one's listing, started ahead, sees the mirror
    before that push sent the file edited here. Once the lock is free, the record is newer
    than the listing: the push lists the mirror again, and finds nothing to do (the old
    listing would show the file as changed there since the record)."""
    (project / "pkg" / "run.py").write_text("print('v2')\n")
    go = project.parent / "go"
    mirrored = mirror(remote_home) / "pkg" / "run.py"
    argv = [sys.executable, "-c", _HOLD_AND_PUSH, str(project), str(mirrored), str(go)]
    holder = children.popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        pushing = qxub_popen("remote", "push", "R", "--full", "-v")
        _wait_for_listing(pushing.pid)  # started: the push waits for the lock
        go.touch()
        assert holder.wait(timeout=60) == 0
        _, stderr = pushing.communicate(timeout=60)
    finally:
        holder.kill()
    assert pushing.returncode == 0, stderr
    assert LISTED_AHEAD not in stderr
    assert "changed on R" not in stderr
    assert "up to date (2 files)" in stderr
    assert mirrored.read_text() == "print('v2')\n"


def test_a_pull_takes_the_listing_started_ahead(project: Path, remote_home: Path) -> None:
    """The same words in the same folder start the last pull's listing; what it finds is
    the mirror now (a file the job wrote since comes too); other paths start none."""
    results = mirror(remote_home) / "results"
    results.mkdir()
    (results / "a.txt").write_text("a\n")
    result = qxub("remote", "pull", "R", "results", "-v")
    assert result.returncode == 0, result.stderr
    assert "the listing of the mirror on R was started" not in result.stderr
    (results / "b.txt").write_text("b\n")
    result = qxub("remote", "pull", "R", "results", "-v")
    assert result.returncode == 0, result.stderr
    assert LISTED_AHEAD in result.stderr
    assert "pulled results/b.txt" in result.stderr
    assert (project / "results" / "b.txt").read_text() == "b\n"
    result = qxub("remote", "pull", "R", "pkg", "-v")
    assert result.returncode == 0, result.stderr
    assert LISTED_AHEAD not in result.stderr
    # A pull of paths that are not there says so, through the listing started ahead too.
    (results / "a.txt").unlink()
    (results / "b.txt").unlink()
    results.rmdir()
    result = qxub("remote", "pull", "R", "results", "-v")
    assert result.returncode == 1, result.stderr
    assert "results is not in" in result.stderr
    assert (project / "results" / "b.txt").read_text() == "b\n"
