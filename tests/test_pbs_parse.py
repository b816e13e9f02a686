"""PBS's full job records (`qstat -f`, text and JSON), its version, and its exit statuses:
the parsers in qxub/schedulers/pbs_parse.py, tested against RECORDED REAL PBS OUTPUT.

They parse output recorded on real PBS Pro / OpenPBS systems (NCI Gadi, ALCF Aurora and
Polaris, UNSW Katana, MetaCentrum, OpenPBS developers' builds, the OpenPBS the tests build and
others), stored under tests/data/pbs/ with each file's provenance in its README.md; the real
OpenPBS itself is exercised in test_exec_pbs.py.

Where a test needs output no one has recorded (PBS's badly escaped JSON), it says so and
derives it from a recorded file.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from qxub.schedulers.base import JobState, State
from qxub.schedulers.pbs_parse import (
    PbsParseError,
    exit_code_from_pbs,
    parse_job_id,
    parse_pbs_size,
    parse_qstat_full,
    parse_qstat_json,
    pbs_version,
)

from pbs_recordings import AURORA, GB, KB, METACENTRUM, PARSL_ERR, PARSL_OUT, read

# --- qstat -f (text) -------------------------------------------------------------------------


def test_qstat_fx_finished_gadi() -> None:
    [job] = parse_qstat_full(read("qstat-fx-finished-F-exit-0-gadi-2025.txt"))
    assert (job.job_id, job.name, job.state, job.substate) == (
        "137011321.gadi-pbs", "solo-job", "F", 92
    )  # fmt: skip
    assert (job.owner, job.queue, job.project) == (
        "am9079@gadi-login-09.gadi.nci.org.au", "normal-exec", "cd82"
    )  # fmt: skip
    assert job.exit_status == 0
    assert job.job_state() == JobState(State.DONE, exit_code=0, raw_state="F")
    used = job.used
    assert (used.cput, used.walltime, used.ncpus, used.cpupercent) == (1, 34, 4, 5)
    assert (used.mem, used.vmem, used.jobfs) == (404316 * KB, 404316 * KB, 0)
    assert job.requested["walltime"] == "00:30:00"
    assert job.requested["storage"] == "scratch/cd82"
    # A value wrapped mid-token onto a tab-indented line is joined back without a gap.
    assert job.requested["select"] == (
        "1:ncpus=4:mpiprocs=4:mem=3221225472:job_tags=normal:jobfs=104857600"
    )
    assert parse_pbs_size(job.requested["mem"]) == 3 * GB
    assert job.comment == (
        "Job run at Fri Mar 14 at 16:57 on "
        "(gadi-cpu-clx-2119:ncpus=4:mem=3145728kb:jobfs=102400kb) and finished"
    )
    assert (job.ctime, job.qtime, job.etime) == (datetime(2025, 3, 14, 16, 57, 24),) * 3
    assert job.stime == datetime(2025, 3, 14, 16, 57, 57)
    assert job.mtime == job.obittime == datetime(2025, 3, 14, 16, 58, 41)
    assert job.attributes["history_timestamp"] == "1741931921"
    path = "PBS_O_PATH=/home/578/am9079/.local/bin:/home/578/am9079/bin:/opt/pbs/default/bin:"
    assert path in job.attributes["Variable_List"]


def test_qstat_xf_finished_katana_interactive() -> None:
    [job] = parse_qstat_full(read("qstat-xf-finished-F-pbspro-2023-katana-unsw.txt"))
    assert (job.job_id, job.name, job.state, job.exit_status) == (
        "4686875.kman.restech.unsw.edu.au", "hacky", "F", 0
    )  # fmt: skip
    assert job.job_state() == JobState(State.DONE, exit_code=0, raw_state="F")
    assert (job.used.cput, job.used.walltime, job.used.mem, job.used.ncpus) == (0, 9, 6896 * KB, 1)
    assert job.used.jobfs is None
    assert (job.queue, job.project, job.substate) == ("cse12", "_pbs_project_default", 92)
    assert job.attributes["Error_Path"] == "/dev/pts/0"
    assert job.attributes["eligible_time"] == "00:00:19"
    assert job.ctime == datetime(2023, 8, 10, 16, 10, 39)
    assert job.stime == datetime(2023, 8, 10, 16, 10, 55)
    assert job.obittime == datetime(2023, 8, 10, 16, 11, 9)
    assert job.comment == (
        "Job run at Thu Aug 10 at 16:10 on (k242:ncpus=1:mem=1048576kb:ngpus=0) and finished"
    )


def test_qstat_f_queued_katana_with_tabs_turned_to_spaces() -> None:
    [job] = parse_qstat_full(read("qstat-f-queued-pbspro-2020-katana-unsw-tabs-as-spaces.txt"))
    # Terminal trailing spaces on the first lines are not part of the values.
    assert (job.job_id, job.name, job.state, job.substate) == (
        "315236.kman.restech.unsw.edu.au", "job.pbs", "Q", 10
    )  # fmt: skip
    assert job.job_state() == JobState(State.QUEUED, raw_state="Q")
    assert job.exit_status is None and job.used.walltime is None and job.stime is None
    assert job.ctime == job.qtime == job.etime == datetime(2020, 5, 1, 14, 41)
    assert job.requested == {
        "ib": "no", "mem": "1gb", "ncpus": "1", "ngpus": "0", "nodect": "1", "place": "pack",
        "select": "1:mem=1gb:ncpus=1", "walltime": "01:00:00",
    }  # fmt: skip
    assert job.attributes["Variable_List"] == (
        "PBS_O_HOME=/home/z1234567,PBS_O_LANG=en_AU.UTF-8,PBS_O_LOGNAME=z1234567,"
        "PBS_O_PATH=/home/z1234567/bin:/usr/lib64/qt-3.3/bin:/usr/lib64/ccache:/usr/local/bin:"
        "/usr/bin:/usr/local/sbin:/usr/sbin:/opt/pbs/bin,PBS_O_MAIL=/var/spool/mail/z1234567,"
        "PBS_O_SHELL=/bin/bash,PBS_O_WORKDIR=/home/z1234567/src,PBS_O_SYSTEM=Linux,"
        "PBS_O_QUEUE=submission,PBS_O_HOST=katana2"
    )


def test_qstat_f_six_jobs_queued_running_held() -> None:
    jobs = parse_qstat_full(read("qstat-f-multi-job-Q-R-H-pbspro-2013-aiida.txt"))
    assert [(j.job_id, j.state, j.job_state().state) for j in jobs] == [
        ("68350.mycluster", "Q", State.QUEUED),
        ("68351.mycluster", "Q", State.QUEUED),
        ("69301.mycluster", "R", State.RUNNING),
        ("69302.mycluster", "H", State.QUEUED),
        ("74164.mycluster", "R", State.RUNNING),
        ("74165.mycluster", "H", State.QUEUED),
    ]
    assert all(j.exit_status is None for j in jobs)
    running = jobs[2]
    assert running.used.cput == 4090 * 3600 + 56 * 60 + 3
    assert running.used.walltime == 64 * 3600 + 26 * 60 + 16
    assert (running.used.mem, running.used.vmem) == (13378420 * KB, 9866188 * KB)
    assert (running.used.ncpus, running.used.cpupercent) == (64, 6384)
    assert running.ctime == datetime(2013, 4, 10, 17, 10, 29)
    assert running.stime == datetime(2013, 4, 20, 1, 36, 59)
    assert running.mtime == datetime(2013, 4, 20, 1, 37, 1)
    assert running.attributes["Account_Name"] == "lsu"
    # The closing parenthesis wrapped onto a line of its own.
    assert running.attributes["exec_vnode"] == (
        "(b141:ncpus=16)+(b142:ncpus=16)+(b143:ncpus=16)+(b144:ncpus=16)"
    )
    assert jobs[0].comment == "Not Running: Node is in an ineligible state: offline"
    assert jobs[0].ctime == datetime(2013, 4, 9, 15, 1, 47)
    # A comment exactly as wide as the wrap leaves an empty line inside the record.
    assert jobs[4].comment == "Job run at Mon Apr 22 at 07:17 on (b270:ncpus=16)+(b275:ncpus=16)"
    assert jobs[4].etime == datetime(2013, 4, 22, 7, 17, 34)
    assert (jobs[4].used.cput, jobs[4].used.walltime) == (343 * 3600 + 11 * 60 + 42, 38713)
    assert jobs[3].attributes["Hold_Types"] == "s" and jobs[3].used.cput is None


def test_qstat_f_running_and_queued_gadi_like() -> None:
    [running] = parse_qstat_full(read("qstat-f-running-gadi-like-pbspro-2026-aiida.txt"))
    [queued] = parse_qstat_full(read("qstat-f-queued-gadi-like-pbspro-2026-aiida.txt"))
    assert running.job_id == queued.job_id == "171390152.mycluster"
    assert running.job_state() == JobState(State.RUNNING, raw_state="R")
    assert queued.job_state() == JobState(State.QUEUED, raw_state="Q")
    used = running.used
    assert (used.cput, used.walltime, used.ncpus) == (0, 10, 1)
    assert (used.mem, used.vmem, used.jobfs) == (0, 0, 0)
    assert queued.used.walltime is None and queued.stime is None
    assert running.stime == datetime(2026, 6, 17, 4, 57, 53)
    assert running.mtime == datetime(2026, 6, 17, 4, 58, 6)
    assert queued.ctime == running.ctime == datetime(2026, 6, 17, 4, 56, 36)
    assert running.comment == (
        "Job run at Wed Jun 17 at 04:57 on (mycluster-cpu-0686:ncpus=1:mem=512000kb:jobfs=102400kb)"
    )
    assert (running.queue, running.project, running.requested["jobfs"]) == (
        "normal-exec", "proj", "104857600b"
    )  # fmt: skip


def test_qstat_f_bash_function_with_raw_newlines() -> None:
    [job] = parse_qstat_full(
        read("qstat-f-queued-bash-function-in-Variable_List-pbspro-2026-aiida.txt")
    )
    assert (job.job_id, job.state, job.project) == ("171389798.mycluster", "Q", "proj")
    assert job.exit_status is None and job.used.cput is None
    assert job.ctime == job.etime == datetime(2026, 6, 17, 4, 50, 46)
    assert job.attributes["Variable_List"].endswith(
        "BASH_FUNC_my_func_multiline%%=() {  if true; then\n echo foo; else\n echo bar; fi\n},"
        "_=/opt/pbs/default/bin/qsub,PBS_O_QUEUE=normal"
    )
    assert job.attributes["Submit_Host"] == "user@mycluster.cluster"


# --- qstat -f -F json, and the version -------------------------------------------------------

MIXED = "qstat-u-fF-JSON-mixed-output-bug-openpbs-23.06.06-pr2675.txt"


def test_qstat_json_aurora_walltime_kills() -> None:
    answer = parse_qstat_json(read(AURORA))
    assert answer.pbs_version == "2022.1.7.20241004133957"
    assert answer.pbs_server == "aurora-pbs-0001.hostmgmt.cm.aurora.alcf.anl.gov"
    suffix = ".aurora-pbs-0001.hostmgmt.cm.aurora.alcf.anl.gov"
    assert [(j.job_id, j.state, j.exit_status, j.substate) for j in answer.jobs] == [
        ("6617175" + suffix, "F", -29, 93),
        ("6617182" + suffix, "F", -29, 93),
        ("6631289" + suffix, "F", 0, 92),
        ("4905472" + suffix, "H", None, 20),
    ]
    states = [j.job_state() for j in answer.jobs]
    assert states == [
        JobState(State.DONE, exit_code=143, reason="walltime exceeded", raw_state="F"),
        JobState(State.DONE, exit_code=143, reason="walltime exceeded", raw_state="F"),
        JobState(State.DONE, exit_code=0, raw_state="F"),
        JobState(State.QUEUED, raw_state="H"),
    ]
    killed = answer.jobs[0]
    used = killed.used
    assert (used.cput, used.walltime, used.ncpus, used.cpupercent) == (
        45682 * 3600 + 59 * 60 + 56, 6 * 3600 + 84, 8320, 768779
    )  # fmt: skip
    assert (used.mem, used.vmem) == (151384560 * KB, 343240704444 * KB)
    assert killed.requested["walltime"] == "06:00:00"
    assert killed.ctime == datetime(2025, 7, 20, 11, 46, 27)
    assert killed.stime == datetime(2025, 7, 23, 15, 35, 36)
    assert killed.obittime == datetime(2025, 7, 23, 21, 37, 59)
    assert (killed.name, killed.queue, killed.project) == (
        "aurora_plinko_mov_r2_sim5", "tiny", "TwinBlood"
    )  # fmt: skip
    assert killed.comment is not None and killed.comment.endswith("and exceeded resource walltime")
    finished = answer.jobs[2]
    assert (finished.used.cput, finished.used.walltime) == (804, 110)
    assert finished.used.mem == 39709260 * KB
    assert finished.obittime == datetime(2025, 7, 23, 21, 33, 27)
    held = answer.jobs[3]
    assert held.comment == "Job held by mmin on Wed May 21 19:15:37 2025"
    assert held.used.walltime is None and held.stime is None
    assert held.ctime == datetime(2025, 5, 20, 17, 24, 47)


DELETED_RUNNING = "qstat-x-f-F-json-deleted-while-running-openpbs-23.06.06-cd7ab5e.json"
DELETED_QUEUED = "qstat-x-f-F-json-deleted-while-queued-openpbs-23.06.06-cd7ab5e.json"


def test_qstat_json_jobs_deleted_while_running_and_while_queued() -> None:
    """qdel: substate 91; a running job's Exit_status is 256 + SIGTERM, a queued one has none.
    Both report 143, like a cancelled Slurm job, with who deleted them when PBS says."""
    [running] = parse_qstat_json(read(DELETED_RUNNING)).jobs
    assert (running.job_id, running.substate, running.exit_status) == ("16.vm", 91, 271)
    assert running.job_state() == JobState(
        State.DONE,
        exit_code=143,
        reason="deleted while running (qdel by pbsuser@vm)",
        raw_state="F",
    )
    [queued] = parse_qstat_json(read(DELETED_QUEUED)).jobs
    assert (queued.job_id, queued.substate, queued.exit_status) == ("17.vm", 91, None)
    assert queued.job_state() == JobState(
        State.DONE, exit_code=143, reason="deleted before it ran (qdel)", raw_state="F"
    )


def test_qstat_json_metacentrum_running() -> None:
    answer = parse_qstat_json(read(METACENTRUM))
    assert (answer.pbs_version, answer.pbs_server) == ("19.0.0", "meta-pbs.metacentrum.cz")
    [job] = answer.jobs
    assert (job.job_id, job.name, job.state, job.substate) == (
        "12860476.meta-pbs.metacentrum.cz", "swrap_01", "R", 41
    )  # fmt: skip
    assert job.job_state() == JobState(State.RUNNING, raw_state="R")
    assert job.exit_status is None and job.used.walltime is None  # not yet reported
    assert job.requested["mem"] == "8gb" and job.requested["ncpus"] == "4"
    assert job.attributes["Variable_List.PBS_RESC_MEM"] == "4294967296"  # an unquoted number
    assert job.ctime == job.qtime == datetime(2022, 10, 4, 21, 23, 20)
    assert job.stime == job.mtime == datetime(2022, 10, 4, 21, 23, 33)


def test_qstat_json_finished_without_x_has_no_jobs() -> None:
    answer = parse_qstat_json(read(PARSL_OUT))
    assert answer.jobs == ()
    assert answer.pbs_version == "2024.1.2.20241017100211"
    assert answer.pbs_server == "polaris-pbs-01.hsn.cm.polaris.alcf.anl.gov"
    assert "5487654.polaris-pbs-01" in read(PARSL_ERR)


def test_qstat_json_after_a_table_openpbs_bug() -> None:
    text = read(MIXED)
    answer = parse_qstat_json(text)
    assert (answer.pbs_version, answer.pbs_server, answer.jobs) == ("23.06.06", "VMa", ())
    assert text.index("2000.VMa") < text.index("{")  # the table the bug prints first


def test_qstat_json_bad_escapes_and_raw_control_characters() -> None:
    # Derived from a recorded file: PBS before openpbs#2049 let `\'` and `\,` through from the
    # job's environment, and before openpbs#1255 wrote `"foo":005`; raw tabs and newlines in
    # strings come from exported bash functions. None of these was recorded in full.
    text = read(METACENTRUM).replace('"Linux"', '"Li\\\'nu\\,x\tend\nline"')
    text = text.replace('"PBS_NGPUS":0', '"PBS_NGPUS":005')
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    [job] = parse_qstat_json(text).jobs
    assert job.attributes["Variable_List.PBS_O_SYSTEM"] == "Li\\'nu\\,x\tend\nline"
    assert job.attributes["Variable_List.PBS_NGPUS"] == "005"
    assert job.state == "R"
    with pytest.raises(PbsParseError):
        parse_qstat_json("qstat: invalid option -- 'F'")


def test_pbs_version() -> None:
    assert pbs_version(read("qstat-version-pbspro-19.2.8-reframe-issue2936.txt")) == (
        "19.2.8.20200925072630"
    )
    assert pbs_version(read(METACENTRUM)) == "19.0.0"


# --- exit statuses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (0, (0, None)),
        (1, (1, None)),
        (137, (137, None)),  # a child killed by SIGKILL, as the job's shell reported it
        (265, (137, "killed by SIGKILL")),  # qdel of a running job
        (271, (143, "killed by SIGTERM")),  # Gadi footer, payu#587
        (-29, (143, "walltime exceeded")),
        (-27, (143, "memory exceeded")),
        (-25, (143, "ncpus exceeded (CPU use over the limit)")),
        (-17, (1, "a PBS hook rejected the job; it was deleted")),
        (-3, (1, "PBS could not start the job and will retry it")),
        (-99, (1, "PBS ended the job with status -99")),
    ],
)
def test_exit_code_from_pbs(status: int, expected: tuple[int, str | None]) -> None:
    assert exit_code_from_pbs(status) == expected


@pytest.mark.parametrize(
    ("name", "job_id"),
    [
        ("qsub-stdout-gadi-2025.txt", "136703295.gadi-pbs"),
        ("qsub-stdout-pbspro-cirrus-epcc.txt", "387775.indy2-login0"),
        ("qsub-stdout-pbspro-katana-unsw.txt", "315259.kman.restech.unsw.edu.au"),
        ("qsub-stdout-openpbs-pr2513.txt", "0.pbspro"),
        ("qsub-stdout-array-job-openpbs-pr2496.txt", "9[].djoko"),
        ("qsub-then-qstat-u-pbspro-cirrus-epcc.txt", "38759.indy2-login0"),
        ("transcript-qsub-qstat-qstat-x-qdel-finished-openpbs-pr2513.txt", "0.pbspro"),
    ],
)
def test_qsub_job_ids(name: str, job_id: str) -> None:
    assert parse_job_id(read(name)) == job_id
