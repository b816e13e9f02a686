"""The PBS Pro engine (qxub/schedulers/pbs.py), tested against RECORDED REAL PBS OUTPUT.

The engine also runs against a real OpenPBS (test_exec_pbs.py); these tests cover what that
server does not say: Gadi's and other sites' wording, older versions, recorded bugs. The
engine's commands go through an injected runner that replays output recorded on real PBS Pro /
OpenPBS systems (NCI Gadi, ALCF Aurora and Polaris, MetaCentrum, NSCC, az-hop, OpenPBS
developers' builds and others), stored under tests/data/pbs/ with each file's provenance in its
README.md; no mocking library. The parsers those answers go through are tested on the same
recordings in test_pbs_parse.py and test_pbs_output.py.

Where a test needs output no one has recorded (a qstat that accepts one option and refuses
another), it says so and derives it from a recorded file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from qxub.errors import SchedulerError, UsageError
from qxub.job.spec import JobSpec, Resources
from qxub.proc import Result
from qxub.schedulers.base import JobState, State
from qxub.schedulers.pbs import PbsScheduler, pbs_job_name, qsub_error

from pbs_recordings import AURORA, DATA, GB, METACENTRUM, PARSL_ERR, PARSL_OUT, read, tsv_rows


def test_every_recorded_sample_is_used_by_a_test() -> None:
    here = Path(__file__).parent
    sources = [p.read_text() for p in [*here.glob("test_pbs*.py"), here / "pbs_recordings.py"]]
    samples = [p.name for p in DATA.iterdir() if p.name != "README.md"]
    assert [name for name in samples if not any(name in s for s in sources)] == []
    readme = read("README.md")
    assert [name for name in samples if name not in readme] == []  # each has its provenance


# --- directives ------------------------------------------------------------------------------


def test_directives_for_a_full_spec() -> None:
    spec = JobSpec(
        argv=("python", "train.py"),
        execdir="/scratch/a56/me/proj",
        name="train model #1",
        project="a56",
        queue="normal",
        resources=Resources(
            mem=16 * GB, cpus=4, runtime=2 * 3600 + 30 * 60, disk=100 * GB, gpus=1,
            storage="scratch/a56+gdata/a56", extra=(("place", "excl"),),
        ),
    )  # fmt: skip
    assert PbsScheduler().directives(spec, Path("/home/me/.local/state/qxub/jobs/7")) == [
        "#PBS -N train_model__1",
        "#PBS -S /bin/bash",
        "#PBS -P a56",
        "#PBS -q normal",
        "#PBS -l ncpus=4",
        "#PBS -l mem=16GB",
        "#PBS -l walltime=02:30:00",
        "#PBS -l jobfs=100GB",
        "#PBS -l ngpus=1",
        "#PBS -l storage=scratch/a56+gdata/a56",
        "#PBS -l place=excl",
        "#PBS -j n",
        "#PBS -o /home/me/.local/state/qxub/jobs/7/pbs.out",
        "#PBS -e /home/me/.local/state/qxub/jobs/7/pbs.err",
    ]


def test_directives_for_a_bare_spec() -> None:
    spec = JobSpec(argv=("/usr/bin/python3", "-c", "print(1)"), execdir="/tmp")
    assert PbsScheduler().directives(spec, Path("/logs")) == [
        "#PBS -N python3",
        "#PBS -S /bin/bash",
        "#PBS -j n",
        "#PBS -o /logs/pbs.out",
        "#PBS -e /logs/pbs.err",
    ]


def test_job_names_pbs_accepts() -> None:
    assert pbs_job_name("2020-run") == "q2020-run"
    assert pbs_job_name("a b\tc/d") == "a_b_c_d"
    assert pbs_job_name("x" * 300) == "x" * 15
    assert pbs_job_name("run_1.v2-final") == "run_1.v2-final"


def test_directive_values_with_spaces_are_refused() -> None:
    spec = JobSpec(argv=("true",), execdir="/tmp", queue="normal queue")
    with pytest.raises(UsageError, match="--queue"):
        PbsScheduler().directives(spec, Path("/logs"))
    with pytest.raises(UsageError, match="log directory"):
        PbsScheduler().directives(JobSpec(argv=("true",), execdir="/tmp"), Path("/my logs"))


def test_gpu_type_is_left_to_the_platform() -> None:
    gpu = JobSpec(argv=("x",), execdir="/", resources=Resources(gpus=1, gpu_type="a100"))
    assert PbsScheduler().unhonoured(gpu) == ["--gpu-type"]
    assert PbsScheduler().unhonoured(JobSpec(argv=("x",), execdir="/")) == []


# --- the engine, replaying recorded output ---------------------------------------------------


class Replay:
    """A runner that answers each argv with a recorded output, and notes what was asked."""

    def __init__(self, answers: dict[tuple[str, ...], tuple[int, str, str]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, ...]] = []

    def __call__(
        self, argv: Sequence[str], *, check: bool = True, timeout: float | None = None
    ) -> Result:
        assert check is False and timeout is not None  # the engine judges the answer itself
        self.calls.append(tuple(argv))
        returncode, stdout, stderr = self.answers[tuple(argv)]
        return Result(tuple(argv), returncode, stdout, stderr)


def json_ask(job_id: str) -> tuple[str, ...]:
    return ("qstat", "-x", "-f", "-F", "json", job_id)


def test_submit_returns_qsubs_job_id(tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    runner = Replay({("qsub", str(script)): (0, read("qsub-stdout-gadi-2025.txt"), "")})
    engine = PbsScheduler(runner)
    assert engine.submit_argv(script, tmp_path) == ["qsub", str(script)]
    assert engine.submit(script, tmp_path) == "136703295.gadi-pbs"


def test_submit_without_a_job_id_is_an_error(tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    runner = Replay({("qsub", str(script)): (0, "", "")})
    with pytest.raises(SchedulerError, match="no job id"):
        PbsScheduler(runner).submit(script, tmp_path)


# What each real qsub message in error-messages-real.tsv must become.
QSUB_MEANINGS = {
    "Job violates queue and/or server resource limits": "the job asks for more than the queue",
    "would exceed queue generic's per-user limit": "you already have as many jobs queued",
    "Resource: filesystems is required to be set.": "PBS refused the job's storage request",
    "Account_Name is required to be set.": "this cluster requires a project",
    "Job rejected by all possible destinations": "no queue behind the routing queue",
    "not a member of project": "PBS refused the project",
    "[PBSInvalidProject]": "PBS refused the project",
    "qsub: Unknown queue": "PBS does not know that queue",
}


@pytest.mark.parametrize("row", tsv_rows("qsub"), ids=lambda r: r["message"][:40])
def test_real_qsub_refusals_become_clear_errors(row: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    runner = Replay({("qsub", str(script)): (1, "", row["message"] + "\n")})
    with pytest.raises(SchedulerError) as caught:
        PbsScheduler(runner).submit(script, tmp_path)
    [meaning] = [m for key, m in QSUB_MEANINGS.items() if key in row["message"]]
    assert caught.value.message.startswith(meaning)
    assert caught.value.message.endswith(row["message"])  # qsub's own words are kept
    assert caught.value.hint


def test_a_server_that_does_not_answer_names_the_local_runner() -> None:
    """qsub installed, its server away (a laptop with PBS's client, a server down)."""
    error = qsub_error("qsub: cannot connect to server vm (errno=15010)\n")
    assert "no PBS server answers here" in error.message
    assert "cannot connect to server vm" in error.message
    assert error.hint is not None and "--scheduler local" in error.hint


def test_unknown_qsub_errors_pass_through() -> None:
    # `qsub -I` progress lines are the other qsub rows of the .tsv: not errors, and qxub never
    # runs `qsub -I`; one of them stands in for a message no pattern knows.
    [waiting, _ready] = tsv_rows("qsub -I")
    error = qsub_error(waiting["message"])
    assert error.message == f"qsub refused the job: {waiting['message']}"


def test_state_of_a_walltime_kill_from_json() -> None:
    job_id = "6617182.aurora-pbs-0001.hostmgmt.cm.aurora.alcf.anl.gov"
    engine = PbsScheduler(Replay({json_ask(job_id): (0, read(AURORA), "")}))
    assert engine.state(job_id) == JobState(
        State.DONE, exit_code=143, reason="walltime exceeded", raw_state="F"
    )
    job = engine.job(job_id)
    assert job is not None and job.used.walltime == 6 * 3600 + 80


def test_state_of_a_running_job_given_without_its_server_suffix() -> None:
    engine = PbsScheduler(Replay({json_ask("12860476"): (0, read(METACENTRUM), "")}))
    assert engine.state("12860476") == JobState(State.RUNNING, raw_state="R")


def test_unknown_job_id_is_unknown() -> None:
    # The message is recorded; qstat's exit code for it (153) is derived, not observed.
    said = read("qstat-stderr-unknown-job-id-pbspro-2024.1-nscc-opencomposer-pr9.txt")
    engine = PbsScheduler(Replay({json_ask("256.sod-pbs"): (153, "", said)}))
    assert engine.state("256.sod-pbs") == JobState(State.UNKNOWN)


def test_without_job_history_a_vanished_job_has_ended() -> None:
    # Two recordings from different servers stitched into one scenario: the history refusal
    # (az-hop) and qstat's answer without -x (NSCC's unknown-id message).
    history_off = read("qstat-stderr-job-history-not-enabled-azhop-issue14.txt")
    unknown = read("qstat-stderr-unknown-job-id-pbspro-2024.1-nscc-opencomposer-pr9.txt")
    runner = Replay({
        json_ask("256.sod-pbs"): (0, "", history_off),  # PBSE_JOBHISTNOTSET exits 0
        ("qstat", "-f", "-F", "json", "256.sod-pbs"): (153, "", unknown),
    })  # fmt: skip
    engine = PbsScheduler(runner)
    expected = JobState(State.DONE, reason="job ended; PBS kept no record of how")
    assert engine.state("256.sod-pbs") == expected
    assert engine.state("256.sod-pbs") == expected
    # The refusal is remembered: the second poll did not ask for -x again.
    without_x = ("qstat", "-f", "-F", "json", "256.sod-pbs")
    assert runner.calls == [json_ask("256.sod-pbs"), without_x, without_x]


def test_job_finished_without_x_has_ended() -> None:
    job_id = "5487654.polaris-pbs-01.hsn.cm.polaris.alcf.anl.gov"
    history_off = read("qstat-stderr-job-history-not-enabled-azhop-issue14.txt")
    runner = Replay({
        json_ask(job_id): (0, "", history_off),
        ("qstat", "-f", "-F", "json", job_id): (35, read(PARSL_OUT), read(PARSL_ERR)),
    })  # fmt: skip
    state = PbsScheduler(runner).state(job_id)
    assert (state.state, state.exit_code) == (State.DONE, None)


def test_qstat_without_json_falls_back_to_text() -> None:
    # A qstat refusing an option (recorded from PBS Pro 12.1, for -f1) stands in for a qstat
    # without -F json; the text answer is Gadi's.
    job_id = "137011321.gadi-pbs"
    runner = Replay({
        json_ask(job_id): (2, "", "qstat: conflicting options.\nusage: ...\n"),
        ("qstat", "-x", "-f", job_id): (0, read("qstat-fx-finished-F-exit-0-gadi-2025.txt"), ""),
    })  # fmt: skip
    engine = PbsScheduler(runner)
    assert engine.state(job_id) == JobState(State.DONE, exit_code=0, raw_state="F")
    assert engine.state(job_id).exit_code == 0
    assert runner.calls == [json_ask(job_id)] + [("qstat", "-x", "-f", job_id)] * 2
    [conflicting] = tsv_rows("qstat -f1")
    assert conflicting["message"] == "qstat: conflicting options."


def test_unreadable_json_is_retried_as_text_once() -> None:
    # Derived: an unescaped quote inside a value (openpbs#830) breaks the JSON beyond repair.
    # Stitched: the JSON answer is MetaCentrum's, the text answer Gadi's.
    job_id = "137011321.gadi-pbs"
    broken = read(METACENTRUM).replace('"swrap_01"', '"swrap "01""')
    runner = Replay({
        json_ask(job_id): (0, broken, ""),
        ("qstat", "-x", "-f", job_id): (0, read("qstat-fx-finished-F-exit-0-gadi-2025.txt"), ""),
    })  # fmt: skip
    engine = PbsScheduler(runner)
    assert engine.state(job_id).exit_code == 0
    engine.state(job_id)
    assert runner.calls == [json_ask(job_id), ("qstat", "-x", "-f", job_id)] * 2


def test_other_qstat_failures_are_errors() -> None:
    [finished] = tsv_rows("qstat -f -F json")  # no -x: history exists, so this is not "gone"
    # Derived: qstat reports a malformed id with the message qdel printed here (both come
    # from the same PBS client library); it is neither "unknown" nor "finished".
    said = read("qdel-stderr-illegally-formed-job-identifier-pbspro-13.1-clustermq-issue186.txt")
    said = said.replace("qdel:", "qstat:")
    runner = Replay({json_ask("cmq7082"): (1, "", said)})
    with pytest.raises(SchedulerError, match="illegally formed job identifier"):
        PbsScheduler(runner).state("cmq7082")
    runner = Replay({json_ask("5487654"): (35, "", finished["message"])})
    assert PbsScheduler(runner).state("5487654").state is State.DONE


@pytest.mark.parametrize(
    "name",
    [
        "qdel-stderr-job-has-finished-openpbs-pr2513.txt",
        "qdel-stderr-unknown-job-id-single-openpbs-pr2379.txt",
        "qdel-stderr-unknown-job-id-two-jobs-openpbs-pr2379.txt",
    ],
)
def test_cancelling_an_ended_job_is_not_an_error(name: str) -> None:
    # qdel's exit codes were not recorded; any failing code will do.
    runner = Replay({("qdel", "3100"): (1, "", read(name))})
    PbsScheduler(runner).cancel("3100")
    assert runner.calls == [("qdel", "3100")]


def test_cancel_failures_name_the_fix() -> None:
    said = read("qdel-stderr-illegally-formed-job-identifier-pbspro-13.1-clustermq-issue186.txt")
    runner = Replay({("qdel", "cmq7082"): (1, "", said), ("qdel", "0.pbspro"): (0, "", "")})
    engine = PbsScheduler(runner)
    engine.cancel("0.pbspro")
    with pytest.raises(SchedulerError, match="illegally formed") as caught:
        engine.cancel("cmq7082")
    assert caught.value.hint is not None and "gadi-pbs" in caught.value.hint
    for row in tsv_rows("qdel"):
        if "illegally" not in row["message"]:
            PbsScheduler(Replay({("qdel", "1"): (1, "", row["message"])})).cancel("1")


def test_a_kill_notice_in_the_jobs_files_names_the_limit(tmp_path: Path) -> None:
    """Gadi records a jobfs kill as 271 (SIGTERM); its .o file says which limit. Derived: the
    OpenPBS record of a job that ended with 271 (tests/data/pbs), as failed (substate 93)
    rather than deleted, its Output_Path pointing at Gadi's recorded .o file of such a kill."""
    out = tmp_path / "pbs.out"
    out.write_text(read("gadi-job-output-footer-jobfs-exceeded-exit-271-payu-issue587.txt"))
    record = json.loads(
        read("qstat-x-f-F-json-deleted-while-running-openpbs-23.06.06-cd7ab5e.json")
    )
    job = record["Jobs"]["16.vm"]
    job.update(substate=93, Output_Path=f"vm:{out}", Error_Path=f"vm:{tmp_path / 'none'}")
    engine = PbsScheduler(Replay({json_ask("16.vm"): (0, json.dumps(record), "")}))
    assert engine.state("16.vm") == JobState(
        State.DONE,
        exit_code=143,
        reason="jobfs exceeded (used 15.0GB, limit 15.0GB)",
        raw_state="F",
    )
