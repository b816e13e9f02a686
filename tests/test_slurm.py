"""SlurmScheduler against a real single-node Slurm (tests/slurm_cluster.py starts it).

Only the directive tests run without Slurm; everything else submits real jobs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from qxub.errors import QxubError, SchedulerError
from qxub.job.spec import JobSpec, Resources
from qxub.proc import Result, run
from qxub.schedulers.base import JobState, State
from qxub.schedulers.slurm import SlurmScheduler, slurm_size, slurm_time
from qxub.schedulers.slurm_parse import job_state

from slurm_cluster import SlurmCluster

GB = 1024**3


def spec_for(**fields: object) -> JobSpec:
    return JobSpec(argv=("python", "train.py"), execdir="/work", **fields)  # type: ignore[arg-type]


# -- directives (no Slurm needed) ---------------------------------------------------------


def test_directives_for_a_full_spec() -> None:
    spec = spec_for(
        name="train",
        queue="gpu",
        project="a56",
        resources=Resources(
            mem=16 * GB,
            cpus=8,
            runtime=2 * 3600 + 30 * 60,
            disk=100 * GB,
            gpus=2,
            gpu_type="a100",
            extra=(("constraint", "skylake"), ("exclusive", "")),
        ),
    )
    assert SlurmScheduler().directives(spec, Path("/logs/job 1")) == [
        "#SBATCH --job-name=train",
        "#SBATCH --partition=gpu",
        "#SBATCH --account=a56",
        "#SBATCH --ntasks=1",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --mem=16G",
        "#SBATCH --time=02:30:00",
        "#SBATCH --gres=gpu:a100:2",
        "#SBATCH --tmp=100G",
        '#SBATCH --output="/logs/job 1/slurm.out"',
        '#SBATCH --error="/logs/job 1/slurm.err"',
        "#SBATCH --constraint=skylake",
        "#SBATCH --exclusive",
    ]


def test_directives_for_a_bare_spec() -> None:
    lines = SlurmScheduler().directives(spec_for(), Path("/logs/1"))
    assert lines == [
        "#SBATCH --job-name=train",  # `python train.py` is named after its script
        "#SBATCH --output=/logs/1/slurm.out",
        "#SBATCH --error=/logs/1/slurm.err",
    ]


def test_directive_values_are_made_safe() -> None:
    spec = spec_for(name="my job=1", resources=Resources(extra=(("comment", 'say "hi" #1'),)))
    lines = SlurmScheduler().directives(spec, Path("/logs/100%"))
    assert lines[0] == "#SBATCH --job-name=my_job_1"
    assert lines[1] == "#SBATCH --output=/logs/100%%/slurm.out"
    assert lines[-1] == '#SBATCH --comment="say \\"hi\\" #1"'
    with pytest.raises(QxubError):
        SlurmScheduler().directives(spec_for(), Path("/logs/a\nb"))
    with pytest.raises(QxubError):
        SlurmScheduler().directives(
            spec_for(resources=Resources(extra=(("a b", "1"),))), Path("/l")
        )


def test_units() -> None:
    assert slurm_size(GB) == "1G"
    assert slurm_size(1536 * 1024**2) == "1536M"
    assert slurm_size(1000) == "1M"  # rounded up: never ask for less than was asked
    assert slurm_time(45) == "00:00:45"
    assert slurm_time(2 * 86400 + 3661) == "2-01:01:01"


def test_storage_is_unhonoured() -> None:
    assert SlurmScheduler().unhonoured(spec_for(resources=Resources(storage="gdata/a56"))) == [
        "--storage"
    ]
    assert SlurmScheduler().unhonoured(spec_for()) == []


def test_state_mapping_of_recorded_slurm_words() -> None:
    assert job_state("COMPLETED", "0:0", "None") == JobState(State.DONE, 0, None, "COMPLETED")
    assert job_state("FAILED", "0:53", "JobLaunchFailure").reason == "launch failed"
    assert job_state("CANCELLED by 0", "0:0", None).exit_code == 143
    assert job_state("TIMEOUT", "0:9", None) == JobState(State.DONE, 137, "time limit", "TIMEOUT")
    assert job_state("OUT_OF_MEMORY", "0:125", None).exit_code == 137
    assert job_state("NODE_FAIL", "0:0", None).reason == "node failure"
    assert job_state("PENDING", "0:0", "Priority") == JobState(
        State.QUEUED, None, "Priority", "PENDING"
    )
    assert job_state("COMPLETING", "0:0", None).state is State.RUNNING
    assert job_state("", "", None).state is State.UNKNOWN


# -- real Slurm -----------------------------------------------------------------------------

SLURM = pytest.mark.slurm


def submit(tmp_path: Path, body: str, spec: JobSpec | None = None) -> tuple[str, Path]:
    """Write a job script with qxub's directives around `body`, submit it; (job id, logdir)."""
    logdir = tmp_path / "log dir %x"  # a space and a Slurm pattern character, on purpose
    logdir.mkdir()
    sched = SlurmScheduler()
    lines = ["#!/bin/bash", *sched.directives(spec or spec_for(name="t"), logdir), body, ""]
    script = tmp_path / "job.sh"
    script.write_text("\n".join(lines))
    return sched.submit(script, logdir), logdir


def wait_for(
    job_id: str, states: set[State], timeout: float = 15.0, scheduler: SlurmScheduler | None = None
) -> JobState:
    sched = scheduler or SlurmScheduler()
    deadline = time.monotonic() + timeout
    while True:
        seen = sched.state(job_id)
        if seen.state in states or time.monotonic() > deadline:
            return seen
        time.sleep(0.1)


