"""Follow a job: stream its output as it is written, learn how it ended, return its exit code.

The job script writes its stdout/stderr to files and its exit code to a status file (see
qxub.job.script). The monitor tails those files; the scheduler's own record is the fallback
for jobs killed before their EXIT trap ran (walltime, memory, SIGKILL), so it never waits
forever on a job that is gone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from qxub.errors import JobLost, QxubError
from qxub.job.resources import format_duration
from qxub.job.script import STARTED_FILE, stderr_path, stdout_path
from qxub.schedulers.base import JobState, Scheduler, State
from qxub.state import JobRecord, read_exit_code

# How often to ask each scheduler, at first and at most (seconds): qstat and squeue cost the
# cluster something, the local runner's state is a file read.
POLL_INTERVALS = {"local": (0.2, 0.5), "slurm": (1.0, 10.0), "pbs": (5.0, 30.0)}
# How long a finished job's exit code file may lag behind the scheduler on a shared file system.
FILE_GRACE = {"local": 0.5, "slurm": 10.0, "pbs": 15.0}


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


def follow(
    record: JobRecord,
    scheduler: Scheduler,
    *,
    out: BinaryIO,
    err: BinaryIO,
    status: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Stream the job's output until it ends; return how it ended."""
    logdir = record.path
    tails = [
        _Tail(Path(stdout_path(record.spec, record.logdir)), out),
        _Tail(Path(stderr_path(record.spec, record.logdir)), err),
    ]
    first, most = POLL_INTERVALS.get(scheduler.name, (2.0, 30.0))
    poll_every = first
    next_poll = clock()
    announced_start = False
    announced_queued = False
    gone_since: float | None = None
    last_state: JobState | None = None
    failed_polls = 0
    idle = 0.02
    try:
        while True:
            moved = any([t.pump() for t in tails])
            code = read_exit_code(logdir)
            if code is not None:
                for tail in tails:
                    tail.pump()
                if not announced_start:
                    status(f"job {record.job_id} started")
                return Outcome(code, None, _elapsed(logdir, record, wall_clock))
            if not announced_start and (logdir / STARTED_FILE).exists():
                announced_start = True
                status(f"job {record.job_id} started")
            now = clock()
            if now >= next_poll:
                try:
                    last_state = scheduler.state(record.job_id)
                    failed_polls = 0
                    poll_every = min(poll_every * 1.5, most)
                except QxubError as exc:
                    failed_polls += 1
                    if failed_polls == 1:
                        status(f"could not ask {scheduler.name} about job {record.job_id}: {exc}")
                    poll_every = most
                next_poll = now + poll_every
                if last_state is not None:
                    queued = last_state.state is State.QUEUED and scheduler.name != "local"
                    if queued and not announced_queued:
                        announced_queued = True
                        status(f"job {record.job_id} is queued")
                    if last_state.state in (State.DONE, State.UNKNOWN):
                        gone_since = gone_since if gone_since is not None else now
                        next_poll = now + 0.1
            if gone_since is not None and last_state is not None:
                grace = FILE_GRACE.get(scheduler.name, 10.0)
                if clock() - gone_since >= grace:
                    for tail in tails:
                        tail.pump()
                    return _ended_without_trap(
                        record, scheduler.name, last_state, logdir, wall_clock
                    )
            idle = 0.02 if moved else min(idle * 1.5, 0.25)
            sleep(idle)
    finally:
        for tail in tails:
            tail.close()


def _elapsed(logdir: Path, record: JobRecord, wall_clock: Callable[[], float]) -> float:
    try:
        started = float((logdir / STARTED_FILE).read_text().strip().replace(",", "."))
    except (OSError, ValueError):
        started = record.submitted_at
    return max(0.0, wall_clock() - started)


def _ended_without_trap(
    record: JobRecord,
    scheduler: str,
    state: JobState,
    logdir: Path,
    wall_clock: Callable[[], float],
) -> Outcome:
    """The job is gone and wrote no exit code: trust the scheduler's record, if it has one."""
    if state.exit_code is not None:
        return Outcome(state.exit_code, state.reason, _elapsed(logdir, record, wall_clock))
    why = state.reason or f"{scheduler} no longer knows it"
    said = _scheduler_output(logdir)
    raise JobLost(
        f"job {record.job_id} ended without recording an exit code: {why}"
        + (f"\n{said}" if said else ""),
        hint=f"its log directory is {record.logdir}; look at its files for what happened",
    )


# What the scheduler (or the local runner) itself wrote about the job, outside its script.
SCHEDULER_OUTPUT_FILES = ("runner.log", "pbs.err", "pbs.out", "slurm.err", "slurm.out")


def _scheduler_output(logdir: Path, lines: int = 5) -> str:
    said = []
    for name in SCHEDULER_OUTPUT_FILES:
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
