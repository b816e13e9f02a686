"""Follow an array job: every sub-job's output streams as it is written, each line prefixed
with its index (`[3] ...`), until every sub-job has ended.

Each sub-job writes its files into `<log dir>/<index>/` (qxub.job.script). The array ends with
exit code 0 when every sub-job succeeded, else with the first failing sub-job's code, and the
reason names the failed indices. A sub-job killed before its EXIT trap ran gets its code from
the scheduler's record of it once the array is gone, as a single job does (monitor.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO

from qxub.errors import JobLost, QxubError
from qxub.job.script import STARTED_FILE, STDERR_FILE, STDOUT_FILE
from qxub.polling import IDLE_FIRST, IDLE_MOST, Clock, Outcome, Poller, elapsed
from qxub.schedulers.base import Scheduler, State
from qxub.state import JobRecord, read_exit_code


class _PrefixTail:
    """Copies whole lines appended to a file to a stream, each after `[index] `."""

    def __init__(self, path: Path, sink: BinaryIO, index: int) -> None:
        self.path = path
        self.sink = sink
        self.prefix = f"[{index}] ".encode()
        self.handle: BinaryIO | None = None
        self.partial = b""

    def pump(self, final: bool = False) -> bool:
        """Copy the new whole lines (and, when `final`, a last line without its newline)."""
        if self.handle is None:
            try:
                self.handle = open(self.path, "rb")  # noqa: SIM115 - kept open across calls
            except FileNotFoundError:
                return False
        data = self.partial + self.handle.read()
        lines = data.split(b"\n")
        self.partial = lines.pop()
        if final and self.partial:
            lines.append(self.partial)
            self.partial = b""
        if not lines:
            return False
        self.sink.write(b"".join(self.prefix + line + b"\n" for line in lines))
        self.sink.flush()
        return True

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


def array_codes(record: JobRecord) -> dict[int, int | None]:
    """Each sub-job's exit code as its EXIT trap recorded it (None: not (yet) recorded)."""
    return {i: read_exit_code(record.path / str(i)) for i in record.spec.indices}


def array_outcome(codes: Mapping[int, int | None], elapsed_s: float) -> Outcome:
    """0 when every sub-job succeeded, else the first failing one's code; the reason names
    the failed (and lost) indices."""
    failed = [i for i, code in codes.items() if code is not None and code != 0]
    lost = [i for i, code in codes.items() if code is None]
    if not failed and not lost:
        return Outcome(0, None, elapsed_s)
    first = min(failed + lost)
    code = codes[first]
    parts = []
    for which, what in ((failed, "failed"), (lost, "recorded no exit code")):
        if which:
            plural = "s" if len(which) > 1 else ""
            parts.append(f"sub-job{plural} {_list(which)} {what} ({len(which)} of {len(codes)})")
    return Outcome(1 if code is None else code, "; ".join(parts), elapsed_s)


def _list(indices: list[int]) -> str:
    return ", ".join(str(i) for i in sorted(indices))


def follow_array(
    record: JobRecord,
    scheduler: Scheduler,
    *,
    out: BinaryIO,
    err: BinaryIO,
    status: Callable[[str], None],
    clock: Clock,
    wall_clock: Clock,
    sleep: Callable[[float], None],
) -> Outcome:
    """Stream every sub-job's output, prefixed, until all have ended; return how it ended."""
    indices = record.spec.indices
    tails = [
        _PrefixTail(record.path / str(i) / name, sink, i)
        for i in indices
        for name, sink in ((STDOUT_FILE, out), (STDERR_FILE, err))
    ]
    poller = Poller(scheduler, record.job_id, status, clock)
    said_started = False
    idle = IDLE_FIRST
    try:
        while True:
            moved = any([tail.pump() for tail in tails])
            codes = array_codes(record)
            if all(code is not None for code in codes.values()):
                for tail in tails:
                    tail.pump(final=True)
                if not said_started:
                    status(f"job {record.job_id} started")
                return array_outcome(codes, elapsed(record.path, record, wall_clock))
            if not said_started and any(
                (record.path / str(i) / STARTED_FILE).exists() for i in indices
            ):
                said_started = True
                status(f"job {record.job_id} started")
            poller.poll()
            gone = poller.gone_for()
            if gone is not None and gone >= scheduler.poll.file_grace:
                for tail in tails:
                    tail.pump(final=True)
                return _ended_without_traps(record, scheduler, codes, poller, wall_clock)
            idle = IDLE_FIRST if moved else min(idle * 1.5, IDLE_MOST)
            sleep(idle)
    finally:
        for tail in tails:
            tail.close()


def _ended_without_traps(
    record: JobRecord,
    scheduler: Scheduler,
    codes: dict[int, int | None],
    poller: Poller,
    wall_clock: Clock,
) -> Outcome:
    """The array is gone: the sub-jobs that recorded no code get the scheduler's."""
    ran = any((record.path / str(i) / STARTED_FILE).exists() for i in codes)
    if not ran and poller.last is not None and poller.last.reason:
        raise JobLost(
            f"job {record.job_id} ended without running: {poller.last.reason}",
            hint=f"its log directory is {record.logdir}",
        )
    for index, code in codes.items():
        if code is not None:
            continue
        try:
            state = scheduler.state(scheduler.subjob_id(record.job_id, index))
        except QxubError:
            continue
        if state.state is State.DONE and state.exit_code is not None:
            codes[index] = state.exit_code
    return array_outcome(codes, elapsed(record.path, record, wall_clock))
