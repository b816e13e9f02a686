"""`--forward` on this machine (no --remote): the job's node from its scheduler (or, for an
interactive job, from the file its script writes), and relays in this process."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from qxub.errors import UsageError
from qxub.record import record
from qxub.remote.forwarding import Forwarder, PortSpec, check_all_free
from qxub.remote.local import LocalTransport
from qxub.schedulers.base import Scheduler
from qxub.schedulers.whereabouts import LOCAL_NODE, job_node
from qxub.state import JobRecord


def port_specs(texts: Sequence[str]) -> list[PortSpec]:
    """Parse and check `--forward` values before anything runs."""
    specs = [PortSpec.parse(text) for text in texts]
    check_all_free(specs)
    return specs


@record(frozen=True)
class NodeFile:
    """The node an interactive job writes at its start (the local runner's is this host)."""

    path: Path
    scheduler: str

    def __call__(self) -> str | None:
        try:
            node = self.path.read_text().strip()
        except OSError:
            return None
        if not node:
            return None
        return LOCAL_NODE if self.scheduler == "local" else node


def scheduler_node(scheduler: Scheduler, job_id: str) -> Callable[[], str | None]:
    return lambda: job_node(scheduler, job_id)


def forward_when_running(
    find_node: Callable[[], str | None], texts: Sequence[str], say: Callable[[str], None]
) -> Forwarder:
    return Forwarder(LocalTransport(), port_specs(texts), find_node, say)


def batch_forwarding(
    texts: Sequence[str], scheduler: Scheduler, detach: bool, say: Callable[[str], None]
) -> Callable[[JobRecord], Forwarder]:
    """What `execute` starts once a batch job is submitted: relays to its node."""
    if detach:
        raise UsageError(
            "--forward lasts while qxub follows the job, and --detach does not follow it",
            hint="drop --detach, or forward later with: qxub forward JOB_ID [LOCAL:]PORT",
        )
    specs = port_specs(texts)
    return lambda record: Forwarder(
        LocalTransport(), specs, scheduler_node(scheduler, record.job_id), say
    )
