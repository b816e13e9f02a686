"""The notices PBS and NCI Gadi write into a job's own .o/.e files when they kill it for a
limit (qxub/schedulers/pbs_output.py), in RECORDED REAL OUTPUT from NCI Gadi, EPCC Cirrus and
the messages collected in error-messages-real.tsv (tests/data/pbs/README.md has provenance).
The real OpenPBS's own walltime notice is read in tests/test_exec_pbs.py.
"""

from __future__ import annotations

from qxub.schedulers.pbs_output import parse_kill_notice
from qxub.schedulers.pbs_parse import exit_code_from_pbs

from pbs_recordings import read, tsv_rows


def test_kill_notice_walltime_gadi() -> None:
    notice = parse_kill_notice(read("gadi-job-stderr-walltime-exceeded-2025.txt"))
    assert notice is not None
    assert (notice.resource, notice.used, notice.limit) == ("walltime", "11", "1")
    assert notice.reason == "walltime exceeded (used 11, limit 1)"


def test_kill_notice_jobfs_gadi_reported_as_sigterm() -> None:
    """Gadi's footer says only SIGTERM for a jobfs kill; the line above it says why."""
    text = read("gadi-job-output-footer-jobfs-exceeded-exit-271-payu-issue587.txt")
    assert "Exit Status:        271 (Linux Signal 15 SIGTERM Termination)" in text
    assert exit_code_from_pbs(271) == (143, "killed by SIGTERM")
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
