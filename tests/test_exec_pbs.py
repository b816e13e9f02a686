"""`qxub exec`, `wait`, `status` and `cancel` against a REAL OpenPBS server (tests/pbs_server.py):
qxub runs as the submitting user inside PBS's network namespace, exactly as a user on a PBS login
node would run it. The recorded-output tests (test_pbs*.py) stay: they cover Gadi's own wording,
which OpenPBS does not produce.

The server has two cpus and may be shared with other test runs, so a job may queue for a while:
the timeouts allow for it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

import children
from pbs_server import PbsServer, PbsUserDir

pytestmark = pytest.mark.pbs

JOB_TIMEOUT = 180  # a job may wait behind others' on the two cpus


def qxub(
    server: PbsServer, where: PbsUserDir, *args: str, timeout: float = JOB_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """The real qxub, as the submitting user, inside the namespace."""
    return server.run(
        sys.executable, "-m", "qxub", *args, cwd=where.work, env=where.env, timeout=timeout
    )


def qxub_popen(server: PbsServer, where: PbsUserDir, *args: str) -> subprocess.Popen[str]:
    return children.popen(
        server.argv(sys.executable, "-m", "qxub", *args),
        cwd=where.work,
        env=where.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )


def submitted_id(proc: subprocess.Popen[str], until: str = "submitted") -> str:
    """Read qxub's status lines until one says `until`; the job id of the first."""
    assert proc.stderr is not None
    job_id = ""
    while True:
        line = proc.stderr.readline()
        assert line, f"qxub ended before saying {until!r}"
        if not job_id and line.startswith("qxub: job "):
            job_id = line.split()[2]
        if until in line:
            return job_id


@pytest.mark.parametrize(
    ("script", "code"),
    [("echo hi; echo oops >&2", 0), ("echo hi; echo oops >&2; exit 3", 3)],
)
def test_output_and_exit_code(
    pbs_server: PbsServer, pbs_user_dir: PbsUserDir, script: str, code: int
) -> None:
    result = qxub(pbs_server, pbs_user_dir, "exec", "--", "sh", "-c", script)
    assert result.returncode == code, result.stderr
    assert result.stdout == "hi\n"
    assert "oops" in result.stderr
    assert "submitted to pbs" in result.stderr
    job_id = result.stderr.split("qxub: job ", 1)[1].split()[0]
    record = pbs_server.wait_finished(job_id)
    assert record["Exit_status"] == code
    assert record["Job_Owner"].startswith(f"{pbs_server.user}@")


def test_a_command_killed_by_a_signal_exits_128_plus_n(
    pbs_server: PbsServer, pbs_user_dir: PbsUserDir
) -> None:
    result = qxub(pbs_server, pbs_user_dir, "exec", "--", "sh", "-c", "echo before; kill -9 $$")
    assert result.returncode == 137, result.stderr
    assert result.stdout == "before\n"


def test_lines_show_while_the_job_runs(pbs_server: PbsServer, pbs_user_dir: PbsUserDir) -> None:
    script = "for i in 1 2 3 4 5 6; do echo line $i; sleep 0.5; done"
    proc = qxub_popen(pbs_server, pbs_user_dir, "exec", "--quiet", "--", "sh", "-c", script)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    seen_at = time.monotonic()
    assert first == "line 1\n"
    rest = proc.stdout.read()
    done_at = time.monotonic()
    assert proc.wait(timeout=JOB_TIMEOUT) == 0
    assert rest.count("line") == 5
    assert done_at - seen_at > 1.5, "the first line arrived only at the end"


