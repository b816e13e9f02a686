"""Pure parsers for what Slurm prints about a job: its state word and `ExitCode=A:B`, and the
lines of `scontrol show job -o` (one per array task). The engine itself is in slurm.py."""

from __future__ import annotations

import re
import signal

from qxub.schedulers.base import JobState, State

_QUEUED = {
    "PENDING",
    "REQUEUED",
    "REQUEUE_FED",
    "REQUEUE_HOLD",
    "RESV_DEL_HOLD",
    "SPECIAL_EXIT",
    "CONFIGURING",
    "POWER_UP_NODE",
}
_RUNNING = {
    "RUNNING",
    "COMPLETING",
    "SUSPENDED",
    "STOPPED",
    "SIGNALING",
    "STAGE_OUT",
    "RESIZING",
    "UPDATE_DB",
}
# Ended states other than COMPLETED and FAILED: (exit code when no signal is recorded, reason).
# The job script was sent SIGTERM for most of these, hence 143 = 128 + SIGTERM.
_ENDED: dict[str, tuple[int, str]] = {
    "CANCELLED": (128 + signal.SIGTERM, "cancelled"),
    "TIMEOUT": (128 + signal.SIGTERM, "time limit"),
    "DEADLINE": (128 + signal.SIGTERM, "deadline"),
    "PREEMPTED": (128 + signal.SIGTERM, "preempted"),
    "OUT_OF_MEMORY": (128 + signal.SIGKILL, "out of memory"),
    "NODE_FAIL": (1, "node failure"),
    "BOOT_FAIL": (1, "node boot failure"),
    "REVOKED": (1, "revoked"),
}


def job_state(raw: str, exit_code: str, reason: str | None) -> JobState:
    """Slurm's state word, `ExitCode=A:B` (status A, signal B) and Reason -> a JobState."""
    word = raw.split()[0].rstrip("+") if raw.strip() else ""
    reason = None if reason in (None, "", "None", "(null)") else reason
    if word in _QUEUED:
        return JobState(State.QUEUED, reason=reason, raw_state=word)
    if word in _RUNNING:
        return JobState(State.RUNNING, raw_state=word)
    status, sig = _exit_pair(exit_code)
    killed = 0 < sig < 32  # a real signal; Slurm also reports made-up ones (0:53)
    if word == "COMPLETED":
        return JobState(State.DONE, status, None, word)
    if word == "FAILED":
        if killed:
            return JobState(State.DONE, 128 + sig, f"killed by {_signal_name(sig)}", word)
        if sig:
            # e.g. 0:53 when the output file cannot be opened: the script never ran.
            return JobState(State.DONE, 1, "launch failed", word)
        return JobState(State.DONE, status or 1, None, word)
    if word == "CANCELLED" and reason == "DependencyNeverSatisfied":
        why = f"Slurm cancelled it: a job it comes after did not succeed ({reason})"
        return JobState(State.DONE, None, why, word)
    if word in _ENDED:
        default, why = _ENDED[word]
        code = default if word == "CANCELLED" or not killed else 128 + sig
        return JobState(State.DONE, code, why, word)
    return JobState(State.UNKNOWN, raw_state=word or None)


def _exit_pair(text: str) -> tuple[int, int]:
    status, _, sig = text.strip().partition(":")
    try:
        return int(status or 0), int(sig or 0)
    except ValueError:
        return 0, 0


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def array_state(text: str, job_id: str) -> JobState | None:
    """An array job as a whole (`scontrol` prints a line per task): running while a task
    runs, queued while one waits, else done (each task's code is in its own files)."""
    lines = [line for line in text.strip().splitlines() if f" ArrayJobId={job_id} " in line]
    if not lines or not job_id.isdigit():
        return None
    states = [job_state(*_task_fields(line)) for line in lines]
    for wanted in (State.RUNNING, State.QUEUED):
        if any(state.state is wanted for state in states):
            return JobState(wanted, raw_state=wanted.value)
    return JobState(State.DONE, raw_state="array done")


def _task_fields(line: str) -> tuple[str, str, str | None]:
    fields = dict(re.findall(r"(?:^|\s)(JobState|Reason|ExitCode)=(\S*)", line))
    return fields.get("JobState", ""), fields.get("ExitCode", ""), fields.get("Reason")


def scontrol_fields(text: str, job_id: str) -> dict[str, str]:
    """The fields of `job_id`'s line in `scontrol show job -o` output (first match each)."""
    lines = text.strip().splitlines()
    mine = [line for line in lines if line.startswith(f"JobId={job_id} ")] or lines[:1]
    if not mine:
        return {}
    fields: dict[str, str] = {}
    for key, value in re.findall(r"(?:^|\s)(JobId|JobState|Reason|ExitCode)=(\S*)", mine[0]):
        fields.setdefault(key, value)
    return fields
