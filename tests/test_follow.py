"""Following a remote job across the follower's death, segments, a lost connection and a
stopped server, over a real OpenSSH server on 127.0.0.1: every line exactly once, in order,
and the job's own exit code (issue 11)."""

from __future__ import annotations

import io
import os
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from qxub import __version__, protocol
from qxub.cli.configured import cli_config
from qxub.remote.config import find_remote
from qxub.remote.executor import FollowEnd, FollowHooks, RemoteRun
from qxub.remote.reach import transport_for
from qxub.remote.shown import shown_offset
from qxub.streams import Streams

import children
from helpers import QXUB, qxub, qxub_popen
from remotes import remote_settings, write_config
from sshd_server import SshServer

pytestmark = [pytest.mark.sshd]


# A job that prints a numbered line every 0.2 s for `seconds` and exits 7.
def counting(seconds: int) -> list[str]:
    script = f"for i in $(seq {seconds * 5}); do echo line $i; sleep 0.2; done; exit 7"
    return ["--", "sh", "-c", script]


def expected_lines(seconds: int) -> str:
    return "".join(f"line {i}\n" for i in range(1, seconds * 5 + 1))


def remote_followers(remote_home: Path) -> list[int]:
    """Processes of this test's remote qxub (run by the test's sshd, so on this machine) that
    stream to a laptop: QXUB_PROTOCOL and this test's remote state dir in their environment."""
    mine = f"XDG_STATE_HOME={remote_home / 'state'}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"QXUB_PROTOCOL=" not in environ or mine not in environ.split(b"\0"):
            continue
        if b"qxub" in cmdline and b"cancel" not in cmdline:
            found.append(int(entry.name))
    return found


def kill_followers_every(period: float, stop: threading.Event, remote_home: Path) -> list[int]:
    killed: list[int] = []

    def loop() -> None:
        while not stop.wait(period):
            for pid in remote_followers(remote_home):
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    pass

    threading.Thread(target=loop, daemon=True).start()
    return killed


def configure(sshd: SshServer, remote_home: Path, **extra: object) -> None:
    write_config({"R": remote_settings(sshd, remote_home, **extra)})


@pytest.mark.usefixtures("remote")
def test_a_follower_killed_every_5s_loses_nothing(remote_home: Path) -> None:
    stop = threading.Event()
    killed = kill_followers_every(5.0, stop, remote_home)
    try:
        result = qxub("exec", "--remote", "R", *counting(60), timeout=150)
    finally:
        stop.set()
    assert len(killed) >= 8, killed
    assert result.stdout == expected_lines(60), result.stderr
    assert result.returncode == 7, result.stderr
    assert result.stderr.count("lost the follow of job") == 1, result.stderr


def test_segments_of_5s_lose_nothing(sshd: SshServer, remote_home: Path, remote: str) -> None:
    configure(sshd, remote_home, follow_segment="5s")
    result = qxub("exec", "--remote", remote, *counting(12), timeout=90)
    assert result.stdout == expected_lines(12), result.stderr
    assert result.returncode == 7
    assert "lost" not in result.stderr
    assert result.stderr.count("started") == 1, result.stderr


def _wait_for_line(proc: subprocess.Popen[str], wanted: str) -> None:
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        assert line, "qxub ended early"
        if line == wanted:
            return


def _kill_master(sshd: SshServer) -> None:
    control_path = f"ControlPath={os.environ['XDG_RUNTIME_DIR']}/qxub/%C"
    argv = ["ssh", "-F", str(sshd.ssh_config), "-o", control_path, "-O", "exit"]
    children.run([*argv, "-p", str(sshd.port), sshd.host], capture_output=True, check=False)


def test_server_away_20s_then_back_is_followed_again(
    sshd: SshServer, remote_home: Path, remote: str
) -> None:
    proc = qxub_popen("exec", "--remote", remote, *counting(30))
    try:
        _wait_for_line(proc, "line 5\n")
        _kill_master(sshd)
        sshd.stop()
        time.sleep(20)
        sshd.start()
        assert proc.wait(timeout=90) == 7
    finally:
        sshd.start()
        proc.kill()
    assert proc.stdout is not None and proc.stderr is not None
    rest = proc.stdout.read()
    assert "line 1\n" + "".join(f"line {i}\n" for i in range(2, 6)) + rest == expected_lines(30)
    assert proc.stderr.read().count("lost the follow") == 1


def test_server_away_past_the_retry_window_exits_75_with_the_command(
    sshd: SshServer, remote_home: Path, remote: str
) -> None:
    configure(sshd, remote_home, follow_retry="3s")
    proc = qxub_popen("exec", "--remote", remote, *counting(8))
    try:
        _wait_for_line(proc, "line 3\n")
        _kill_master(sshd)
        sshd.stop()
        assert proc.wait(timeout=60) == 75
    finally:
        sshd.start()
        proc.kill()
    assert proc.stderr is not None and proc.stdout is not None
    shown = "line 1\nline 2\nline 3\n" + proc.stdout.read()
    said = proc.stderr.read()
    command = said.strip().splitlines()[-1].split("follow it with: ")[-1]
    assert command.startswith("qxub wait --remote R "), said
    again = qxub(*command.split()[1:], "--new", timeout=60)
    assert again.returncode == 7, again.stderr
    assert shown + again.stdout == expected_lines(8)
    whole = qxub(*command.split()[1:], timeout=60)
    assert (whole.returncode, whole.stdout) == (7, expected_lines(8))


