"""Run one job: submit it (or show it), then follow it to its end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from qxub import protocol
from qxub import record as records
from qxub.errors import EXIT_INTERRUPTED, QxubError, UsageError
from qxub.job.spec import JobSpec
from qxub.jobs import SCRIPT_NAME, dry_run, submit
from qxub.monitor import Paused, describe_outcome, follow, follow_segment
from qxub.polling import Outcome
from qxub.record import record
from qxub.schedulers.base import Scheduler
from qxub.state import JobRecord, update_record
from qxub.stdin import piped_fd
from qxub.streams import Streams, reader_gone

if TYPE_CHECKING:
    from qxub.options import ExecOptions
    from qxub.remote.forwarding import Tunnel

__all__ = ["Mode", "Streams", "cancel_job", "execute", "follow_to_end", "reader_gone", "run_exec"]


@record(frozen=True)
class Mode:
    dry: bool = False
    terse: bool = False
    detach: bool = False
    quiet: bool = False
    verbose: int = 0


def run_exec(options: ExecOptions, cwd: Path) -> int:
    """`qxub exec` on this machine: place the job (platform, scheduler, queue), submit it
    and follow it. `options` have the config's defaults applied."""
    from qxub.job.build import spec_from_options
    from qxub.placement import place
    from qxub.schedulers.registry import get_scheduler

    if options.sync or options.pull or options.snapshot is not None:
        raise UsageError(
            "--sync, --snapshot and --pull go with --remote: they copy the project to a remote "
            "and back",
            hint="e.g. qxub exec --remote local --sync --snapshot -- ...",
        )
    stdin_fd = piped_fd()
    spec = records.replace(spec_from_options(options, cwd), stdin=stdin_fd is not None)
    placement = place(spec, scheduler=options.scheduler, internet=options.internet)
    scheduler = get_scheduler(placement.scheduler)
    mode = Mode(
        dry=options.dry,
        terse=options.terse,
        detach=options.detach,
        quiet=options.quiet,
        verbose=options.verbose,
    )
    notes = [placement.estimate] if placement.estimate else []
    if options.verbose:
        notes += placement.notes
    if stdin_fd is not None and options.dry:
        notes.append("stdin: what is piped into qxub, staged in the log dir before submission")
    streams = Streams.standard(options.silent)
    forwarding = None
    if options.forward and not options.dry:
        from qxub.interactive.forwards import batch_forwarding

        forwarding = batch_forwarding(options.forward, scheduler, options.detach, streams.status)
    return execute(
        placement.spec, scheduler, mode, streams, notes, forwarding=forwarding, stdin_fd=stdin_fd
    )


def execute(
    spec: JobSpec,
    scheduler: Scheduler,
    mode: Mode,
    streams: Streams,
    notes: list[str] | None = None,
    *,
    forwarding: Callable[[JobRecord], Tunnel] | None = None,
    stdin_fd: int | None = None,
) -> int:
    """Submit `spec` and follow it; the return value is the exit code for qxub.
    `forwarding` starts what --forward asked for, removed when following ends; a job with
    `spec.stdin` gets everything from `stdin_fd`."""
    notes = notes or []
    if mode.dry:
        shown = dry_run(spec, scheduler)
        streams.text_out.write(shown.script)
        streams.text_out.write(f"\n# submit with: {shown.submit_command}\n")
        for note in notes:
            streams.text_out.write(f"# {note}\n")
        if shown.unhonoured:
            streams.text_out.write(f"# {_unhonoured_text(scheduler.name, shown.unhonoured)}\n")
        streams.text_out.flush()
        return 0
    record = submit(spec, scheduler, stdin_fd=stdin_fd, status=streams.status)
    protocol.emit("submitted", record.job_id, scheduler.name)
    if mode.terse:
        streams.text_out.write(record.job_id + "\n")
        streams.text_out.flush()
        return 0
    streams.status(f"job {record.job_id} submitted to {scheduler.name}")
    if mode.verbose:
        for note in notes:
            streams.status(note)
        streams.status(f"log directory: {record.logdir}")
        if "stdin_bytes" in record.extra:
            streams.status(f"stdin: {record.extra['stdin_bytes']} bytes staged for the job")
        if mode.verbose >= 2:
            script = Path(record.logdir) / SCRIPT_NAME
            streams.status(f"job script {script}:")
            streams.err.write(script.read_bytes())
            streams.err.flush()
        if record.unhonoured:
            streams.status(_unhonoured_text(scheduler.name, record.unhonoured))
    if mode.detach:
        if protocol.writer() is None:  # a laptop says how to come back from there
            streams.status(f"follow it with: qxub wait {record.job_id}")
        return 0
    tunnel = forwarding(record) if forwarding is not None else None
    try:
        return follow_to_end(record, scheduler, streams)
    finally:
        if tunnel is not None:
            tunnel.close()


def follow_to_end(record: JobRecord, scheduler: Scheduler, streams: Streams) -> int:
    """Follow a job; Ctrl-C cancels it and returns 130."""
    if protocol.writer() is not None:
        return follow_framed(record, scheduler, streams, offset=0)
    try:
        outcome: Outcome = follow(
            record, scheduler, out=streams.out, err=streams.err, status=streams.status
        )
    except KeyboardInterrupt:
        cancel_job(record, scheduler, streams.status)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return reader_gone(record.job_id)
    streams.status(describe_outcome(record.job_id, outcome))
    return outcome.exit_code


def follow_framed(record: JobRecord, scheduler: Scheduler, streams: Streams, offset: int) -> int:
    """The remote end of a laptop's follow: the job's output log from `offset` as frames, for
    one segment (QXUB_FOLLOW_SEGMENT seconds); then `finished <code>`, or `continue-at
    <offset>` when the job goes on. The laptop cancels a job itself (`qxub cancel`)."""
    frames = protocol.writer()
    assert frames is not None
    if record.spec.array:  # sub-jobs stream prefixed from their own files, in one segment
        outcome = follow(record, scheduler, out=streams.out, err=streams.err, status=streams.status)
        streams.out.flush()
        streams.err.flush()
        streams.status(describe_outcome(record.job_id, outcome))
        protocol.emit("finished", str(outcome.exit_code))
        return outcome.exit_code
    streams.out.flush()
    streams.err.flush()
    protocol.emit("following", str(offset))
    ended = follow_segment(
        record,
        scheduler,
        frames.write_raw,
        status=streams.status,
        offset=offset,
        span=protocol.segment_span(),
        on_started=lambda: protocol.emit("started"),
    )
    if isinstance(ended, Paused):
        protocol.emit("continue-at", str(ended.offset))
        return 0
    streams.status(describe_outcome(record.job_id, ended))
    protocol.emit("finished", str(ended.exit_code))
    return ended.exit_code


def cancel_job(record: JobRecord, scheduler: Scheduler, status: Callable[[str], None]) -> None:
    """Cancel by id, keep a note of it in the record, and say so."""
    try:
        scheduler.cancel(record.job_id)
    except KeyboardInterrupt:
        status(f"interrupted again: job {record.job_id} may still be running")
        raise
    except QxubError as exc:
        status(f"could not cancel job {record.job_id}: {exc}")
        return
    update_record(record, cancelled=True)
    status(f"job {record.job_id} cancelled")


def _unhonoured_text(scheduler: str, options: tuple[str, ...]) -> str:
    where = "the local runner" if scheduler == "local" else scheduler
    return (
        f"{where} cannot honour {', '.join(options)}: "
        "recorded in the job's record and script header only"
    )
