"""Follow a job: stream its output as it is written, learn how it ended, return its exit code.

The job script writes its stdout/stderr to files and its exit code to a status file (see
qxub.job.script). The monitor tails those files; the scheduler's own record is the fallback
for jobs killed before their EXIT trap ran (walltime, memory, SIGKILL), so it never waits
forever on a job that is gone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from qxub.errors import JobLost, JobNotFound, QxubError
from qxub.job.resources import format_duration
from qxub.job.script import STARTED_FILE, stderr_path, stdout_path
from qxub.schedulers.base import JobState, Scheduler, State
from qxub.state import JobRecord, load_record, read_exit_code

# The monitor's own pace between looks at the output files: quick while output flows, slower
# (up to IDLE_MOST) while the job is quiet. Asking the scheduler follows its own PollPolicy.
IDLE_FIRST, IDLE_MOST = 0.02, 0.25
# After the scheduler says a job is gone, look again this soon for its exit code file.
GONE_RECHECK = 0.1
# An exit code from here up is a shell's report of a signal (128+N).
SIGNALLED = 129

Clock = Callable[[], float]


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    reason: str | None
    elapsed: float


class _Tail:
    """Copies what is appended to a file to a stream."""

    def __init__(self, path: Path, sink: BinaryIO) -> None:
        self.path = path
        self.sink = sink
        self.handle: BinaryIO | None = None

    def pump(self) -> bool:
        """Copy what is new; True if anything was."""
        if self.handle is None:
            try:
                self.handle = open(self.path, "rb")  # noqa: SIM115 - kept open across calls
            except FileNotFoundError:
                return False
        chunk = self.handle.read(65536)
        if not chunk:
            return False
        while chunk:
            self.sink.write(chunk)
            chunk = self.handle.read(65536)
        self.sink.flush()
        return True

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


class Tails:
    """The job's stdout and stderr files, each copied to its stream as it grows."""

    def __init__(self, record: JobRecord, out: BinaryIO, err: BinaryIO) -> None:
        self.tails = (
            _Tail(Path(stdout_path(record.spec, record.logdir)), out),
            _Tail(Path(stderr_path(record.spec, record.logdir)), err),
        )

    def pump(self) -> bool:
        """Copy what is new in both; True if anything was."""
        return any([tail.pump() for tail in self.tails])

    def close(self) -> None:
        for tail in self.tails:
            tail.close()


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


class EndRule:
    """When following ends: the job's exit code file says so; failing that (a job killed
    before its EXIT trap ran), the scheduler's word once the file has had its grace."""

    def __init__(self, record: JobRecord, scheduler: Scheduler, wall_clock: Clock) -> None:
        self.record = record
        self.scheduler = scheduler
        self.wall_clock = wall_clock

    def from_exit_file(self) -> Outcome | None:
        code = read_exit_code(self.record.path)
        if code is None:
            return None
        return Outcome(code, None, _elapsed(self.record.path, self.record, self.wall_clock))

    def with_reason(
        self, outcome: Outcome, clock: Clock, sleep: Callable[[float], None]
    ) -> Outcome:
        """A job killed by a signal (128+N) recorded only the signal: the scheduler knows why
        (walltime, qdel, scancel) once it has seen the job end; ask it, at most once a second,
        for as long as the file grace; else say it was cancelled if qxub cancelled it."""
        if outcome.exit_code < SIGNALLED or outcome.reason is not None:
            return outcome
        deadline = clock() + self.scheduler.poll.file_grace
        while True:
            try:
                state = self.scheduler.state(self.record.job_id)
            except QxubError:
                state = None
            if state is not None and state.state in (State.DONE, State.UNKNOWN):
                if state.reason and state.exit_code in (None, outcome.exit_code):
                    return replace(outcome, reason=state.reason)
                break
            if clock() >= deadline:
                break
            sleep(min(1.0, self.scheduler.poll.first))
        if _cancelled_by_qxub(self.record.job_id):
            return replace(outcome, reason="cancelled")
        return outcome

    def from_scheduler(self, poller: Poller) -> Outcome | None:
        """The scheduler's record of a job gone for longer than the file grace (JobLost if it
        has no exit code either); None while the exit code file may still come."""
        gone = poller.gone_for()
        if gone is None or poller.last is None or gone < self.scheduler.poll.file_grace:
            return None
        return _ended_without_trap(self.record, self.scheduler, poller.last, self.wall_clock)


def follow(
    record: JobRecord,
    scheduler: Scheduler,
    *,
    out: BinaryIO,
    err: BinaryIO,
    status: Callable[[str], None],
    clock: Clock = time.monotonic,
    wall_clock: Clock = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Stream the job's output until it ends; return how it ended."""
    tails = Tails(record, out, err)
    poller = Poller(scheduler, record.job_id, status, clock)
    end = EndRule(record, scheduler, wall_clock)
    said_started = False
    idle = IDLE_FIRST
    try:
        while True:
            moved = tails.pump()
            outcome = end.from_exit_file()
            if outcome is not None:
                tails.pump()
                if not said_started:
                    status(f"job {record.job_id} started")
                return end.with_reason(outcome, clock, sleep)
            if not said_started and (record.path / STARTED_FILE).exists():
                said_started = True
                status(f"job {record.job_id} started")
            poller.poll()
            outcome = end.from_scheduler(poller)
            if outcome is not None:
                tails.pump()
                return outcome
            idle = IDLE_FIRST if moved else min(idle * 1.5, IDLE_MOST)
            sleep(idle)
    finally:
        tails.close()


def _cancelled_by_qxub(job_id: str) -> bool:
    """Whether `qxub cancel` (from any shell) noted the job as cancelled in its record."""
    try:
        return bool(load_record(job_id).extra.get("cancelled"))
    except JobNotFound:
        return False


def _elapsed(logdir: Path, record: JobRecord, wall_clock: Callable[[], float]) -> float:
    try:
        started = float((logdir / STARTED_FILE).read_text().strip().replace(",", "."))
    except (OSError, ValueError):
        started = record.submitted_at
    return max(0.0, wall_clock() - started)


def _ended_without_trap(
    record: JobRecord, scheduler: Scheduler, state: JobState, wall_clock: Clock
) -> Outcome:
    """The job is gone and wrote no exit code: trust the scheduler's record, if it has one."""
    if state.exit_code is not None:
        return Outcome(state.exit_code, state.reason, _elapsed(record.path, record, wall_clock))
    why = state.reason or f"{scheduler.name} no longer knows it"
    said = _scheduler_output(record.path, scheduler.output_files)
    raise JobLost(
        f"job {record.job_id} ended without recording an exit code: {why}"
        + (f"\n{said}" if said else ""),
        hint=f"its log directory is {record.logdir}; look at its files for what happened",
    )


def _scheduler_output(logdir: Path, names: tuple[str, ...], lines: int = 5) -> str:
    """The last lines of what the scheduler itself wrote about the job, outside its script."""
    said = []
    for name in names:
        try:
            text = (logdir / name).read_text(errors="replace").strip()
        except OSError:
            continue
        if text:
            tail = text.splitlines()[-lines:]
            said.append(f"{name}:\n" + "\n".join(f"  {line}" for line in tail))
    return "\n".join(said)


def describe_outcome(job_id: str, outcome: Outcome) -> str:
    """The status line for a finished job."""
    took = format_duration(outcome.elapsed)
    reason = f" ({outcome.reason})" if outcome.reason else ""
    return f"job {job_id} finished with exit code {outcome.exit_code}{reason} after {took}"
