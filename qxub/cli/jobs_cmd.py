"""`qxub wait`, `qxub status`, `qxub cancel`: jobs submitted earlier, from any shell; and
`qxub jobs clean`: their old folders."""

from __future__ import annotations

import click

from qxub import protocol
from qxub.cli.completion import remote_names
from qxub.cli.configured import cli_config, use_user_jobs_dir
from qxub.cli.types import DurationType
from qxub.errors import EXIT_INTERRUPTED, UsageError
from qxub.execute import Streams, cancel_job, follow_framed, reader_gone
from qxub.jobclean import DEFAULT_OLDER_THAN
from qxub.jobstatus import table, views
from qxub.monitor import describe_outcome, follow
from qxub.schedulers.registry import get_scheduler
from qxub.state import list_records, load_record

REMOTE_OPTION = click.option(
    "--remote",
    metavar="NAME",
    help="The job runs on this remote (see `qxub remote list`).",
    shell_complete=remote_names,
)


def _on_remote(name: str, words: list[str], quiet: bool = False) -> None:
    from qxub.remote.config import find_remote
    from qxub.remote.run import run_remote_qxub

    config = cli_config()
    remote = find_remote(config, name)
    raise SystemExit(run_remote_qxub(remote, words, quiet=quiet))


@click.command("wait")
@click.argument("job_id")
@click.option("--quiet", is_flag=True, help="No status lines.")
@REMOTE_OPTION
@click.option(
    "--new",
    is_flag=True,
    help="With --remote: only the output this machine has not shown yet (default: all of it).",
)
@click.option(
    "--pull",
    "pulls",
    multiple=True,
    metavar="PATH",
    help="With --remote: pull PATH from the remote mirror once the job is over (repeatable).",
)
@click.option("--from-offset", type=click.IntRange(min=0), default=0, hidden=True)
def wait_command(
    job_id: str,
    quiet: bool,
    remote: str | None,
    new: bool,
    pulls: tuple[str, ...],
    from_offset: int,
) -> None:
    """Follow a job submitted earlier and exit with its exit code.

    Shows its output from the start. Ctrl-C stops waiting; the job goes on."""
    if remote:
        from pathlib import Path

        from qxub.cli.configured import cli_config
        from qxub.mirroring.run import wait_remote_job
        from qxub.remote.config import find_remote

        config = cli_config()
        found = config.lookup("remote_path")
        code = wait_remote_job(
            find_remote(config, remote),
            job_id,
            Path.cwd(),
            str(found[0]) if found else None,
            new=new,
            pulls=pulls,
            quiet=quiet,
        )
        raise SystemExit(code)
    if new or pulls:
        raise UsageError(
            "--new and --pull go with --remote",
            hint=f"e.g. qxub wait --remote gadi {job_id} --pull results/",
        )
    protocol.hello()
    use_user_jobs_dir()
    record = load_record(job_id)
    scheduler = get_scheduler(record.scheduler)
    streams = Streams.standard(quiet)
    if protocol.writer() is not None:  # a laptop follows: one segment, as frames
        raise SystemExit(follow_framed(record, scheduler, streams, from_offset))
    try:
        outcome = follow(record, scheduler, out=streams.out, err=streams.err, status=streams.status)
    except KeyboardInterrupt:
        streams.status(f"stopped waiting; job {job_id} goes on (`qxub cancel {job_id}` stops it)")
        raise SystemExit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:
        raise SystemExit(reader_gone(job_id)) from None
    streams.status(describe_outcome(job_id, outcome))
    raise SystemExit(outcome.exit_code)


@click.command("status")
@click.argument("job_ids", nargs=-1)
@click.option("-n", "--last", default=20, show_default=True, help="How many recent jobs to list.")
@REMOTE_OPTION
def status_command(job_ids: tuple[str, ...], last: int, remote: str | None) -> None:
    """Show the state of jobs (default: the most recent ones)."""
    if remote:
        _on_remote(remote, ["status", "--last", str(last), *job_ids])
    protocol.hello()
    use_user_jobs_dir()
    records = [load_record(j) for j in job_ids] if job_ids else list_records(last)
    if not records:
        click.echo("no jobs submitted with qxub yet", err=True)
        return
    click.echo(table([row for r in records for row in views(r)]))


@click.command("cancel")
@click.argument("job_ids", nargs=-1, required=True)
@REMOTE_OPTION
def cancel_command(job_ids: tuple[str, ...], remote: str | None) -> None:
    """Cancel jobs by id."""
    if remote:
        _on_remote(remote, ["cancel", *job_ids])
    protocol.hello()
    use_user_jobs_dir()
    records = [load_record(j) for j in job_ids]
    streams = Streams.standard(quiet=False)
    for record in records:
        cancel_job(record, get_scheduler(record.scheduler), streams.status)


@click.group("jobs")
def jobs_group() -> None:
    """Job folders: each job's record, script and logs, kept in jobs_dir."""


@jobs_group.command("clean")
@click.option(
    "--older-than",
    default=DEFAULT_OLDER_THAN,
    show_default=True,
    metavar="AGE",
    type=DurationType(),
    help="Remove folders of ended jobs unchanged for this long: 30d, 12h, 90m.",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@REMOTE_OPTION
def clean_command(older_than: str, dry_run: bool, remote: str | None) -> None:
    """Remove old job folders; never one of a queued or running job.

    A folder goes once its job has ended (its exit code file, else its scheduler says so);
    a job whose state is unknown is kept."""
    if remote:
        words = ["jobs", "clean", f"--older-than={older_than}", *(["--dry-run"] if dry_run else [])]
        _on_remote(remote, words)
    from qxub.job.resources import parse_duration
    from qxub.jobclean import clean
    from qxub.state import jobs_dir

    protocol.hello()
    use_user_jobs_dir()
    verdicts = clean(parse_duration(older_than, "--older-than"), dry_run=dry_run)
    for v in verdicts:
        verb = ("would remove" if dry_run else "removed") if v.remove else "kept"
        why = v.why.removeprefix("kept: ")
        click.echo(f"{verb:<12}  {v.job_id or '-':<14}  {v.path.name}  ({why})")
        if v.remove and v.run_folder is not None:
            click.echo(f"{'':<12}  {'':<14}  and its run folder {v.run_folder}")
    gone = sum(v.remove for v in verdicts)
    kept = len(verdicts) - gone
    done = "would be removed" if dry_run else "removed"
    click.echo(
        f"{gone} job folder(s) {done}, {kept} old one(s) kept, in {jobs_dir()} "
        f"(unchanged for {older_than})",
        err=True,
    )
