"""qstat's tables and qsub's job ids (qxub/schedulers/pbs_tables.py and parse_job_id in
pbs_parse.py), tested against RECORDED REAL PBS OUTPUT.

PBS Pro cannot run here (no server, no licence, no execution hosts), so these tests do not
start one. Instead they parse tables, qsub output and whole terminal transcripts recorded on
real PBS Pro / OpenPBS systems (NCI Gadi, ALCF Polaris, EPCC Cirrus, UNSW Katana, NSCC,
OpenPBS developers' builds and others), stored under tests/data/pbs/ with each file's
provenance in its README.md.
"""

from __future__ import annotations

import pytest

from qxub.schedulers.pbs_parse import parse_job_id
from qxub.schedulers.pbs_tables import parse_qstat_table

from pbs_recordings import read


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
