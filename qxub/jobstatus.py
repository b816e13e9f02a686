"""What `qxub status` shows of a job: its record joined with its current state."""

from __future__ import annotations

import time

from qxub.errors import QxubError
from qxub.monitor_array import array_outcome
from qxub.record import record, replace
from qxub.schedulers.base import Scheduler, State
from qxub.schedulers.registry import get_scheduler
from qxub.state import JobRecord, read_exit_code


@record(frozen=True)
class JobView:
    job_id: str
    scheduler: str
    state: str
    exit_code: int | None
    submitted: str
    command: str


def views(record: JobRecord) -> list[JobView]:
    """A job's row; an array's is followed by one row per sub-job (`ID[index]`)."""
    if not record.spec.array:
        return [view(record)]
    scheduler = get_scheduler(record.scheduler)
    rows = [_subjob_view(record, scheduler, i) for i in record.spec.indices]
    codes = {i: row.exit_code for i, row in zip(record.spec.indices, rows, strict=True)}
    parent = view(record)
    if all(row.state in ("finished", "lost", "cancelled") for row in rows):
        outcome = array_outcome(codes, 0.0)
        state = "cancelled" if record.extra.get("cancelled") else "finished"
        parent = replace(parent, state=state, exit_code=outcome.exit_code)
    return [parent, *rows]


def _subjob_view(record: JobRecord, scheduler: Scheduler, index: int) -> JobView:
    job_id = scheduler.subjob_id(record.job_id, index)
    code = read_exit_code(record.path / str(index))
    state = "finished"
    if code is None:
        state, code = _state_of(scheduler, job_id)
    if record.extra.get("cancelled") and state in ("finished", "lost"):
        state = "cancelled"
    return JobView(f"  {job_id}", record.scheduler, state, code, "", f"[{index}]")


def _state_of(scheduler: Scheduler, job_id: str) -> tuple[str, int | None]:
    try:
        current = scheduler.state(job_id)
    except QxubError as exc:
        return f"unknown ({exc})", None
    code = current.exit_code
    return {
        State.QUEUED: "queued",
        State.RUNNING: "running",
        State.DONE: "finished" if code is not None else "lost",
        State.UNKNOWN: "unknown",
    }[current.state], code


def view(record: JobRecord) -> JobView:
    code = read_exit_code(record.path)
    if code is not None:
        state = "finished"
    else:
        try:
            current = get_scheduler(record.scheduler).state(record.job_id)
        except QxubError as exc:
            state = f"unknown ({exc})"
        else:
            code = current.exit_code
            state = {
                State.QUEUED: "queued",
                State.RUNNING: "running",
                State.DONE: "finished" if code is not None else "lost",
                State.UNKNOWN: "unknown",
            }[current.state]
    if record.extra.get("cancelled") and state in ("finished", "lost"):
        state = "cancelled"
    submitted = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.submitted_at))
    command = " ".join(record.spec.argv)
    return JobView(record.job_id, record.scheduler, state, code, submitted, command)


def table(views: list[JobView]) -> str:
    rows = [("JOB ID", "SCHEDULER", "STATE", "EXIT", "SUBMITTED", "COMMAND")]
    for v in views:
        code = "" if v.exit_code is None else str(v.exit_code)
        command = v.command if len(v.command) <= 50 else v.command[:47] + "..."
        rows.append((v.job_id, v.scheduler, v.state, code, v.submitted, command))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)
