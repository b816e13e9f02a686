"""The session of a small push opened at start-up (qxub/remote/warm_push.py), against the
real sshd with OpenSSH and rsync: a push after an edit uses it; a push with nothing to send
opens none (each session on the server is counted: sshd sets BASH_ENV to a script that
counts the shells started there); a session whose command line does not match, or that is
not needed, runs nothing there; the mirror's checks still refuse through it."""

from __future__ import annotations

import marshal
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qxub.remote.warm_push import push_named

from helpers import qxub
from remotes import mirror
from sshd_server import SshServer

OPENED_AHEAD = "the ssh session of this push was opened at start-up"


@pytest.mark.parametrize(
    ("words", "name"),
    [
        (["remote", "push", "gadi"], "gadi"),
        (["remote", "push", "-q", "gadi"], "gadi"),
        (["remote", "push", "gadi", "-v"], "gadi"),
        (["remote", "push"], None),  # the default remote: not known before the config
        (["remote", "push", "gadi", "--full"], None),  # compares all: no small push
        (["remote", "push", "gadi", "--dry-run"], None),
        (["remote", "push", "gadi", "--force"], None),
        (["remote", "push", "gadi", "other"], None),
        (["remote", "pull", "gadi"], None),
        (["exec", "--remote", "gadi", "--", "true"], None),
        ([], None),
    ],
)
def test_which_pushes_may_open_a_session_ahead(words: list[str], name: str | None) -> None:
    assert push_named(words) == name


@pytest.fixture
def sessions(sshd: SshServer, remote: str, tmp_path: Path) -> Iterator[Path]:
    """A file that gains a line for each shell started on the server (sshd's SetEnv sets
    BASH_ENV, which every non-interactive bash runs). Restarts sshd: masters start anew."""
    counted = tmp_path / "sessions.log"
    counted.touch()
    counter = tmp_path / "count.sh"
    counter.write_text(f"echo \"$$\" >> '{counted}'\n")
    sshd.set_env({"BASH_ENV": str(counter)})
    try:
        yield counted
    finally:
        sshd.set_env({})


def count(log: Path) -> int:
    """The shells started there so far, once the count is still (a session closed unused
    by a push that has ended may still be starting there)."""
    last = -1
    while (now := len(log.read_text().splitlines())) != last:
        last = now
        time.sleep(0.5)
    return now


@pytest.fixture
def project(remote: str) -> Path:
    root = Path.cwd()
    (root / ".gitignore").write_text("*.tmp\n")
    (root / "pkg").mkdir()
    (root / "pkg" / "run.py").write_text("print('v1')\n")
    (root / "pkg" / "other.py").write_text("x = 1\n")
    assert qxub("remote", "push", "R").returncode == 0
    return root


def edit(path: Path, text: str) -> None:
    """An edit a moment later than the last push looked (times have nanoseconds here)."""
    time.sleep(0.01)
    path.write_text(text)


def test_a_push_after_an_edit_uses_the_session_opened_ahead(
    project: Path, remote_home: Path
) -> None:
    for version in ("v2", "v3"):
        edit(project / "pkg" / "run.py", f"print('{version}')\n")
        result = qxub("remote", "push", "R", "-v")
        assert result.returncode == 0, result.stderr
        assert OPENED_AHEAD in result.stderr
        assert "sent pkg/run.py" in result.stderr
        there = mirror(remote_home) / "pkg" / "run.py"
        assert there.read_text() == f"print('{version}')\n"
        assert os.lstat(there).st_mtime_ns == os.lstat(project / "pkg" / "run.py").st_mtime_ns
    # A new file (its folder changed) opens it too.
    edit(project / "pkg" / "new.py", "new\n")
    result = qxub("remote", "push", "R", "-v")
    assert OPENED_AHEAD in result.stderr, result.stderr
    assert (mirror(remote_home) / "pkg" / "new.py").read_text() == "new\n"
    assert [p.name for p in mirror(remote_home).rglob("*") if ".qxub-part" in p.name] == []


@pytest.mark.usefixtures("project")
def test_a_push_with_nothing_to_send_makes_no_connection(sessions: Path) -> None:
    edit(Path("pkg/run.py"), "print('v2')\n")
    assert qxub("remote", "push", "R").returncode == 0  # a new master: learns its socket
    edit(Path("pkg/run.py"), "print('v3')\n")
    result = qxub("remote", "push", "R", "-v")
    assert OPENED_AHEAD in result.stderr, result.stderr
    before = count(sessions)
    for _ in range(3):
        result = qxub("remote", "push", "R", "-v")
        assert result.returncode == 0, result.stderr
        assert "up to date" in result.stderr
    assert count(sessions) == before


