"""Where a running job runs (the node to reach a service in it) and why a queued one waits:
PBS's exec_host and comment, Slurm's NodeList and Reason, this host for the local runner."""

from __future__ import annotations

from qxub import proc
from qxub.errors import SchedulerError
from qxub.schedulers.base import Scheduler, State

LOCAL_NODE = "127.0.0.1"  # the job runs where the scheduler (the local runner) runs


def job_node(scheduler: Scheduler, job_id: str) -> str | None:
    """The (first) node a running job runs on; None while it is not running."""
    if scheduler.state(job_id).state is not State.RUNNING:
        return None
    if scheduler.name == "local":
        return LOCAL_NODE
    if scheduler.name == "pbs":
        from qxub.schedulers.pbs import PbsScheduler

        assert isinstance(scheduler, PbsScheduler)
        job = scheduler.job(job_id)
        exec_host = job.attributes.get("exec_host", "") if job is not None else ""
        # "node1/0*4+node2/0*4": the first node is where the job script runs.
        return exec_host.split("+", 1)[0].split("/", 1)[0] or None
    if scheduler.name == "slurm":
        return _slurm_first_node(
            _slurm_field(job_id, "BatchHost") or _slurm_field(job_id, "NodeList")
        )
    raise SchedulerError(f"cannot tell where a {scheduler.name} job runs")


def waiting_reason(scheduler: Scheduler, job_id: str) -> str | None:
    """Why a queued job waits, in the scheduler's words (None when it does not say)."""
    if scheduler.name == "pbs":
        from qxub.schedulers.pbs import PbsScheduler

        assert isinstance(scheduler, PbsScheduler)
        job = scheduler.job(job_id)
        return job.comment if job is not None else None
    return scheduler.state(job_id).reason


def _slurm_field(job_id: str, name: str) -> str | None:
    result = proc.run(["scontrol", "show", "job", "-o", job_id], check=False, timeout=30)
    for word in result.stdout.split():
        key, _, value = word.partition("=")
        if key == name and value not in ("", "(null)", "None"):
            return value
    return None


def _slurm_first_node(nodes: str | None) -> str | None:
    """'n[01-04,07]' -> 'n01'; 'a,b' -> 'a'."""
    if not nodes:
        return None
    first = nodes.split(",", 1)[0] if "[" not in nodes.split(",", 1)[0] else nodes
    if "[" not in first:
        return first
    stem, _, ranges = first.partition("[")
    return stem + ranges.split(",", 1)[0].split("-", 1)[0].rstrip("]")
