"""The protocol every scheduler implements, and the job states they report."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from qxub.job.spec import JobSpec
from qxub.record import record

if TYPE_CHECKING:
    from qxub.proc import Result


class State(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"  # ended; exit_code says how
    UNKNOWN = "unknown"  # the scheduler has no record of the job (any more)


@record(frozen=True)
class JobState:
    """A scheduler's view of one job."""

    state: State
    exit_code: int | None = None  # as a shell would report it: 128+N for signal N
    reason: str | None = None  # why it ended, when the scheduler says (walltime, cancelled...)
    raw_state: str | None = None  # the scheduler's own word (R, PENDING, F...)


@record(frozen=True)
class PollPolicy:
    """How a scheduler wants to be asked about a job (submitit's InfoWatcher is the model).

    The monitor asks `first` seconds after the previous ask, then backs off by `factor` up to
    `most`; a failed ask waits `most` before the next. `file_grace`: how long a finished job's
    exit code file may lag behind the scheduler's word (shared file systems are slow).
    `queue_is_news`: whether a queued job is worth a status line (a local job is queued for
    the instant bash takes to start; a cluster's may wait for hours)."""

    first: float
    most: float
    file_grace: float
    queue_is_news: bool = True
    factor: float = 1.5

    def after(self, interval: float, *, failed: bool = False) -> float:
        """The wait before the next ask, `interval` having been the wait before this one."""
        return self.most if failed else min(interval * self.factor, self.most)


class Runner(Protocol):
    """How an engine runs a command: qxub.proc.run, or a fake that replays recordings."""

    def __call__(
        self,
        argv: Sequence[str],
        *,
        check: bool = ...,
        env: Mapping[str, str] | None = ...,
        timeout: float | None = ...,
    ) -> Result: ...


class Scheduler(Protocol):
    """A scheduler engine. Four small hooks; the shared flow lives in qxub.jobs."""

    name: str
    poll: PollPolicy  # how often the monitor asks `state`
    # Files the scheduler itself writes into the job's log directory (its own messages).
    output_files: tuple[str, ...]
    # Where an array sub-job finds its index (PBS_ARRAY_INDEX, SLURM_ARRAY_TASK_ID...).
    array_variable: str

    def subjob_id(self, job_id: str, index: int) -> str:
        """The id of sub-job `index` of array job `job_id`, as `state` takes it."""
        ...

    def directives(self, spec: JobSpec, logdir: Path) -> list[str]:
        """Header lines for the job script (#PBS, #SBATCH; none for local)."""
        ...

    def unhonoured(self, spec: JobSpec) -> list[str]:
        """Options in `spec` that this scheduler cannot honour, as the user would name them."""
        ...

    def submit_argv(self, script: Path, logdir: Path) -> list[str]:
        """The command that submits `script` (shown by --dry)."""
        ...

    def submit(self, script: Path, logdir: Path, spec: JobSpec | None = None) -> str:
        """Submit; return the scheduler's job id. `spec` is the job the script was rendered
        from (the local runner reads its array and dependencies from it)."""
        ...

    def state(self, job_id: str) -> JobState:
        """The scheduler's current view of one job."""
        ...

    def cancel(self, job_id: str) -> None:
        """Cancel a job; cancelling a job that has already ended is not an error."""
        ...
