"""Asking a scheduler about a job at the scheduler's own pace, and how a followed job ended:
shared by the monitor of a single job (monitor.py) and of an array (monitor_array.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qxub.errors import QxubError
from qxub.job.script import STARTED_FILE
from qxub.record import record
from qxub.schedulers.base import JobState, Scheduler, State
from qxub.state import JobRecord

# The monitor's own pace between looks at the output files: quick while output flows, slower
# (up to IDLE_MOST) while the job is quiet. Asking the scheduler follows its own PollPolicy.
IDLE_FIRST, IDLE_MOST = 0.02, 0.25
# After the scheduler says a job is gone, look again this soon for its exit code file.
GONE_RECHECK = 0.1
# An exit code from here up is a shell's report of a signal (128+N).
SIGNALLED = 129

Clock = Callable[[], float]


@record(frozen=True)
class Outcome:
    exit_code: int
    reason: str | None
    elapsed: float


class Poller:
    """Asks the scheduler about one job at the pace of its PollPolicy; a failed ask is said
    once and retried later, never fatal."""

    def __init__(
        self, scheduler: Scheduler, job_id: str, status: Callable[[str], None], clock: Clock
    ) -> None:
        self.scheduler = scheduler
        self.job_id = job_id
        self.status = status
        self.clock = clock
        self.interval = scheduler.poll.first
        self.next_ask = clock()
        self.last: JobState | None = None  # the latest answer
        self.gone_since: float | None = None  # when the scheduler first said the job ended
        self.failures = 0  # asks failed in a row
        self.asks = 0
        self._said_queued = False

    def poll(self) -> None:
        """Ask now if it is time to."""
        now = self.clock()
        if now < self.next_ask:
            return
        self.asks += 1
        try:
            self.last = self.scheduler.state(self.job_id)
            self.failures = 0
        except QxubError as exc:
            self.failures += 1
            if self.failures == 1:
                self.status(f"could not ask {self.scheduler.name} about job {self.job_id}: {exc}")
        self.interval = self.scheduler.poll.after(self.interval, failed=self.failures > 0)
        self.next_ask = now + self.interval
        if self.last is None:
            return
        queued = self.last.state is State.QUEUED and self.scheduler.poll.queue_is_news
        if queued and not self._said_queued:
            self._said_queued = True
            self.status(f"job {self.job_id} is queued")
        if self.last.state in (State.DONE, State.UNKNOWN):
            self.gone_since = self.gone_since if self.gone_since is not None else now
            self.next_ask = now + GONE_RECHECK

    def gone_for(self) -> float | None:
        """Seconds since the scheduler first said the job ended; None while it has not."""
        return None if self.gone_since is None else self.clock() - self.gone_since


def elapsed(logdir: Path, record: JobRecord, wall_clock: Callable[[], float]) -> float:
    """Seconds since the job started (its started stamp), else since it was submitted."""
    try:
        started = float((logdir / STARTED_FILE).read_text().strip().replace(",", "."))
    except (OSError, ValueError):
        started = record.submitted_at
    return max(0.0, wall_clock() - started)
