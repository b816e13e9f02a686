"""What PBS and NCI Gadi write into a job's own .o/.e files (Gadi's footer, the notices of a
job killed for a limit): the parsers in qxub/schedulers/pbs_output.py, tested against RECORDED
REAL OUTPUT.

PBS Pro cannot run here (no server, no licence, no execution hosts), so no job can write these
files here. Instead the tests parse job output recorded on real systems (NCI Gadi, EPCC
Cirrus, and the messages collected in error-messages-real.tsv), stored under tests/data/pbs/
with each file's provenance in its README.md.
"""

from __future__ import annotations

from datetime import datetime

from qxub.schedulers.pbs_output import parse_gadi_footer, parse_kill_notice
from qxub.schedulers.pbs_parse import exit_code_from_pbs

from pbs_recordings import GB, MB, TB, read, tsv_rows


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


def test_kill_notices_in_the_tsv() -> None:
    for row in tsv_rows("(job .e file)") + tsv_rows("(job .o file)"):
        notice = parse_kill_notice(row["message"])
        assert notice is not None and notice.resource in ("walltime", "jobfs")