def test_a_session_not_needed_runs_nothing_there(
    project: Path, remote_home: Path, sessions: Path
) -> None:
    """A file created in a pushed folder opens the session; that it is ignored is known
    only once the files are selected: the session is closed having run nothing, and the
    next push, with nothing new, opens none."""
    edit(project / "pkg" / "run.py", "print('v2')\n")
    assert qxub("remote", "push", "R").returncode == 0
    edit(project / "pkg" / "out.tmp", "ignored\n")
    result = qxub("remote", "push", "R", "-v")
    assert result.returncode == 0, result.stderr
    assert OPENED_AHEAD not in result.stderr
    assert "up to date" in result.stderr
    assert not (mirror(remote_home) / "pkg" / "out.tmp").exists()
    assert [p.name for p in mirror(remote_home).rglob("*") if ".qxub-part" in p.name] == []
    before = count(sessions)
    assert qxub("remote", "push", "R").returncode == 0
    assert count(sessions) == before


def _store() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "qxub" / "warm-push.marshal"


def test_a_session_with_another_command_line_is_not_used(project: Path, remote_home: Path) -> None:
    """The stored command line is only a guess: a push whose own differs (another ssh
    option here) starts its own session; the one opened ahead gets no script."""
    store = marshal.loads(_store().read_bytes())
    (key,) = store
    argv = store[key]["argv"]
    argv[argv.index("ServerAliveCountMax=4")] = "ServerAliveCountMax=5"
    _store().write_bytes(marshal.dumps(store))
    edit(project / "pkg" / "run.py", "print('v2')\n")
    result = qxub("remote", "push", "R", "-v")
    assert result.returncode == 0, result.stderr
    assert OPENED_AHEAD not in result.stderr
    assert (mirror(remote_home) / "pkg" / "run.py").read_text() == "print('v2')\n"
    assert "ServerAliveCountMax=4" in marshal.loads(_store().read_bytes())[key]["argv"]
    edit(project / "pkg" / "run.py", "print('v3')\n")
    result = qxub("remote", "push", "R", "-v")
    assert OPENED_AHEAD in result.stderr, result.stderr


def test_a_file_a_job_changed_there_is_refused_through_the_session(
    project: Path, remote_home: Path
) -> None:
    there = mirror(remote_home) / "pkg" / "run.py"
    there.write_text("the job's\n")
    ahead = time.time() + 5
    os.utime(there, (ahead, ahead))
    edit(project / "pkg" / "run.py", "print('mine')\n")
    edit(project / "pkg" / "other.py", "x = 2\n")
    result = qxub("remote", "push", "R", "-v")
    assert result.returncode == 1, result.stderr
    assert OPENED_AHEAD in result.stderr
    assert "changed on R since the last sync" in result.stderr
    assert there.read_text() == "the job's\n"
    assert (mirror(remote_home) / "pkg" / "other.py").read_text() == "x = 2\n"


def test_a_push_after_a_pull_makes_no_connection(
    project: Path, remote_home: Path, sessions: Path
) -> None:
    """What a pull writes here (files, their folders) is no change for the next push; an
    edit made before the pull still opens the session of the push that sends it."""
    edit(project / "pkg" / "run.py", "print('v2')\n")
    assert qxub("remote", "push", "R").returncode == 0
    (mirror(remote_home) / "results").mkdir()
    (mirror(remote_home) / "results" / "out.txt").write_text("the job's\n")
    (mirror(remote_home) / "pkg" / "log.txt").write_text("the job's too\n")
    result = qxub("remote", "pull", "R", "results", "pkg/log.txt")
    assert result.returncode == 0, result.stderr
    assert (project / "results" / "out.txt").read_text() == "the job's\n"
    before = count(sessions)
    result = qxub("remote", "push", "R", "-v")
    assert "up to date" in result.stderr, result.stderr
    assert count(sessions) == before
    edit(project / "pkg" / "run.py", "print('v3')\n")
    (mirror(remote_home) / "results" / "more.txt").write_text("more\n")
    assert qxub("remote", "pull", "R", "results").returncode == 0
    result = qxub("remote", "push", "R", "-v")
    assert OPENED_AHEAD in result.stderr, result.stderr
    assert (mirror(remote_home) / "pkg" / "run.py").read_text() == "print('v3')\n"
