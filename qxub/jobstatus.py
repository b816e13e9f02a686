"""What `qxub status` shows of a job: its record joined with its current state."""

from __future__ import annotations

import time
from dataclasses import dataclass

from qxub.errors import QxubError
from qxub.schedulers.base import State
from qxub.schedulers.registry import get_scheduler
from qxub.state import JobRecord, read_exit_code


@dataclass(frozen=True)
class JobView:
    job_id: str
    scheduler: str
    state: str
    exit_code: int | None
    submitted: str
    command: str


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
