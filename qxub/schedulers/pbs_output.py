"""What PBS and NCI Gadi write into a job's own .o/.e files when they kill it for exceeding
a limit: the engine (pbs.py) reads it for the reason Exit_status does not give (Gadi's jobfs
kills and older PBS versions' walltime kills say only 'killed by SIGTERM').

A pure function of text, like pbs_parse.
"""

from __future__ import annotations

import re

from qxub.record import record


@record(frozen=True)
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
