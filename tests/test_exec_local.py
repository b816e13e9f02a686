"""`qxub exec` end to end on the local runner: real bash jobs, real signals, real files."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

import children
from helpers import assert_one_line_error, qxub, qxub_popen


def test_argv_survives_word_for_word(tmp_path: Path) -> None:
    words = ["a b", "$HOME", "it's", "", "--x", ";rm -rf /", "new\nline", "*", "`id`"]
    result = qxub(
        "exec", "--", "python3", "-c", "import sys; print(sys.argv[1:])", *words, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == repr(words) + "\n"


def test_a_word_that_is_not_utf8_reaches_the_job_as_its_bytes(tmp_path: Path) -> None:
    """A file name the file system allows, in any encoding, is a word like any other."""
    result = children.run(
        [sys.executable, "-m", "qxub", "exec", "--quiet", "--", "printf", "%s|", b"caf\xe9"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, b"caf\xe9|"), result.stderr
    listed = children.run(
        [sys.executable, "-m", "qxub", "status"], cwd=tmp_path, capture_output=True, check=False
    )
    assert listed.returncode == 0, listed.stderr
    assert b"caf\xe9" in listed.stdout


def test_stdout_stderr_and_exit_code(tmp_path: Path) -> None:
    result = qxub("exec", "--", "sh", "-c", "echo out; echo err >&2; exit 3", cwd=tmp_path)
    assert result.returncode == 3
    assert result.stdout == "out\n"
    assert "err\n" in result.stderr
    assert "out" not in result.stderr


def test_status_lines_on_stderr_and_quiet(tmp_path: Path) -> None:
    loud = qxub("exec", "--", "true", cwd=tmp_path)
    assert "submitted to local" in loud.stderr
    assert "started" in loud.stderr
    assert "finished with exit code 0" in loud.stderr
    quiet = qxub("exec", "--quiet", "--", "sh", "-c", "echo e >&2", cwd=tmp_path)
    assert quiet.stderr == "e\n"


def test_command_without_double_dash(tmp_path: Path) -> None:
    result = qxub("exec", "python3", "-c", "import sys; print(sys.argv[1:])", "--x", cwd=tmp_path)
    assert result.stdout == "['--x']\n", result.stderr


def test_output_streams_while_the_job_runs(tmp_path: Path) -> None:
    script = "import time\nfor i in range(5):\n    print(i)\n    time.sleep(0.2)\n"
    proc = qxub_popen("exec", "--quiet", "--", "python3", "-c", script, cwd=tmp_path)
    assert proc.stdout is not None
    arrivals = []
    for _ in range(5):
        proc.stdout.readline()
        arrivals.append(time.monotonic())
    assert proc.wait(timeout=20) == 0
    # Lines arrive spread over the run, not all at the end.
    assert arrivals[-1] - arrivals[0] > 0.5


def test_signal_kill_gives_128_plus_n(tmp_path: Path) -> None:
    result = qxub("exec", "--", "sh", "-c", "kill -USR1 $$", cwd=tmp_path)
    assert result.returncode == 128 + signal.SIGUSR1


def test_terse_wait_status(tmp_path: Path) -> None:
    submitted = qxub("exec", "--terse", "--", "sleep", "2", cwd=tmp_path)
    assert submitted.returncode == 0
    job_id = submitted.stdout.strip()
    assert job_id and "\n" not in job_id and submitted.stderr == ""
    running = qxub("status", job_id)
    assert "running" in running.stdout
    waited = qxub("wait", job_id)
    assert waited.returncode == 0, waited.stderr
    status = qxub("status", job_id)
    assert status.returncode == 0
    row = status.stdout.splitlines()[1].split()
    assert row[:4] == [job_id, "local", "finished", "0"]


def test_wait_returns_the_jobs_code_and_its_output(tmp_path: Path) -> None:
    job_id = qxub("exec", "--terse", "--", "sh", "-c", "echo done; exit 5", cwd=tmp_path)
    waited = qxub("wait", job_id.stdout.strip())
    assert waited.returncode == 5
    assert waited.stdout == "done\n"


def test_job_ids_are_unique(tmp_path: Path) -> None:
    ids = {qxub("exec", "--terse", "--", "true", cwd=tmp_path).stdout.strip() for _ in range(5)}
    assert len(ids) == 5


def _job_pid(job_id: str) -> int:
    state = Path(os.environ["XDG_STATE_HOME"]) / "qxub" / "jobs" / "by-id" / job_id
    return int((state / "pid").read_text())


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # Zombies still count for killpg; look for a live member.
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def test_sigint_cancels_the_job(tmp_path: Path) -> None:
    proc = qxub_popen("exec", "--", "sleep", "60", cwd=tmp_path)
    assert proc.stderr is not None
    line = ""
    while "started" not in line:
        line = proc.stderr.readline()
        assert line, "qxub ended before the job started"
    job_id = line.split()[2]
    pid = _job_pid(job_id)
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=5) == 130
    assert time.monotonic() - start < 2
    deadline = time.monotonic() + 2
    while _group_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _group_alive(pid), "the job's processes are still running"
    status = qxub("status", job_id)
    assert "cancelled" in status.stdout


def test_cancel_command(tmp_path: Path) -> None:
    job_id = qxub("exec", "--terse", "--", "sleep", "60", cwd=tmp_path).stdout.strip()
    result = qxub("cancel", job_id)
    assert result.returncode == 0, result.stderr
    waited = qxub("wait", job_id)
    assert waited.returncode == 143
    assert "cancelled" in qxub("status", job_id).stdout


def test_a_job_cancelled_before_its_traps_are_set_is_reported_cancelled(tmp_path: Path) -> None:
    """Cancelled right after `exec --terse`, a job's bash may not have set its traps yet:
    it dies of the SIGTERM without writing its exit code. Here its driver is swapped for a
    process with no trap at all, which is what such a job is at that moment."""
    job_id = qxub("exec", "--terse", "--", "sleep", "60", cwd=tmp_path).stdout.strip()
    job = _job_pid(job_id)
    bare = children.popen(["sleep", "60"], start_new_session=True)
    try:
        folder = Path(os.environ["XDG_STATE_HOME"]) / "qxub" / "jobs" / "by-id" / job_id
        start = Path(f"/proc/{bare.pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
        (folder / "pid.start").write_text(f"{start}\n")
        (folder / "pid").write_text(f"{bare.pid}\n")
        assert qxub("cancel", job_id).returncode == 0
        assert bare.wait(timeout=10) == -signal.SIGTERM
        waited = qxub("wait", job_id)
        assert waited.returncode == 143, waited.stderr
        assert "cancelled" in qxub("status", job_id).stdout
    finally:
        bare.kill()
        bare.wait()
        os.killpg(job, signal.SIGKILL)


def test_cancel_never_signals_a_process_that_reused_the_jobs_pid(tmp_path: Path) -> None:
    """A job killed before its EXIT trap leaves its pid file behind; once that pid names
    another session leader (an ssh login, say), cancel and status must leave it alone."""
    job_id = qxub("exec", "--terse", "--", "sleep", "60", cwd=tmp_path).stdout.strip()
    os.killpg(_job_pid(job_id), signal.SIGKILL)
    # A pid is named by its start time in clock ticks (10 ms). The kernel cannot hand the
    # same pid out again within one tick (it would have to go round the whole pid space),
    # but this test can start its stranger that soon: so it waits for the next tick.
    time.sleep(2 / os.sysconf("SC_CLK_TCK"))
    stranger = children.popen(["sleep", "60"], start_new_session=True)
    try:
        folder = Path(os.environ["XDG_STATE_HOME"]) / "qxub" / "jobs" / "by-id" / job_id
        stat = Path(f"/proc/{stranger.pid}/stat").read_text().rsplit(")", 1)[1].split()
        assert stat[19] != (folder / "pid.start").read_text().strip()
        (folder / "pid").write_text(f"{stranger.pid}\n")  # as if the kernel reused the pid
        assert qxub("cancel", job_id).returncode == 0
        assert "running" not in qxub("status", job_id).stdout
        time.sleep(0.3)
        assert stranger.poll() is None, "cancel killed a process that was not the job's"
    finally:
        stranger.kill()
        stranger.wait()


def test_job_killed_hard_is_reported_not_waited_on(tmp_path: Path) -> None:
    proc = qxub_popen("exec", "--", "sleep", "60", cwd=tmp_path)
    assert proc.stderr is not None
    line = ""
    while "started" not in line:
        line = proc.stderr.readline()
    job_id = line.split()[2]
    os.killpg(_job_pid(job_id), signal.SIGKILL)
    assert proc.wait(timeout=10) == 1
    rest = proc.stderr.read()
    assert "ended without recording an exit code" in rest
    assert "Traceback" not in rest


def test_detach_says_how_to_come_back(tmp_path: Path) -> None:
    result = qxub("exec", "--detach", "--", "true", cwd=tmp_path)
    assert result.returncode == 0
    assert "qxub wait " in result.stderr


def test_pre_post_vars_execdir_out(tmp_path: Path) -> None:
    work = tmp_path / "work dir"
    work.mkdir()
    out = tmp_path / "job.out"
    result = qxub(
        "exec",
        "--execdir",
        str(work),
        "--var",
        "A=x y",
        "--vars",
        "B=2,C=$HOME",
        "--pre",
        "echo pre",
        "--post",
        "echo post",
        "--out",
        str(out),
        "--",
        "sh",
        "-c",
        'pwd; echo "$A|$B|$C"; exit 4',
        cwd=tmp_path,
    )
    assert result.returncode == 4
    assert result.stdout == f"pre\n{work}\nx y|2|$HOME\npost\n"
    assert out.read_text() == result.stdout


def test_failing_pre_stops_the_job(tmp_path: Path) -> None:
    result = qxub("exec", "--pre", "exit 9", "--", "echo", "never", cwd=tmp_path)
    assert result.returncode == 9
    assert "never" not in result.stdout


def test_template(tmp_path: Path) -> None:
    template = tmp_path / "t.sh"
    template.write_text("#!/bin/bash\n{{ directives }}\necho from-template\n{{ body }}\n")
    result = qxub("exec", "--template", str(template), "--", "echo", "cmd", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "cmd\n"
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/bin/bash\necho no body\n")
    assert_one_line_error(qxub("exec", "--template", str(bad), "--", "true", cwd=tmp_path))


def test_qx_is_exec(tmp_path: Path) -> None:
    # The console script sits next to the interpreter that has qxub installed.
    qx = shutil.which(
        "qx", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    assert qx, "the qx console script is not installed: run scripts/setup-test-env"
    result = children.run(
        [qx, "--", "echo", "hi"], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hi\n"


def test_dry_prints_script_and_submits_nothing(tmp_path: Path) -> None:
    result = qxub(
        "exec",
        "--dry",
        "--mod",
        "gcc",
        "--mod",
        "python3",
        "--mem",
        "4GB",
        "--cpus",
        "2",
        "--runtime",
        "1h",
        "--",
        "make",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.index("module load gcc") < text.index("module load python3")
    assert "--mem 4GB --cpus 2 --runtime 1h" in text
    assert "# submit with: bash" in text
    assert "cannot honour --mem, --cpus, --runtime" in text
    assert qxub("status").stderr.startswith("no jobs")


def test_verbose_names_what_the_local_runner_cannot_honour(tmp_path: Path) -> None:
    result = qxub("exec", "-v", "-q", "normal", "-P", "a56", "--", "true", cwd=tmp_path)
    assert result.returncode == 0
    assert "cannot honour --queue, --project" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--mem", "lots"],
        ["--mem", "16"],
        ["--runtime", "soon"],
        ["--var", "NOEQUALS"],
        ["--var", "1BAD=x"],
        ["--sif", "x.sif", "--env", "y"],
        ["--bind", "/a"],
        ["--gpu-type", "a100"],
        ["--default", "--mod", "gcc"],
        ["--cpus", "0"],
        ["--scheduler", "lsf"],
        ["--template", "/no/such/file"],
    ],
)
def test_bad_input_is_one_clear_line(tmp_path: Path, args: list[str]) -> None:
    result = qxub("exec", *args, "--", "true", cwd=tmp_path)
    assert_one_line_error(result)
    assert qxub("status").stderr.startswith("no jobs")


def test_no_command(tmp_path: Path) -> None:
    result = qxub("exec", "--mem", "1GB", cwd=tmp_path)
    assert_one_line_error(result)
    assert "after `--`" in result.stderr


def test_unknown_job_id() -> None:
    result = qxub("wait", "999.local")
    assert_one_line_error(result)
    assert "qxub status" in result.stderr
