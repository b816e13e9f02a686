"""Follow a job: stream its output as it is written, learn how it ended, return its exit code.

The job script writes its stdout/stderr, in their order, to an output log of frames (see
qxub.job.capture) and its exit code to a status file (see qxub.job.script). The monitor tails
that log (to two streams here, or as frames to a laptop, one segment at a time); the
scheduler's own record is the fallback for jobs killed before their EXIT trap ran (walltime,
memory, SIGKILL), so it never waits forever on a job that is gone. Arrays: monitor_array.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from qxub import protocol
from qxub.errors import JobLost, JobNotFound, QxubError
from qxub.job.resources import format_duration
from qxub.job.script import STARTED_FILE, output_log
from qxub.monitor_array import follow_array
from qxub.polling import IDLE_FIRST, IDLE_MOST, SIGNALLED, Clock, Outcome, Poller, elapsed
from qxub.record import record, replace
from qxub.schedulers.base import JobState, Scheduler, State
from qxub.state import JobRecord, load_record, read_exit_code

READ_MOST = 1 << 20  # bytes of the output log read at once


@record(frozen=True)
class Paused:
    """A follow segment ended before the job: follow again from `offset` of its output log."""

    offset: int


class OutputLog:
    """The job's output log (qxub.job.capture): whole frames read from an offset on."""

    def __init__(self, record: JobRecord, offset: int = 0) -> None:
        self.path = Path(output_log(record.logdir))
        self.offset = offset
        self.handle: BinaryIO | None = None
        self.held = b""  # the start of a frame the writer has not finished yet

    def read(self) -> bytes:
        """Whole frames appended since the last read (b"" when none)."""
        if self.handle is None:
            try:
                self.handle = open(self.path, "rb")  # noqa: SIM115 - kept open across calls
            except FileNotFoundError:
                return b""
            self.handle.seek(self.offset)
        chunk = self.handle.read(READ_MOST)
        if not chunk:
            return b""
        data = self.held + chunk if self.held else chunk
        whole = protocol.whole_frames(data)
        self.held = data[whole:]
        self.offset += whole
        return data[:whole]

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


FrameSink = Callable[[bytes], None]


def stream_sink(out: BinaryIO, err: BinaryIO) -> FrameSink:
    """Writes the job's stdout and stderr frames to two streams, in their order."""
    streams = {protocol.STDOUT: out, protocol.STDERR: err}
    last: list[BinaryIO] = []

    def on_frame(kind: int, payload: bytes | bytearray | memoryview) -> None:
        stream = streams.get(kind)
        if stream is None:
            return
        if last and last[0] is not stream:
            last[0].flush()  # the other stream's bytes first: they came first
        stream.write(payload)
        last[:] = [stream]

    decoder = protocol.FrameDecoder(on_frame, started=True)

    def sink(frames: bytes) -> None:
        decoder.feed(frames)
        if last:
            last[0].flush()

    return sink


def pump(log: OutputLog, sink: FrameSink) -> bool:
    """Copy what is new in the log to the sink; True if anything was."""
    moved = False
    while True:
        frames = log.read()
        if not frames:
            return moved
        sink(frames)
        moved = True


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
        return Outcome(
            code, _unstreamed(self.record), elapsed(self.record.path, self.record, self.wall_clock)
        )

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
    if record.spec.array:
        return follow_array(
            record, scheduler, out=out, err=err, status=status,
            clock=clock, wall_clock=wall_clock, sleep=sleep,
        )  # fmt: skip
    ended = follow_segment(
        record,
        scheduler,
        stream_sink(out, err),
        status=status,
        clock=clock,
        wall_clock=wall_clock,
        sleep=sleep,
    )
    assert isinstance(ended, Outcome)  # no segment limit: only the job's end ends it
    return ended


def follow_segment(
    record: JobRecord,
    scheduler: Scheduler,
    sink: FrameSink,
    *,
    status: Callable[[str], None],
    offset: int = 0,
    span: float | None = None,
    on_started: Callable[[], None] = lambda: None,
    clock: Clock = time.monotonic,
    wall_clock: Clock = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome | Paused:
    """Send a single job's output log from `offset` on to `sink` (whole frames) until the
    job ends (its Outcome) or, with `span`, until that many seconds have passed (Paused:
    where to go on from)."""
    log = OutputLog(record, offset)
    poller = Poller(scheduler, record.job_id, status, clock)
    end = EndRule(record, scheduler, wall_clock)
    said_started = False
    deadline = None if span is None else clock() + span
    idle = IDLE_FIRST

    def started() -> None:
        nonlocal said_started
        if not said_started:
            said_started = True
            status(f"job {record.job_id} started")
            on_started()

    try:
        while True:
            if not said_started and (record.path / STARTED_FILE).exists():
                started()  # before the job's first output
            moved = pump(log, sink)
            outcome = end.from_exit_file()
            if outcome is not None:
                started()
                pump(log, sink)
                return end.with_reason(outcome, clock, sleep)
            if deadline is not None and clock() >= deadline:
                return Paused(log.offset)
            poller.poll()
            outcome = end.from_scheduler(poller)
            if outcome is not None:
                pump(log, sink)
                return outcome
            idle = IDLE_FIRST if moved else min(idle * 1.5, IDLE_MOST)
            sleep(idle)
    finally:
        log.close()


def _cancelled_by_qxub(job_id: str) -> bool:
    """Whether `qxub cancel` (from any shell) noted the job as cancelled in its record."""
    try:
        return bool(load_record(job_id).extra.get("cancelled"))
    except JobNotFound:
        return False


def _ended_without_trap(
    record: JobRecord, scheduler: Scheduler, state: JobState, wall_clock: Clock
) -> Outcome:
    """The job is gone and wrote no exit code: trust the scheduler's record, if it has one."""
    if state.exit_code is not None:
        return Outcome(state.exit_code, state.reason, elapsed(record.path, record, wall_clock))
    why = state.reason or f"{scheduler.name} no longer knows it"
    said = _scheduler_output(record.path, scheduler.output_files)
    ended = "ended without recording an exit code"
    if not (record.path / STARTED_FILE).exists():
        ended = "did not run"  # e.g. a job it comes after failed
    raise JobLost(
        f"job {record.job_id} {ended}: {why}" + (f"\n{said}" if said else ""),
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


def _unstreamed(record: JobRecord) -> str | None:
    """Why the job's output was not streamed, if its output writer never ran (job.script)."""
    try:
        said = (record.path / "capture.err").read_text(errors="replace")
    except OSError:
        return None
    if "no output writer" not in said:
        return None
    return f"its output was not streamed (no python3 on its node): it is in {record.logdir}"


def describe_outcome(job_id: str, outcome: Outcome) -> str:
    """The status line for a finished job."""
    took = format_duration(outcome.elapsed)
    reason = f" ({outcome.reason})" if outcome.reason else ""
    return f"job {job_id} finished with exit code {outcome.exit_code}{reason} after {took}"
