"""`qxub exec --scheduler slurm` end to end against the real single-node Slurm that
tests/slurm_cluster.py starts: output streams while the job runs, the exit code is the job's,
Ctrl-C scancels it."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers import qxub, qxub_popen
from slurm_cluster import SlurmCluster

pytestmark = pytest.mark.slurm


def test_output_and_exit_code(slurm_env: SlurmCluster, tmp_path: Path) -> None:
    result = qxub(
        "exec",
        "--scheduler",
        "slurm",
        "--",
        "sh",
        "-c",
        "echo hi; echo oops >&2; exit 4",
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 4, result.stderr
    assert result.stdout == "hi\n"
    assert "oops" in result.stderr
    assert "submitted to slurm" in result.stderr


def test_slurm_is_detected_when_configured(slurm_env: SlurmCluster, tmp_path: Path) -> None:
    result = qxub("exec", "--", "true", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "submitted to slurm" in result.stderr


def test_lines_show_while_the_job_runs(slurm_env: SlurmCluster, tmp_path: Path) -> None:
    script = "for i in 1 2 3 4 5 6; do echo line $i; sleep 0.5; done"
    proc = qxub_popen(
        "exec", "--scheduler", "slurm", "--quiet", "--", "sh", "-c", script, cwd=tmp_path
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    seen_at = time.monotonic()
    assert first == "line 1\n"
    rest = proc.stdout.read()
    done_at = time.monotonic()
    assert proc.wait(timeout=60) == 0
    assert rest.count("line") == 5
    assert done_at - seen_at > 1.5, "the first line arrived only at the end"


def test_sigint_scancels_the_job(slurm_env: SlurmCluster, tmp_path: Path) -> None:
    proc = qxub_popen("exec", "--scheduler", "slurm", "--", "sleep", "60", cwd=tmp_path)
    assert proc.stderr is not None
    line = ""
    while "started" not in line:
        line = proc.stderr.readline()
        assert line, "qxub ended before the job started"
    job_id = line.split()[2]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    deadline = time.monotonic() + 20
    state = ""
    while time.monotonic() < deadline:
        state = slurm_env.run("squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T").stdout.strip()
        if state == "CANCELLED":
            break
        time.sleep(0.2)
    assert state == "CANCELLED"
    assert "cancelled" in qxub("status", job_id).stdout


def test_resources_reach_sbatch(slurm_env: SlurmCluster, tmp_path: Path) -> None:
    result = qxub(
        "exec",
        "--scheduler",
        "slurm",
        "--cpus",
        "1",
        "--mem",
        "100MB",
        "--runtime",
        "5m",
        "-N",
        "named",
        "--",
        "sh",
        "-c",
        'echo "$SLURM_JOB_NAME $SLURM_CPUS_PER_TASK"',
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "named 1\n"


FAIL_3 = 'echo "out $SLURM_ARRAY_TASK_ID"; [ "$QXUB_ARRAY_INDEX" != 3 ] || exit 5'


def test_an_array_on_slurm(slurm_env: SlurmCluster, tmp_path: Path) -> None:
    result = qxub(
        "exec", "--scheduler", "slurm", "--array", "1-4", "--", "sh", "-c", FAIL_3,
        cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert result.returncode == 5, result.stderr
    assert sorted(result.stdout.splitlines()) == [f"[{i}] out {i}" for i in range(1, 5)]
    assert "exit code 5 (sub-job 3 failed (1 of 4))" in result.stderr.splitlines()[-1]
    job_id = result.stderr.split("qxub: job ", 1)[1].split()[0]
    status = qxub("status", job_id).stdout.splitlines()
    assert [line.split()[:4] for line in status[1:]] == [
        [job_id, "slurm", "finished", "5"],
        *[[f"{job_id}_{i}", "slurm", "finished", "5" if i == 3 else "0"] for i in range(1, 5)],
    ]
    assert qxub("wait", "--quiet", job_id, timeout=120).returncode == 5


def test_after_on_slurm(slurm_env: SlurmCluster, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return qxub("exec", "--scheduler", "slurm", *args, cwd=tmp_path, timeout=120)

    first = run("--terse", "--", "sh", "-c", "sleep 2; touch first_done")
    second = run("--after", first.stdout.strip(), "--", "sh", "-c", "test -f first_done && echo ok")
    assert (second.returncode, second.stdout) == (0, "ok\n"), second.stderr
    failing = run("--terse", "--", "sh", "-c", "exit 4")
    never = run("--after", failing.stdout.strip(), "--", "touch", "ran")
    assert never.returncode == 1, never.stderr
    assert "did not run: Slurm cancelled it: a job it comes after did not succeed" in never.stderr
    assert not (tmp_path / "ran").exists()