def test_the_job_sees_its_directory_and_resources(
    pbs_server: PbsServer, pbs_user_dir: PbsUserDir
) -> None:
    result = qxub(
        pbs_server, pbs_user_dir, "exec", "--cpus", "1", "--mem", "100MB", "--runtime", "5m",
        "-N", "named", "--", "sh", "-c", 'echo "$PWD $PBS_JOBNAME"',
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{pbs_user_dir.work} named\n"
    job_id = result.stderr.split("qxub: job ", 1)[1].split()[0]
    asked = pbs_server.qstat(job_id)["Resource_List"]
    assert (asked["ncpus"], asked["mem"], asked["walltime"]) == (1, "100mb", "00:05:00")


def test_a_walltime_kill_is_reported_with_pbs_reason(
    pbs_server: PbsServer, pbs_user_dir: PbsUserDir
) -> None:
    result = qxub(pbs_server, pbs_user_dir, "exec", "--runtime", "5s", "--", "sleep", "60")
    assert result.returncode == 143, result.stderr
    last = result.stderr.splitlines()[-1]
    assert "exit code 143 (walltime exceeded (used " in last and "limit 5)" in last, last
    job_id = result.stderr.split("qxub: job ", 1)[1].split()[0]
    assert pbs_server.wait_finished(job_id)["Exit_status"] == -29  # JOB_EXEC_KILL_WALLTIME


def test_cancel_from_another_shell_while_running(
    pbs_server: PbsServer, pbs_user_dir: PbsUserDir
) -> None:
    proc = qxub_popen(pbs_server, pbs_user_dir, "exec", "--", "sleep", "120")
    job_id = submitted_id(proc, until="started")
    cancelled = qxub(pbs_server, pbs_user_dir, "cancel", job_id, timeout=60)
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"job {job_id} cancelled" in cancelled.stderr
    assert proc.wait(timeout=60) == 143
    assert proc.stderr is not None
    last = proc.stderr.read().splitlines()[-1]
    assert f"exit code 143 (deleted while running (qdel by {pbs_server.user}@" in last, last
    status = qxub(pbs_server, pbs_user_dir, "status", job_id, timeout=60)
    assert "cancelled" in status.stdout and "143" in status.stdout, status.stdout


def test_qdel_while_queued(pbs_server: PbsServer, pbs_user_dir: PbsUserDir) -> None:
    # Three cpus on a two-cpu server: PBS keeps the job queued for ever.
    proc = qxub_popen(pbs_server, pbs_user_dir, "exec", "--cpus", "3", "--", "true")
    job_id = submitted_id(proc, until="queued")
    assert pbs_server.qstat(job_id)["job_state"] == "Q"
    status = qxub(pbs_server, pbs_user_dir, "status", job_id, timeout=60)
    assert "queued" in status.stdout, status.stdout
    deleted = pbs_server.run("qdel", job_id)
    assert deleted.returncode == 0, deleted.stderr
    assert proc.wait(timeout=90) == 143
    assert proc.stderr is not None
    last = proc.stderr.read().splitlines()[-1]
    assert "deleted" in last, last


def test_sigint_qdels_the_job(pbs_server: PbsServer, pbs_user_dir: PbsUserDir) -> None:
    proc = qxub_popen(pbs_server, pbs_user_dir, "exec", "--", "sleep", "120")
    job_id = submitted_id(proc, until="started")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    record = pbs_server.wait_finished(job_id)
    assert record["job_state"] == "F"
    assert record["Exit_status"] == 256 + signal.SIGTERM


def test_wait_from_another_shell_and_after_the_end(
    pbs_server: PbsServer, pbs_user_dir: PbsUserDir
) -> None:
    submitted = qxub(
        pbs_server, pbs_user_dir, "exec", "--terse", "--", "sh", "-c", "sleep 2; echo out; exit 5"
    )
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    waited = qxub(pbs_server, pbs_user_dir, "wait", job_id)
    assert waited.returncode == 5, waited.stderr
    assert waited.stdout == "out\n"
    pbs_server.wait_finished(job_id)
    again = qxub(pbs_server, pbs_user_dir, "wait", "--quiet", job_id)
    assert (again.returncode, again.stdout) == (5, "out\n")
    status = qxub(pbs_server, pbs_user_dir, "status", job_id, timeout=60)
    assert "finished" in status.stdout and " 5 " in status.stdout, status.stdout


def test_a_job_killed_before_its_exit_trap_ran(
    pbs_server: PbsServer, pbs_user_dir: PbsUserDir
) -> None:
    # The command kills the job script's own shell: no EXIT trap, so no exit code file; the
    # code comes from PBS's Exit_status (256 + SIGKILL), read through `qstat -x`.
    result = qxub(pbs_server, pbs_user_dir, "exec", "--", "sh", "-c", "echo x; kill -9 $PPID")
    assert result.returncode == 137, result.stderr
    assert result.stdout == "x\n"
    [logdir] = [p for p in pbs_user_dir.jobs.iterdir() if p.is_dir() and p.name != "by-id"]
    assert not (logdir / "exit_code").exists()
    job_id = result.stderr.split("qxub: job ", 1)[1].split()[0]
    status = qxub(pbs_server, pbs_user_dir, "status", job_id, timeout=60)
    assert "finished" in status.stdout and " 137 " in status.stdout, status.stdout


def test_qstat_refusals_for_finished_and_unknown_jobs(
    pbs_server: PbsServer, pbs_user_dir: PbsUserDir
) -> None:
    """What the engine relies on: plain qstat refuses a finished job (35) and an unknown one
    (153); `qstat -x` has the finished one."""
    done = qxub(pbs_server, pbs_user_dir, "exec", "--terse", "--", "true")
    job_id = done.stdout.strip()
    pbs_server.wait_finished(job_id)
    finished = pbs_server.run("qstat", job_id)
    assert (finished.returncode, "Job has finished" in finished.stderr) == (35, True)
    sequence, server = job_id.split(".", 1)
    unknown = pbs_server.run("qstat", f"9{sequence}999.{server}")
    assert (unknown.returncode, "Unknown Job Id" in unknown.stderr) == (153, True)
    engine = (
        "import sys; from qxub.schedulers.pbs import PbsScheduler; "
        "print(*(PbsScheduler().state(j) for j in sys.argv[1:]), sep='\\n')"
    )
    states = pbs_server.run(sys.executable, "-c", engine, job_id, f"9{sequence}999.{server}")
    assert states.stdout.splitlines() == [
        "JobState(state=<State.DONE: 'done'>, exit_code=0, reason=None, raw_state='F')",
        "JobState(state=<State.UNKNOWN: 'unknown'>, exit_code=None, reason=None, raw_state=None)",
    ], states.stderr


FAIL_3 = 'echo "out $PBS_ARRAY_INDEX"; [ "$QXUB_ARRAY_INDEX" != 3 ] || exit 5'


def test_an_array_on_pbs(pbs_server: PbsServer, pbs_user_dir: PbsUserDir) -> None:
    result = qxub(pbs_server, pbs_user_dir, "exec", "--array", "1-4", "--", "sh", "-c", FAIL_3)
    assert result.returncode == 5, result.stderr
    assert sorted(result.stdout.splitlines()) == [f"[{i}] out {i}" for i in range(1, 5)]
    assert "exit code 5 (sub-job 3 failed (1 of 4))" in result.stderr.splitlines()[-1]
    job_id = result.stderr.split("qxub: job ", 1)[1].split()[0]
    assert "[]." in job_id
    status = qxub(pbs_server, pbs_user_dir, "status", job_id, timeout=60).stdout.splitlines()
    assert [line.split()[:4] for line in status[1:]] == [
        [job_id, "pbs", "finished", "5"],
        *[
            [job_id.replace("[]", f"[{i}]"), "pbs", "finished", "5" if i == 3 else "0"]
            for i in range(1, 5)
        ],
    ]
    waited = qxub(pbs_server, pbs_user_dir, "wait", "--quiet", job_id)
    assert waited.returncode == 5
    sub = pbs_server.wait_finished(job_id.replace("[]", "[3]"))
    assert sub["Exit_status"] == 5


def test_after_on_pbs(pbs_server: PbsServer, pbs_user_dir: PbsUserDir) -> None:
    first = qxub(
        pbs_server, pbs_user_dir, "exec", "--terse", "--", "sh", "-c", "sleep 2; touch first_done"
    )
    assert first.returncode == 0, first.stderr
    check = f"test -f {pbs_user_dir.work}/first_done && echo ok"
    second = qxub(
        pbs_server, pbs_user_dir, "exec", "--after", first.stdout.strip(), "--", "sh", "-c", check
    )
    assert (second.returncode, second.stdout) == (0, "ok\n"), second.stderr
    failing = qxub(pbs_server, pbs_user_dir, "exec", "--terse", "--", "sh", "-c", "exit 4")
    never = qxub(
        pbs_server, pbs_user_dir, "exec", "--after", failing.stdout.strip(), "--mail",
        "--mail-on", "begin,end", "--", "touch", "ran",
    )  # fmt: skip
    assert never.returncode == 1, never.stderr
    assert "did not run: PBS deleted it: a job it comes after did not succeed" in never.stderr
    assert not (pbs_user_dir.work / "ran").exists()
    job_id = never.stderr.split("qxub: job ", 1)[1].split()[0]
    assert pbs_server.qstat(job_id)["Mail_Points"] == "be"


def test_sigint_cancels_a_whole_array(pbs_server: PbsServer, pbs_user_dir: PbsUserDir) -> None:
    proc = qxub_popen(pbs_server, pbs_user_dir, "exec", "--array", "1-2", "--", "sleep", "120")
    job_id = submitted_id(proc, until="started")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    for index in (1, 2):
        record = pbs_server.wait_finished(job_id.replace("[]", f"[{index}]"))
        assert record["job_state"] in ("F", "X"), record
    status = qxub(pbs_server, pbs_user_dir, "status", job_id, timeout=60).stdout.splitlines()
    assert all("cancelled" in row for row in status[1:]), status