@pytest.mark.usefixtures("remote")
def test_stdout_and_stderr_keep_the_jobs_order() -> None:
    job = (
        "import sys, time\n"
        "for i in range(20):\n"
        "    print(f'step {i}')\n"
        "    sys.stderr.write(f'\\rprogress {i}')\n"
        "    time.sleep(0.02)\n"
        "print('last')\n"
    )
    result = children.run(
        [*QXUB, "exec", "--remote", "R", "--", "python3", "-c", job],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout
    together = "".join(f"step {i}\n\rprogress {i}" for i in range(20)) + "last\n"
    assert together.encode() in result.stdout
    assert result.stdout.index(b"last\n") < result.stdout.index(b"finished with exit code 0")


@pytest.mark.usefixtures("remote")
def test_forged_events_change_nothing() -> None:
    forged = (
        "printf 'x%.0s' $(seq 4000); printf '\\n\\036@qxub finished 0\\n';"
        " printf '\\036@qxub submitted 99.other local\\n' >&2;"
        " printf '\\036qxub-frames-3\\nv\\000\\000\\000\\012finished 0'; exit 5"
    )
    result = qxub("exec", "--remote", "R", "--", "sh", "-c", forged)
    assert result.returncode == 5, result.stderr
    expected = "x" * 4000 + "\n\x1e@qxub finished 0\n\x1eqxub-frames-3\nv\0\0\0\nfinished 0"
    assert result.stdout == expected
    assert "\x1e@qxub submitted 99.other local\n" in result.stderr


@pytest.mark.usefixtures("remote")
def test_detach_says_the_remote_wait_command_and_refuses_pull() -> None:
    detached = qxub("exec", "--remote", "R", "--detach", "--", "sh", "-c", "echo hi; exit 4")
    assert detached.returncode == 0, detached.stderr
    command = detached.stderr.strip().splitlines()[-1].split("follow it with: ")[-1]
    assert command.startswith("qxub wait --remote R ")
    waited = qxub(*command.split()[1:])
    assert (waited.returncode, waited.stdout) == (4, "hi\n")
    refused = qxub("exec", "--remote", "R", "--detach", "--pull", "out", "--", "true")
    assert refused.returncode == 2
    assert "qxub wait --remote R JOB_ID --pull PATH" in refused.stderr


@pytest.mark.usefixtures("remote")
def test_a_failed_pull_says_how_to_retry_and_keeps_the_jobs_code() -> None:
    # The job leaves a directory where the project has a file: the pull cannot write it.
    Path("clash").write_text("a file here\n")
    result = qxub("exec", "--remote", "R", "--pull", "clash/x", "--", "sh", "-c", "exit 6")
    assert result.returncode == 6, result.stderr
    assert "qxub remote pull R clash/x" in result.stderr


@pytest.mark.usefixtures("remote")
def test_ctrl_c_cancels_then_pulls() -> None:
    job = ["sh", "-c", "echo x > made.txt; sleep 60"]
    proc = qxub_popen("exec", "--remote", "R", "--sync", "--pull", "made.txt", "--", *job)
    assert proc.stderr is not None
    while "started" not in (line := proc.stderr.readline()):
        assert line, "qxub ended before the job started"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    assert Path("made.txt").read_text() == "x\n", proc.stderr.read()


@pytest.mark.usefixtures("remote")
def test_the_jobs_end_is_noted_as_soon_as_the_remote_says_finished(tmp_path: Path) -> None:
    """What was shown, and that the job is over, are noted when `finished` arrives, while
    the session still ends (here a remote that stays 3 s more), not after it."""
    events = [f"hello {__version__} {protocol.PROTOCOL}", "submitted 5.local local", "following 0"]
    said = tmp_path / "said"
    said.write_bytes(
        protocol.START
        + b"".join(protocol.frame(protocol.EVENT, event.encode()) for event in events)
        + protocol.frame(protocol.STDOUT, b"hi\n")
        + protocol.frame(protocol.EVENT, b"finished 3")
    )
    remote = find_remote(cli_config(), "R")
    out, err = io.BytesIO(), io.BytesIO()
    seen: list[tuple[str, int | None, int | None]] = []

    def over(job_id: str) -> None:
        assert run.session is not None
        seen.append((job_id, run.session.process.poll(), shown_offset("R", job_id)))

    script = [f"cat {shlex.quote(str(said))}", "sleep 3"]
    streams = Streams(out, err, io.StringIO(), lambda message: None)
    run = RemoteRun(remote, transport_for(remote), script, streams, hooks=FollowHooks(over=over))
    assert run.follow() == FollowEnd(3, "5.local", True)
    assert seen == [("5.local", None, protocol.HEADER + 3)]  # the session was still on
    assert (out.getvalue(), err.getvalue()) == (b"hi\n", b"")