@SLURM
def test_job_runs_and_exits_zero(slurm_env: SlurmCluster, tmp_path: Path) -> None:
    job_id, logdir = submit(tmp_path, f"echo hello > {tmp_path}/made.txt\necho to-slurm-out")
    assert job_id.isdigit()
    assert wait_for(job_id, {State.DONE}, 30) == JobState(State.DONE, 0, None, "COMPLETED")
    assert (tmp_path / "made.txt").read_text() == "hello\n"
    assert (logdir / "slurm.out").read_text() == "to-slurm-out\n"
    assert (logdir / "slurm.err").exists()


@SLURM
def test_exit_code_is_the_scripts(slurm_env: SlurmCluster, tmp_path: Path) -> None:
    job_id, _ = submit(tmp_path, "exit 4")
    assert wait_for(job_id, {State.DONE}) == JobState(State.DONE, 4, None, "FAILED")


@SLURM
def test_killed_by_a_signal(slurm_env: SlurmCluster, tmp_path: Path) -> None:
    job_id, _ = submit(tmp_path, "kill -9 $$")
    seen = wait_for(job_id, {State.DONE})
    assert (seen.state, seen.exit_code, seen.raw_state) == (State.DONE, 137, "FAILED")
    assert seen.reason == "killed by SIGKILL"


@SLURM
def test_cancel_a_running_job(slurm_env: SlurmCluster, tmp_path: Path) -> None:
    job_id, _ = submit(tmp_path, f"touch {tmp_path}/started\nsleep 300")
    assert wait_for(job_id, {State.RUNNING, State.DONE}).state is State.RUNNING
    # RUNNING comes before the script's first line: cancel once the script has begun.
    deadline = time.monotonic() + 30
    while not (tmp_path / "started").exists():
        assert time.monotonic() < deadline, "the running job never started its script"
        time.sleep(0.05)
    sched = SlurmScheduler()
    sched.cancel(job_id)
    assert wait_for(job_id, {State.DONE}) == JobState(State.DONE, 143, "cancelled", "CANCELLED")
    sched.cancel(job_id)  # already ended: not an error
    assert (tmp_path / "started").exists()


@SLURM
def test_held_job_is_queued_with_its_reason(slurm_env: SlurmCluster, tmp_path: Path) -> None:
    spec = spec_for(name="held", resources=Resources(extra=(("hold", ""),)))
    job_id, _ = submit(tmp_path, "true", spec)
    assert SlurmScheduler().state(job_id) == JobState(State.QUEUED, None, "JobHeldUser", "PENDING")
    SlurmScheduler().cancel(job_id)
    assert wait_for(job_id, {State.DONE}).reason == "cancelled"


@SLURM
def test_time_limit(slurm_env: SlurmCluster, tmp_path: Path) -> None:
    """Slurm checks time limits every 30 s (hard-coded), so this takes up to about 30 s."""
    job_id, _ = submit(tmp_path, "sleep 300", spec_for(resources=Resources(runtime=3600)))
    assert wait_for(job_id, {State.RUNNING, State.DONE}).state is State.RUNNING
    # A job's limit cannot be under a minute; a limit of 0 makes it overdue at once.
    slurm_env.run("scontrol", "update", f"JobId={job_id}", "TimeLimit=0")
    seen = wait_for(job_id, {State.DONE}, timeout=45)
    assert seen == JobState(State.DONE, 143, "time limit", "TIMEOUT")


@SLURM
def test_accounting_fallback_reads_the_jobcomp_file(
    slurm_env: SlurmCluster, tmp_path: Path
) -> None:
    job_id, _ = submit(tmp_path, "exit 3")
    assert wait_for(job_id, {State.DONE}).exit_code == 3

    def controller_forgot(
        argv: Sequence[str],
        *,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Result:
        if argv[0] == "scontrol":
            return Result(tuple(argv), 1, "", "slurm_load_jobs error: Invalid job id specified")
        return run(argv, check=check, env=env, timeout=timeout)

    # No accounting storage here: plain sacct fails, `sacct -c` reads the jobcomp file.
    seen = SlurmScheduler(runner=controller_forgot).state(job_id)
    assert seen == JobState(State.DONE, 3, None, "FAILED")


@SLURM
def test_unknown_job(slurm_env: SlurmCluster) -> None:
    sched = SlurmScheduler()
    assert sched.state("987654") == JobState(State.UNKNOWN)
    sched.cancel("987654")  # nothing to cancel: not an error


@SLURM
def test_unknown_partition_is_a_clear_error(slurm_env: SlurmCluster, tmp_path: Path) -> None:
    with pytest.raises(SchedulerError) as caught:
        submit(tmp_path, "true", spec_for(queue="nope"))
    assert "Invalid partition name specified" in caught.value.message
    assert caught.value.hint and "sinfo" in caught.value.hint


@SLURM
def test_too_much_memory_is_a_clear_error(slurm_env: SlurmCluster, tmp_path: Path) -> None:
    with pytest.raises(SchedulerError) as caught:
        submit(tmp_path, "true", spec_for(resources=Resources(mem=1024**5)))
    assert "Requested node configuration is not available" in caught.value.message
    assert caught.value.hint and "--mem" in caught.value.hint


@SLURM
def test_controller_down_is_an_error_not_unknown(slurm_env: SlurmCluster) -> None:
    # A dead controller costs scontrol 18 s of retries, so its answer is replayed (as recorded
    # here); the accounting fallback that follows runs for real and knows no such job.
    def controller_down(
        argv: Sequence[str],
        *,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Result:
        if argv[0] == "scontrol":
            said = "slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n"
            return Result(tuple(argv), 1, "", said)
        return run(argv, check=check, env=env, timeout=timeout)

    with pytest.raises(SchedulerError) as caught:
        SlurmScheduler(runner=controller_down).state("987654")
    assert "Unable to contact slurm controller" in caught.value.message
