"""The PBS Pro engine, tested against RECORDED REAL PBS OUTPUT.

PBS Pro cannot run here (no server, no licence, no execution hosts), so these tests do not
start one. Instead they parse output recorded on real PBS Pro / OpenPBS systems (NCI Gadi,
ALCF Aurora and Polaris, EPCC Cirrus, UNSW Katana, MetaCentrum, OpenPBS developers' builds),
stored under tests/data/pbs/ with each file's provenance in its README.md. The engine's
commands go through an injected runner that replays those recordings; no mocking library.

Where a test needs output no one has recorded (PBS's badly escaped JSON, a qstat that accepts
one option and refuses another), it says so and derives it from a recorded file.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest

from qxub.errors import SchedulerError, UsageError
from qxub.job.spec import JobSpec, Resources
from qxub.proc import Result
from qxub.schedulers.base import JobState, State
from qxub.schedulers.pbs import (
    PbsScheduler,
    parse_gadi_footer,
    parse_kill_notice,
    pbs_job_name,
    qsub_error,
)
from qxub.schedulers.pbs_parse import (
    PbsParseError,
    exit_code_from_pbs,
    parse_job_id,
    parse_pbs_size,
    parse_qstat_full,
    parse_qstat_json,
    parse_qstat_table,
    pbs_version,
)

DATA = Path(__file__).parent / "data" / "pbs"
KB, MB, GB, TB = 1024, 1024**2, 1024**3, 1024**4


def read(name: str) -> str:
    return (DATA / name).read_text()


def test_every_recorded_sample_is_used_by_a_test() -> None:
    samples = [p.name for p in DATA.iterdir() if p.name != "README.md"]
    source, readme = Path(__file__).read_text(), read("README.md")
    assert [name for name in samples if name not in source] == []
    assert [name for name in samples if name not in readme] == []  # each has its provenance


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


# --- qstat -f -F json ------------------------------------------------------------------------

AURORA = "qstat-x-f-F-json-finished-walltime-exceeded-minus29-pbspro-2022.1.7-aurora.json"
METACENTRUM = "qstat-xf-F-json-running-pbs-19.0.0-metacentrum-swrap.json"
PARSL_OUT = (
    "qstat-f-F-json-finished-job-without-x-stdout-pbspro-2024.1.2-polaris-parsl-issue3906.json"
)
PARSL_ERR = (
    "qstat-f-F-json-finished-job-without-x-stderr-pbspro-2024.1.2-polaris-parsl-issue3906.txt"
)
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
    [row] = parse_qstat_table(text)
    assert (row.job_id, row.user, row.queue, row.name, row.session_id) == (
        "2000.VMa", "amehm5", "workq", "STDIN", "6410"
    )  # fmt: skip
    assert (row.state, row.elapsed, row.req_mem, row.req_time) == ("R", "25:26", None, None)


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


# --- tables, job ids, versions --------------------------------------------------------------


def rows(name: str) -> list[tuple[str | bool | None, ...]]:
    return [
        (r.job_id, r.truncated, r.name, r.user, r.state, r.queue, r.time_use)
        for r in parse_qstat_table(read(name))
    ]


def alt_rows(name: str) -> list[tuple[str | bool | None, ...]]:
    return [
        (r.job_id, r.truncated, r.user, r.queue, r.name, r.session_id, r.nodes, r.tasks,
         r.req_mem, r.req_time, r.state, r.elapsed)
        for r in parse_qstat_table(read(name))
    ]  # fmt: skip


def test_default_tables() -> None:
    assert rows("qstat-default-table-queued-gadi-2025.txt") == [
        ("136709008.gadi-pbs", False, "hello-world", "am9079", "Q", "normal-exec", "0")
    ]
    assert rows("qstat-default-table-running-openpbs-pr2513.txt") == [
        ("0.pbspro", False, "STDIN", "ravi", "R", "workq", "0")
    ]
    assert rows("qstat-x-default-table-finished-openpbs-pr2513.txt") == [
        ("0.pbspro", False, "STDIN", "ravi", "F", "workq", "00:00:00")
    ]
    assert rows("qstat-default-table-openpbs-main-issue2672.txt") == [
        ("10.ip-10-0-6-176", False, "STDIN", "jobsubmit", "R", "small", "00:00:00"),
        ("11.ip-10-0-6-176", False, "STDIN", "jobsubmit", "R", "small", "00:00:00"),
    ]
    assert rows("qstat-default-table-two-running-openpbs-pr2280.txt") == [
        ("101.m2-3", False, "STDIN", "ragrawal", "R", "workq", "00:00:00"),
        ("201.m2-3", False, "STDIN", "ragrawal", "R", "workq", "00:00:00"),
    ]
    assert rows("qstat-default-table-truncated-ids-pbspro-2022-alcf-polaris.txt") == [
        ("349726.polaris-p", True, "PDE2", "user1", "Q", "prod", "0"),
        ("336987.polaris-p", True, "inf_clDB", "user2", "H", "large", "0"),
        ("353205.polaris-p", True, "3d-2.sub", "user3", "R", "large", "2044:14*"),
    ]
    katana = rows("qstat-default-table-truncated-time-use-pbspro-katana-unsw.txt")
    assert [(r[0], r[4], r[5], r[6]) for r in katana] == [
        ("245821.kman", "Q", "medicine200", "0"),
        ("280163.kman", "R", "mech700", "3876:18:"),
        ("282533.kman", "R", "cosmo200", "3280:08:"),
        ("284666.kman", "R", "cosmo200", "3279:27:"),
        ("308559.kman", "R", "maths200", "191:21:3"),
        ("309615.kman", "R", "babs200", "185:00:5"),
        ("310623.kman", "R", "simigpu200", "188:06:3"),
    ]


def test_array_subjob_tables() -> None:
    expected = [(f"9[{i}].djoko", False, "STDIN", "bayucan", "Q", "workq", "0") for i in range(11)]
    expected = expected[1:]
    expected[0] = ("9[1].djoko", False, "STDIN", "bayucan", "R", "workq", "0")
    assert rows("qstat-Jt-subjobs-table-openpbs-pr2496.txt") == expected
    transcript = "transcript-qsub-J-array-and-qstat-Jt-openpbs-pr2496.txt"
    assert rows(transcript) == expected
    assert parse_job_id(read(transcript)) == "9[].djoko"


def test_alternate_tables() -> None:
    assert alt_rows("qstat-u-table-queued-gadi-2025.txt") == [
        ("136703330.gadi-pbs", False, "am9079", "normal-*", "example-j*", None, "1", "1",
         "500mb", "10:00", "Q", None)
    ]  # fmt: skip
    assert alt_rows("qstat-fH-alt-table-finished-gadi-2025.txt") == [
        ("137011321.gadi-pbs", False, "am9079", "normal-*", "solo-job", "34923*", "1", "4",
         "3072m", "00:30", "F", "00:00")
    ]  # fmt: skip
    assert alt_rows("qstat-u-table-queued-pbspro-katana-unsw.txt") == [
        ("315230.kman.res", False, "z2134567", "general1", "job.pbs", None, "1", "1", "1gb",
         "01:00", "Q", None)
    ]  # fmt: skip
    assert alt_rows("qstat-u-table-running-pbspro-cirrus-epcc.txt") == [
        ("387775.indy2-lo", False, "yourUser", "workq", "example-jo", "50804", "1", "1", None,
         "96:00", "R", "00:00")
    ]  # fmt: skip
    assert alt_rows("qstat-u-table-renamed-job-pbspro-cirrus-epcc.txt") == [
        ("387778.indy2-lo", False, "yourUser", "workq", "new_name", "51536", "1", "1", None,
         "96:00", "R", "00:00")
    ]  # fmt: skip
    finished = alt_rows("qstat-x-u-table-finished-pbspro-cirrus-epcc.txt")
    assert [(r[0], r[4], r[5], r[9], r[10], r[11]) for r in finished] == [
        ("324396.indy2-lo", "test1", "57348", "00:01", "F", "00:00"),
        ("324397.indy2-lo", "test2", "57456", "00:01", "F", "00:01"),
        ("324401.indy2-lo", "test3", "58159", "00:00", "F", "00:00"),
        ("324410.indy2-lo", "test4", "34027", "00:05", "F", "00:05"),
        ("324418.indy2-lo", "test5", "35243", "00:05", "F", "00:01"),
    ]
    # The array row's columns are misaligned as posted; splitting on blanks still reads it.
    assert alt_rows("qstat-u-x-table-array-job-pbspro-13.1-clustermq-issue186.txt") == [
        ("3965541.pbsserv", False, "mstr3336", "small", "run_make_h", "60985", "1", "1", "16gb",
         "23:59", "F", "00:44"),
        ("3965544[].pbsse", False, "mstr3336", "small", "cmq7082", None, "1", "1", "4gb",
         "23:59", "F", None),
    ]  # fmt: skip


def test_alternate_tables_with_comments() -> None:
    katana = parse_qstat_table(read("qstat-su-table-with-comments-pbspro-katana-unsw.txt"))
    assert [(r.job_id, r.state, r.session_id, r.req_mem, r.elapsed, r.comment) for r in katana] == [
        ("315230.kman.res", "R", "61915", "1gb", "00:03",
         "Job run at Fri May 01 at 14:28 on (k019:mem=1048576kb:ncpus=1:ngpus=0)"),
        ("315233.kman.res", "Q", None, "1gb", None, None),
    ]  # fmt: skip
    polaris = parse_qstat_table(read("qstat-alt-format-with-comments-pbspro-2022-alcf-polaris.txt"))
    summary = [
        (r.job_id, r.truncated, r.name, r.nodes, r.tasks, r.state, r.elapsed) for r in polaris
    ]
    assert summary == [
        ("353201.polaris", True, "3d-1.sub", "60", "38*", "R", "08:25"),
        ("353289.polaris", True, "run_mae_l*", "32", "20*", "Q", None),
        ("353411.polaris", True, "1310W60", "64", "64", "Q", None),
        ("336990.polaris", True, "inf_clDB", "464", "29*", "H", None),
    ]
    assert polaris[1].comment == "Not Running: Job would conflict with reservation or top job"
    assert polaris[3].comment == "Job held by user4 on Mon Oct  3 20:16:26 2022"
    assert polaris[0].matches("353201.polaris-pbs-01.hsn.cm.polaris.alcf.anl.gov")
    assert not polaris[0].matches("353289.polaris-pbs-01.hsn.cm.polaris.alcf.anl.gov")


def test_transcripts() -> None:
    nscc = "transcript-qstat-x-and-unknown-job-id-pbspro-2024.1-nscc-opencomposer-pr9.txt"
    assert rows(nscc) == [
        ("282.sod-pbs", False, "sleep", "dzhang01", "F", "workq", "00:00:00"),
        ("284.sod-pbs", False, "sleep", "dzhang01", "R", "workq", "00:00:00"),
    ]
    assert "qstat: Unknown Job Id 256.sod-pbs" in read(nscc)
    pr2513 = "transcript-qsub-qstat-qstat-x-qdel-finished-openpbs-pr2513.txt"
    # qsub's id, then qstat showing it running, then (after a qstat that printed nothing
    # because the job had ended) qstat -x showing it finished, twice.
    assert parse_job_id(read(pr2513)) == "0.pbspro"
    assert [(r[0], r[4], r[6]) for r in rows(pr2513)] == [
        ("0.pbspro", "R", "0"), ("0.pbspro", "F", "00:00:00"), ("0.pbspro", "F", "00:00:00")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "job_id"),
    [
        ("qsub-stdout-gadi-2025.txt", "136703295.gadi-pbs"),
        ("qsub-stdout-pbspro-cirrus-epcc.txt", "387775.indy2-login0"),
        ("qsub-stdout-pbspro-katana-unsw.txt", "315259.kman.restech.unsw.edu.au"),
        ("qsub-stdout-openpbs-pr2513.txt", "0.pbspro"),
        ("qsub-stdout-array-job-openpbs-pr2496.txt", "9[].djoko"),
        ("qsub-then-qstat-u-pbspro-cirrus-epcc.txt", "38759.indy2-login0"),
    ],
)
def test_qsub_job_ids(name: str, job_id: str) -> None:
    assert parse_job_id(read(name)) == job_id


def test_qsub_then_qstat_u_row_matches_the_full_id() -> None:
    [row] = parse_qstat_table(read("qsub-then-qstat-u-pbspro-cirrus-epcc.txt"))
    assert (row.job_id, row.truncated, row.state, row.session_id, row.req_time, row.elapsed) == (
        "38759.indy2-log", False, "R", "32085", "00:10", "00:00"
    )  # fmt: skip
    assert row.matches("38759.indy2-login0") and row.matches("38759")
    assert not row.matches("387759.indy2-login0")


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


# --- job output: Gadi footers and kill notices ------------------------------------------------


def test_gadi_footer_exit_0() -> None:
    footer = parse_gadi_footer(read("gadi-job-output-footer-exit-0-2025-nci-job-parser-readme.txt"))
    assert footer is not None
    assert (footer.job_id, footer.project, footer.date) == (
        "142112589.gadi-pbs", "ei56", datetime(2025, 6, 2, 0, 24, 42)
    )  # fmt: skip
    assert (footer.exit_status, footer.exit_reason, footer.service_units) == (0, None, 639.55)
    assert (footer.ncpus_requested, footer.ncpus_used) == (16, 16)
    assert footer.cpu_time_used == 11 * 3600 + 21 * 60 + 45
    assert (footer.memory_requested, footer.memory_used) == (600 * GB, round(491.87 * GB))
    assert footer.walltime_requested == 12 * 3600
    assert footer.walltime_used == 11 * 3600 + 22 * 60 + 11
    assert (footer.jobfs_requested, footer.jobfs_used) == (500 * MB, 0)


def test_gadi_footer_after_program_output() -> None:
    text = read("gadi-job-stdout-with-footer-exit-0-2025.txt")
    assert text.startswith("This script is running on gadi-cpu-clx-1997.gadi.nci.org.au\n")
    footer = parse_gadi_footer(text)
    assert footer is not None
    assert (footer.job_id, footer.project, footer.exit_status, footer.service_units) == (
        "136703330.gadi-pbs", "cd82", 0, 0.0
    )  # fmt: skip
    assert footer.date == datetime(2025, 3, 10, 11, 2, 43)
    assert (footer.ncpus_requested, footer.ncpus_used, footer.cpu_time_used) == (1, 1, 0)
    assert (footer.memory_requested, footer.memory_used) == (500 * MB, round(6.97 * MB))
    assert (footer.walltime_requested, footer.walltime_used) == (10 * 3600, 0)
    assert (footer.jobfs_requested, footer.jobfs_used) == (100 * MB, 0)
    assert parse_kill_notice(text) is None


def test_gadi_footer_walltime_exceeded() -> None:
    text = read("gadi-job-stdout-with-footer-walltime-exceeded-exit-minus29-2025.txt")
    footer = parse_gadi_footer(text)
    assert footer is not None
    assert (footer.job_id, footer.exit_status, footer.exit_reason) == (
        "136709162.gadi-pbs", -29, "Job failed due to exceeding walltime"
    )  # fmt: skip
    assert exit_code_from_pbs(footer.exit_status) == (143, "walltime exceeded")
    assert (footer.walltime_requested, footer.walltime_used, footer.service_units) == (1, 11, 0.01)
    assert footer.memory_used == round(7.13 * MB)
    assert footer.date == datetime(2025, 3, 10, 12, 52, 38)
    assert (footer.ncpus_used, footer.cpu_time_used, footer.jobfs_used) == (1, 0, 0)
    notice = parse_kill_notice(read("gadi-job-stderr-walltime-exceeded-2025.txt"))
    assert notice is not None
    assert (notice.resource, notice.used, notice.limit) == ("walltime", "11", "1")
    assert notice.reason == "walltime exceeded (used 11, limit 1)"


def test_gadi_footer_jobfs_kill_reported_as_sigterm() -> None:
    text = read("gadi-job-output-footer-jobfs-exceeded-exit-271-payu-issue587.txt")
    footer = parse_gadi_footer(text)
    assert footer is not None
    assert (footer.job_id, footer.project, footer.exit_status, footer.exit_reason) == (
        "143560526.gadi-pbs", "tm70", 271, "Linux Signal 15 SIGTERM Termination"
    )  # fmt: skip
    assert exit_code_from_pbs(footer.exit_status) == (143, "killed by SIGTERM")
    assert (footer.service_units, footer.ncpus_requested, footer.ncpus_used) == (6522.65, 416, 416)
    assert footer.cpu_time_used == 3245 * 3600 + 4 * 60 + 29
    assert (footer.memory_requested, footer.memory_used) == (2 * TB, round(327.6 * GB))
    assert footer.walltime_requested == 12 * 3600
    assert footer.walltime_used == 7 * 3600 + 50 * 60 + 23
    assert (footer.jobfs_requested, footer.jobfs_used) == (60 * GB, round(11.74 * GB))
    assert footer.date == datetime(2025, 6, 21, 18, 33, 30)
    # The reason the footer's SIGTERM does not give is in the line above it.
    notice = parse_kill_notice(text)
    assert notice is not None
    assert (notice.resource, notice.used, notice.limit) == ("jobfs", "15.0GB", "15.0GB")


def test_kill_notice_cirrus() -> None:
    notice = parse_kill_notice(read("job-stderr-walltime-exceeded-pbspro-cirrus-epcc.txt"))
    assert notice is not None
    assert (notice.resource, notice.used, notice.limit) == ("walltime", "33", "30")


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
    assert pbs_job_name("x" * 300) == "x" * 236
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


def tsv_rows(command: str) -> list[dict[str, str]]:
    with (DATA / "error-messages-real.tsv").open(newline="") as f:
        return [r for r in csv.DictReader(f, delimiter="\t") if r["command"] == command]


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


def test_kill_notices_in_the_tsv() -> None:
    for row in tsv_rows("(job .e file)") + tsv_rows("(job .o file)"):
        notice = parse_kill_notice(row["message"])
        assert notice is not None and notice.resource in ("walltime", "jobfs")


def test_jobs_lists_the_table() -> None:
    runner = Replay({
        ("qstat", "-u", "am9079"): (0, read("qstat-u-table-queued-gadi-2025.txt"), ""),
        ("qstat", "-x"): (0, read("qstat-x-default-table-finished-openpbs-pr2513.txt"), ""),
    })  # fmt: skip
    engine = PbsScheduler(runner)
    [queued] = engine.jobs("am9079")
    assert (queued.job_id, queued.state) == ("136703330.gadi-pbs", "Q")
    [done] = engine.jobs(finished=True)
    assert (done.job_id, done.state, done.time_use) == ("0.pbspro", "F", "00:00:00")
