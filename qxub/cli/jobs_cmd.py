"""`qxub wait`, `qxub status`, `qxub cancel`: jobs submitted earlier, from any shell."""

from __future__ import annotations

import click

from qxub.execute import EXIT_INTERRUPTED, Streams, cancel_job
from qxub.jobstatus import table, view
from qxub.monitor import describe_outcome, follow
from qxub.schedulers.registry import get_scheduler
from qxub.state import list_records, load_record


@click.command("wait")
@click.argument("job_id")
@click.option("--quiet", is_flag=True, help="No status lines.")
def wait_command(job_id: str, quiet: bool) -> None:
    """Follow a job submitted earlier and exit with its exit code.

    Shows its output from the start. Ctrl-C stops waiting; the job goes on."""
    record = load_record(job_id)
    scheduler = get_scheduler(record.scheduler)
    streams = Streams.standard(quiet)
    try:
        outcome = follow(record, scheduler, out=streams.out, err=streams.err, status=streams.status)
    except KeyboardInterrupt:
        streams.status(f"stopped waiting; job {job_id} goes on (`qxub cancel {job_id}` stops it)")
        raise SystemExit(EXIT_INTERRUPTED) from None
    streams.status(describe_outcome(job_id, outcome))
    raise SystemExit(outcome.exit_code)


@click.command("status")
@click.argument("job_ids", nargs=-1)
@click.option("-n", "--last", default=20, show_default=True, help="How many recent jobs to list.")
def status_command(job_ids: tuple[str, ...], last: int) -> None:
    """Show the state of jobs (default: the most recent ones)."""
    records = [load_record(j) for j in job_ids] if job_ids else list_records(last)
    if not records:
        click.echo("no jobs submitted with qxub yet", err=True)
        return
    click.echo(table([view(r) for r in records]))


@click.command("cancel")
@click.argument("job_ids", nargs=-1, required=True)
def cancel_command(job_ids: tuple[str, ...]) -> None:
    """Cancel jobs by id."""
    records = [load_record(j) for j in job_ids]
    streams = Streams.standard(quiet=False)
    for record in records:
        cancel_job(record, get_scheduler(record.scheduler), streams.status)
