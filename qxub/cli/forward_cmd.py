"""`qxub forward` (reach a port of a running job from here) and `qxub node` (where a job runs)."""

from __future__ import annotations

import sys
import time

import click

from qxub.cli.jobs_cmd import REMOTE_OPTION


def _say(message: str) -> None:
    print(f"qxub: {message}", file=sys.stderr, flush=True)


@click.command("forward")
@click.argument("job_id")
@click.argument("ports", nargs=-1, required=True, metavar="[LOCAL:]PORT...")
@REMOTE_OPTION
def forward_command(job_id: str, ports: tuple[str, ...], remote: str | None) -> None:
    """Reach PORT of a running job at localhost:LOCAL, until it ends.

    Waits for the job to start; says when each port answers. Ctrl-C stops forwarding; the
    job goes on."""
    from qxub.interactive.forwards import port_specs
    from qxub.mirroring.forwards import hold_forwards

    specs = port_specs(ports)
    if remote:
        from qxub.cli.configured import cli_config
        from qxub.mirroring.forwards import forward_remote_job, remote_node
        from qxub.remote.config import find_remote
        from qxub.remote.reach import transport_for

        where = find_remote(cli_config(), remote)
        transport = transport_for(where)
        forwarder = forward_remote_job(transport, specs, lambda: (where, job_id), _say)

        def running() -> bool:
            return remote_node(where, job_id, transport=transport, wait=False) is not None

    else:
        from qxub.interactive.forwards import forward_when_running, scheduler_node
        from qxub.schedulers.registry import get_scheduler
        from qxub.state import load_record

        scheduler = get_scheduler(load_record(job_id).scheduler)
        find = scheduler_node(scheduler, job_id)
        forwarder = forward_when_running(find, ports, _say)

        def running() -> bool:
            return find() is not None

    raise SystemExit(hold_forwards(forwarder, running, _say, job_id))


@click.command("node")
@click.argument("job_id")
@click.option("--wait", is_flag=True, help="Wait for the job to start.")
def node_command(job_id: str, wait: bool) -> None:
    """Print the node a running job runs on.

    Exits 1 when the job does not run (it waits in the queue, or has ended)."""
    from qxub.errors import QxubError
    from qxub.schedulers.base import State
    from qxub.schedulers.registry import get_scheduler
    from qxub.schedulers.whereabouts import job_node
    from qxub.state import load_record

    scheduler = get_scheduler(load_record(job_id).scheduler)
    while True:
        node = job_node(scheduler, job_id)
        if node is not None:
            click.echo(node)
            return
        state = scheduler.state(job_id).state
        if state in (State.DONE, State.UNKNOWN):
            raise QxubError(f"job {job_id} has ended", hint=f"see `qxub status {job_id}`")
        if not wait:
            raise QxubError(
                f"job {job_id} is {state.value}, not running yet", hint="--wait waits for it"
            )
        time.sleep(scheduler.poll.first)
