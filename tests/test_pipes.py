"""Pipes and stdin as if local: data piped into `qxub exec` is the job's stdin (staged in its
log dir before submission), a terminal or /dev/null is not read, and `| head -3` ends qxub
quietly with 141 while the job goes on. On the local runner, and over a real sshd with both
transports."""

from __future__ import annotations

import json
import os
import pty
import re
import stat
import subprocess
from pathlib import Path

import pytest

import children
from helpers import QXUB, assert_one_line_error, qxub
from remotes import remote_settings, write_config
from sshd_server import SshServer

FOREVER = ["python3", "-c", "import itertools\nfor i in itertools.count(): print(i)"]


def _records(state: Path) -> list[dict[str, object]]:
    found = [json.loads(p.read_text()) for p in (state / "qxub" / "jobs").glob("*/record.json")]
    return sorted(found, key=lambda r: float(str(r["submitted_at"])))


def test_piped_data_is_the_jobs_stdin(tmp_path: Path) -> None:
    result = qxub("exec", "--", "cat", cwd=tmp_path, input="hi\nthere\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hi\nthere\n"
    record = _records(Path(os.environ["XDG_STATE_HOME"]))[-1]
    staged = Path(str(record["logdir"])) / "stdin"
    assert staged.read_text() == "hi\nthere\n"
    assert stat.S_IMODE(staged.stat().st_mode) == 0o600
    assert record["extra"] == {"stdin_bytes": 9}


def test_large_stdin_arrives_whole(tmp_path: Path) -> None:
    data = "".join(f"line {i}\n" for i in range(400_000))  # about 5 MB
    result = qxub("exec", "--quiet", "--", "sha1sum", cwd=tmp_path, input=data)
    expected = subprocess.run(["sha1sum"], input=data, capture_output=True, text=True).stdout
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected


def test_a_redirected_file_is_stdin_too(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("from a file\n")
    with open(tmp_path / "in.txt", "rb") as handle:
        result = children.run(
            [*QXUB, "exec", "--quiet", "--", "cat"],
            cwd=tmp_path,
            stdin=handle,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert (result.returncode, result.stdout) == (0, "from a file\n"), result.stderr


def test_dev_null_and_a_closed_stdin_give_the_job_none(tmp_path: Path) -> None:
    result = qxub("exec", "--quiet", "--", "cat", cwd=tmp_path)  # stdin /dev/null
    assert (result.returncode, result.stdout) == (0, ""), result.stderr
    closed = children.run(
        [*QXUB, "exec", "--quiet", "--", "cat"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.close(0),
    )
    assert (closed.returncode, closed.stdout) == (0, ""), closed.stderr
    for record in _records(Path(os.environ["XDG_STATE_HOME"])):
        assert not (Path(str(record["logdir"])) / "stdin").exists()


def test_a_terminal_is_not_read(tmp_path: Path) -> None:
    main, secondary = pty.openpty()
    try:
        result = children.run(
            [*QXUB, "exec", "--quiet", "--", "cat"],
            cwd=tmp_path,
            stdin=secondary,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.close(main)
        os.close(secondary)
    assert (result.returncode, result.stdout) == (0, ""), result.stderr


def test_a_pipe_that_stays_open_is_waited_for_and_said(tmp_path: Path) -> None:
    proc = children.popen(
        [*QXUB, "exec", "--", "cat"],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write(b"early\n")
    proc.stdin.flush()
    line = proc.stderr.readline().decode()  # said after 2 s without the end of stdin
    assert "waiting for the end of stdin" in line and "< /dev/null" in line
    assert proc.poll() is None
    proc.stdin.write(b"late\n")
    proc.stdin.close()
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    assert proc.stdout is not None and proc.stdout.read() == b"early\nlate\n"


def test_dry_run_shows_the_redirect(tmp_path: Path) -> None:
    result = qxub("exec", "--dry", "--", "cat", cwd=tmp_path, input="not read\n")
    assert result.returncode == 0, result.stderr
    assert "exec <'<logdir>/stdin'" in result.stdout
    assert "# stdin:" in result.stdout
    plain = qxub("exec", "--dry", "--", "cat", cwd=tmp_path)
    assert "stdin" not in plain.stdout


def _head(argv: list[str], cwd: Path, lines: int = 3) -> tuple[int, list[bytes], str]:
    """Run qxub, read `lines` lines of its stdout, then close it as `head` does."""
    proc = children.popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    got = [proc.stdout.readline() for _ in range(lines)]
    proc.stdout.close()
    err = proc.stderr.read().decode()
    return proc.wait(timeout=60), got, err


def _job_id(stderr: str) -> str:
    found = re.search(r"job (\S+) goes on", stderr)
    assert found, stderr
    return found.group(1)


def test_head_ends_qxub_quietly_and_the_job_goes_on(tmp_path: Path) -> None:
    code, got, err = _head([*QXUB, "exec", "--", *FOREVER], tmp_path)
    assert got == [b"0\n", b"1\n", b"2\n"]
    assert code == 141, err
    assert "Traceback" not in err and "Exception" not in err
    job = _job_id(err)
    assert f"`qxub cancel {job}` stops it" in err
    status = qxub("status", job, cwd=tmp_path)
    assert "running" in status.stdout, status.stdout
    assert qxub("cancel", job, cwd=tmp_path).returncode == 0


def test_head_on_a_shell_pipeline(tmp_path: Path) -> None:
    script = 'qxub exec --quiet -- seq 1 1000000 | head -3; echo "rc=${PIPESTATUS[0]}"'
    env = {**os.environ, "PATH": f"{Path(QXUB[0]).parent}:{os.environ['PATH']}"}
    result = children.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout == "1\n2\n3\nrc=141\n", result.stderr
    assert "goes on" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.sshd
@pytest.mark.both_transports
def test_stdin_reaches_a_remote_job(remote: str) -> None:
    result = qxub("exec", "--remote", remote, "--", "cat", input="hi\n")
    assert (result.returncode, result.stdout) == (0, "hi\n"), result.stderr
    data = "".join(f"{i}\n" for i in range(300_000))  # about 2 MB
    big = qxub("exec", "--remote", remote, "--quiet", "--", "wc", "-c", input=data)
    assert (big.returncode, big.stdout.strip()) == (0, str(len(data))), big.stderr


@pytest.mark.sshd
@pytest.mark.both_transports
def test_no_stdin_reaches_a_remote_job_as_its_end(remote: str) -> None:
    # With nothing piped, the remote qxub must see the end of its stdin at once, not wait.
    result = qxub("exec", "--remote", remote, "--quiet", "--", "cat", timeout=30)
    assert (result.returncode, result.stdout) == (0, ""), result.stderr


@pytest.mark.sshd
@pytest.mark.both_transports
def test_head_on_a_remote_job(remote: str, tmp_path: Path) -> None:
    code, got, err = _head([*QXUB, "exec", "--remote", remote, "--", *FOREVER], Path.cwd())
    assert got == [b"0\n", b"1\n", b"2\n"]
    assert code == 141, err
    assert "Traceback" not in err and "Exception" not in err
    job = _job_id(err)
    assert f"`qxub cancel --remote {remote} {job}` stops it" in err
    assert qxub("cancel", "--remote", remote, job).returncode == 0


@pytest.mark.sshd
def test_piped_stdin_with_a_forced_terminal_is_refused(
    sshd: SshServer, remote_home: Path, remote: str
) -> None:
    write_config({"T": remote_settings(sshd, remote_home, force_tty=True)})
    result = qxub("exec", "--remote", "T", "--", "cat", input="lost?\n")
    assert_one_line_error(result)
    assert "force_tty" in result.stderr
    assert not (remote_home / "state" / "qxub" / "jobs").exists()  # refused before submitting
