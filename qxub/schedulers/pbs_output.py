"""Parsers for what PBS and NCI Gadi write into a job's own .o/.e files: Gadi's
'Resource Usage on ...' footer and the notices of a job killed for exceeding a limit.

Pure functions of text, like pbs_parse; the engine itself is in pbs.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qxub.schedulers.pbs_parse import parse_pbs_duration, parse_pbs_size


@dataclass(frozen=True)
class GadiFooter:
    """The 'Resource Usage on ...' block NCI Gadi appends to a job's .o file."""

    date: datetime
    job_id: str
    project: str
    exit_status: int
    exit_reason: str | None  # Gadi's own words, e.g. 'Job failed due to exceeding walltime'
    service_units: float
    ncpus_requested: int
    ncpus_used: int
    cpu_time_used: int  # seconds
    memory_requested: int  # bytes
    memory_used: int
    walltime_requested: int  # seconds
    walltime_used: int
    jobfs_requested: int  # bytes
    jobfs_used: int


_FOOTER_FIELDS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "job_id": (r"Job Id:\s+(\S+)", str),
    "project": (r"Project:\s+(\S+)", str),
    "service_units": (r"Service Units:\s+([\d.]+)", float),
    "ncpus_requested": (r"NCPUs Requested:\s+(\d+)", int),
    "ncpus_used": (r"NCPUs Used:\s+(\d+)", int),
    "cpu_time_used": (r"CPU Time Used:\s+([\d:]+)", parse_pbs_duration),
    "memory_requested": (r"Memory Requested:\s+(\S+)", parse_pbs_size),
    "memory_used": (r"Memory Used:\s+(\S+)", parse_pbs_size),
    "walltime_requested": (r"Walltime requested:\s+([\d:]+)", parse_pbs_duration),
    "walltime_used": (r"Walltime Used:\s+([\d:]+)", parse_pbs_duration),
    "jobfs_requested": (r"JobFS requested:\s+(\S+)", parse_pbs_size),
    "jobfs_used": (r"JobFS used:\s+(\S+)", parse_pbs_size),
}
_FOOTER_START_RE = re.compile(r"Resource Usage on (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d):")
_EXIT_RE = re.compile(r"Exit Status:\s+(-?\d+)(?:\s+\((.*)\))?")


def parse_gadi_footer(text: str) -> GadiFooter | None:
    """The last Gadi footer in a job's output, or None when there is none (yet)."""
    starts = list(_FOOTER_START_RE.finditer(text))
    if not starts:
        return None
    block = text[starts[-1].start() :]
    exit_match = _EXIT_RE.search(block)
    if not exit_match:
        return None
    values: dict[str, Any] = {}
    for field_name, (pattern, convert) in _FOOTER_FIELDS.items():
        match = re.search(pattern, block)
        if not match:
            return None  # a footer cut short (still being written)
        values[field_name] = convert(match.group(1))
    return GadiFooter(
        date=datetime.fromisoformat(starts[-1].group(1)),
        exit_status=int(exit_match.group(1)),
        exit_reason=exit_match.group(2),
        **values,
    )


@dataclass(frozen=True)
class KillNotice:
    """A line PBS or the site writes into the job's output when it kills the job for a limit."""

    resource: str  # walltime, mem, jobfs ...
    used: str  # as printed: walltime in seconds ('11'), sizes with units ('15.0GB')
    limit: str

    @property
    def reason(self) -> str:
        return f"{self.resource} exceeded (used {self.used}, limit {self.limit})"


_KILL_RES = (
    # PBS MoM, into the .e file: "=>> PBS: job killed: walltime 11 exceeded limit 1"
    re.compile(r"=>> PBS: job killed: (?P<res>\w+) (?P<used>\S+) exceeded limit (?P<limit>\S+)"),
    # NCI Gadi, into the .o file: "Job 1.gadi-pbs killed due to exceeding jobfs quota. Quota:
    # 15.0GB, Used: 15.0GB, Host: ..."
    re.compile(
        r"killed due to exceeding (?P<res>\w+) quota\. Quota: (?P<limit>[^,\s]+), "
        r"Used: (?P<used>[^,\s]+)"
    ),
)


def parse_kill_notice(text: str) -> KillNotice | None:
    """The kill notice in a job's .o or .e text, or None: it names the limit a job died of
    when Exit_status only says 'killed by SIGTERM' (older PBS, Gadi's jobfs kills)."""
    for pattern in _KILL_RES:
        if match := pattern.search(text):
            return KillNotice(match["res"], match["used"], match["limit"])
    return None
