"""Job arrays, dependencies and mail: on the local runner end to end (real bash jobs), and the
directives PBS and Slurm get for them (--dry). Real PBS and Slurm run them in test_exec_pbs.py
and test_exec_slurm.py."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from helpers import assert_one_line_error, qxub, qxub_popen

FAIL_3 = (
    'echo "out $QXUB_ARRAY_INDEX"; echo "err $QXUB_ARRAY_INDEX" >&2; [ "$QXUB_ARRAY_INDEX" != 3 ]'
)


def test_an_array_runs_each_index_with_its_output_prefixed(tmp_path: Path) -> None:
    result = qxub("exec", "--array", "1-4", "--", "sh", "-c", FAIL_3 + " || exit 7", cwd=tmp_path)
    assert result.returncode == 7, result.stderr
    assert sorted(result.stdout.splitlines()) == [f"[{i}] out {i}" for i in range(1, 5)]
    assert {f"[{i}] err {i}" for i in range(1, 5)} <= set(result.stderr.splitlines())
    assert "exit code 7 (sub-job 3 failed (1 of 4))" in result.stderr.splitlines()[-1]
    job_id = result.stderr.split("qxub: job ", 1)[1].split()[0]
    status = qxub("status", job_id).stdout.splitlines()
    assert status[1].split()[:4] == [job_id, "local", "finished", "7"]
    assert [line.split()[:4] for line in status[2:]] == [
        [f"{job_id}[{i}]", "local", "finished", "7" if i == 3 else "0"] for i in range(1, 5)
    ]
    waited = qxub("wait", "--quiet", job_id)
    assert waited.returncode == 7
    assert sorted(waited.stdout.splitlines()) == sorted(result.stdout.splitlines())


def test_an_array_that_succeeds_exits_0(tmp_path: Path) -> None:
    result = qxub("exec", "--array", "1,3,7", "--", "sh", "-c", "echo $QXUB_ARRAY_INDEX")
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.splitlines()) == ["[1] 1", "[3] 3", "[7] 7"]


def test_array_parallel_bounds_the_sub_jobs_at_once(tmp_path: Path) -> None:
    # Each sub-job holds a slot file while it runs; none may see more than one other.
    script = (
        'touch "slot.$QXUB_ARRAY_INDEX"; sleep 0.5; n=$(ls slot.* | wc -l); '
        'rm "slot.$QXUB_ARRAY_INDEX"; echo "$n"'
    )
    result = qxub(
        "exec", "--array", "1-6", "--array-parallel", "2", "--quiet", "--", "sh", "-c", script,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    seen = [int(line.split()[1]) for line in result.stdout.splitlines()]
    assert len(seen) == 6 and max(seen) == 2


def test_ctrl_c_cancels_the_whole_array(tmp_path: Path) -> None:
    proc = qxub_popen("exec", "--array", "1-3", "--", "sleep", "60", cwd=tmp_path)
    assert proc.stderr is not None
    line = ""
    while "started" not in line:
        line = proc.stderr.readline()
        assert line, "qxub ended before the array started"
    job_id = line.split()[2]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    status = qxub("status", job_id).stdout.splitlines()
    assert all("cancelled" in row for row in status[1:]), status


def test_after_waits_for_success_and_never_runs_after_a_failure(tmp_path: Path) -> None:
    first = qxub("exec", "--terse", "--", "sh", "-c", "sleep 1; touch first_done", cwd=tmp_path)
    second = qxub(
        "exec", "--after", first.stdout.strip(), "--", "sh", "-c", "test -f first_done && echo ok",
        cwd=tmp_path,
    )  # fmt: skip
    assert (second.returncode, second.stdout) == (0, "ok\n"), second.stderr
    failing = qxub("exec", "--terse", "--", "sh", "-c", "sleep 1; exit 4", cwd=tmp_path)
    never = qxub("exec", "--after", failing.stdout.strip(), "--", "touch", "ran", cwd=tmp_path)
    assert_one_line_error(never)
    assert f"did not run: job {failing.stdout.strip()}" in never.stderr
    assert "failed (exit code 4)" in never.stderr
    assert not (tmp_path / "ran").exists()
    anyway = qxub(
        "exec", "--after-any", failing.stdout.strip(), "--", "echo", "anyway", cwd=tmp_path
    )
    assert (anyway.returncode, anyway.stdout) == (0, "anyway\n"), anyway.stderr


def test_after_an_array_waits_for_all_of_it(tmp_path: Path) -> None:
    array = qxub(
        "exec", "--terse", "--array", "1-3", "--", "sh", "-c",
        'sleep "$QXUB_ARRAY_INDEX"; touch "done.$QXUB_ARRAY_INDEX"', cwd=tmp_path,
    )  # fmt: skip
    started = time.monotonic()
    after = qxub(
        "exec", "--after", array.stdout.strip(), "--", "sh", "-c", "ls done.* | wc -l",
        cwd=tmp_path,
    )  # fmt: skip
    assert (after.returncode, after.stdout.strip()) == (0, "3"), after.stderr
    assert time.monotonic() - started > 1.5


def test_after_an_unknown_local_job_is_an_error(tmp_path: Path) -> None:
    result = qxub("exec", "--after", "999.local", "--", "true", cwd=tmp_path)
    assert_one_line_error(result)
    assert "no local job 999.local" in result.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--array", "5-2"], "empty range"),
        (["--array", "1-x"], "is not N, A-B or A-B:STEP"),
        (["--array-parallel", "2"], "--array-parallel needs --array"),
        (["--array", "1-3", "--out", "o.txt"], "each write their own"),
        (["--mail-on", "lunch"], "lunch is not an event"),
        (["--after", "1.local;rm"], "is not a job id"),
        (["--scheduler", "pbs", "--array", "1,3,7", "--dry"], "PBS cannot run --array 1,3,7"),
    ],
)
def test_bad_sequencing_options_are_one_clear_line(
    tmp_path: Path, args: list[str], said: str
) -> None:
    result = qxub("exec", *args, "--", "true", cwd=tmp_path)
    assert_one_line_error(result)
    assert said in result.stderr


def test_pbs_directives_for_arrays_dependencies_and_mail(tmp_path: Path) -> None:
    result = qxub(
        "exec", "--dry", "--scheduler", "pbs", "--array", "1-100:2", "--array-parallel", "4",
        "--after", "12.gadi-pbs,13.gadi-pbs", "--after-any", "14.gadi-pbs",
        "--mail", "me@example.org", "--mail-on", "begin,fail", "--", "python3", "train.py",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("#PBS")]
    assert lines[:8] == [
        "#PBS -N train",
        "#PBS -S /bin/bash",
        "#PBS -J 1-100:2",
        "#PBS -W max_run_subjobs=4",
        "#PBS -W depend=afterok:12.gadi-pbs:13.gadi-pbs,afterany:14.gadi-pbs",
        "#PBS -M me@example.org",
        "#PBS -m ba",
        "#PBS -j n",
    ]
    assert '__qxub_idx="${PBS_ARRAY_INDEX:?' in result.stdout


def test_slurm_directives_for_arrays_dependencies_and_mail(tmp_path: Path) -> None:
    result = qxub(
        "exec", "--dry", "--scheduler", "slurm", "--array", "1,3,7", "--array-parallel", "2",
        "--after", "12", "--after-any", "14", "--mail", "--", "bash", "run.sh", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("#SBATCH")]
    for wanted in (
        "#SBATCH --job-name=run",
        "#SBATCH --array=1,3,7%2",
        "#SBATCH --dependency=afterok:12,afterany:14",
        "#SBATCH --kill-on-invalid-dep=yes",
        "#SBATCH --mail-type=END,FAIL",
    ):
        assert wanted in lines, (wanted, lines)
    assert not any("mail-user" in line for line in lines)
    assert '__qxub_idx="${SLURM_ARRAY_TASK_ID:?' in result.stdout


@pytest.mark.parametrize(
    ("command", "name"),
    [
        (["python3", "train.py"], "train"),
        (["python3", "-u", "src/fit.model.py", "--lr", "1"], "fit.model"),
        (["python", "-m", "pkg.sweep"], "sweep"),
        (["bash", "run.sh"], "run"),
        (["python3", "-c", "print(1)"], "python3"),
        (["./simulate", "x"], "simulate"),
    ],
)
def test_the_job_name_is_the_script_or_program(
    tmp_path: Path, command: list[str], name: str
) -> None:
    result = qxub("exec", "--dry", "--scheduler", "slurm", "--", *command, cwd=tmp_path)
    assert f"#SBATCH --job-name={name}\n" in result.stdout, result.stdout


def test_array_options_are_forwarded_over_remote(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / ".git").mkdir(parents=True)
    result = qxub(
        "exec", "--remote", "local", "--array", "1-3:2", "--array-parallel", "1", "--",
        "sh", "-c", 'echo "$QXUB_ARRAY_INDEX"; exit "$QXUB_ARRAY_INDEX"', cwd=project,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == ["[1] 1", "[3] 3"]
    assert "sub-jobs 1, 3 failed (2 of 2)" in result.stderr
