"""The protocol every scheduler implements, and the job states they report."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from qxub.job.spec import JobSpec


class State(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"  # ended; exit_code says how
    UNKNOWN = "unknown"  # the scheduler has no record of the job (any more)

    @property
    def finished(self) -> bool:
        return self is State.DONE


@dataclass(frozen=True)
class JobState:
    """A scheduler's view of one job."""

    state: State
    exit_code: int | None = None  # as a shell would report it: 128+N for signal N
    reason: str | None = None  # why it ended, when the scheduler says (walltime, cancelled...)
    raw_state: str | None = None  # the scheduler's own word (R, PENDING, F...)


class Scheduler(Protocol):
    """A scheduler engine. Four small hooks; the shared flow lives in qxub.jobs."""

    name: str

    def directives(self, spec: JobSpec, logdir: Path) -> list[str]:
        """Header lines for the job script (#PBS, #SBATCH; none for local)."""
        ...

    def unhonoured(self, spec: JobSpec) -> list[str]:
        """Options in `spec` that this scheduler cannot honour, as the user would name them."""
        ...

    def submit_argv(self, script: Path, logdir: Path) -> list[str]:
        """The command that submits `script` (shown by --dry)."""
        ...

    def submit(self, script: Path, logdir: Path) -> str:
        """Submit; return the scheduler's job id."""
        ...

    def state(self, job_id: str) -> JobState:
        """The scheduler's current view of one job."""
        ...

    def cancel(self, job_id: str) -> None:
        """Cancel a job; cancelling a job that has already ended is not an error."""
        ...
