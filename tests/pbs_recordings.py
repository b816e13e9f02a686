"""The recorded PBS output under tests/data/pbs/, shared by the test_pbs*.py files.

PBS Pro cannot run here, so those tests parse output recorded on real PBS Pro / OpenPBS
systems instead; README.md in that folder gives each file's provenance.
"""

from __future__ import annotations

import csv
from pathlib import Path

DATA = Path(__file__).parent / "data" / "pbs"
KB, MB, GB, TB = 1024, 1024**2, 1024**3, 1024**4

# Samples read by more than one test file.
AURORA = "qstat-x-f-F-json-finished-walltime-exceeded-minus29-pbspro-2022.1.7-aurora.json"
METACENTRUM = "qstat-xf-F-json-running-pbs-19.0.0-metacentrum-swrap.json"
PARSL_OUT = (
    "qstat-f-F-json-finished-job-without-x-stdout-pbspro-2024.1.2-polaris-parsl-issue3906.json"
)
PARSL_ERR = (
    "qstat-f-F-json-finished-job-without-x-stderr-pbspro-2024.1.2-polaris-parsl-issue3906.txt"
)


def read(name: str) -> str:
    return (DATA / name).read_text()


def tsv_rows(command: str) -> list[dict[str, str]]:
    with (DATA / "error-messages-real.tsv").open(newline="") as f:
        return [r for r in csv.DictReader(f, delimiter="\t") if r["command"] == command]
