"""The shared flow of every job: write the script, submit it, record it."""

from __future__ import annotations

import os
import shlex
import socket
import time
from collections.abc import Callable
from pathlib import Path

from qxub import __version__
from qxub import record as records
from qxub.job.script import STDIN_FILE, render_script
from qxub.job.spec import JobSpec
from qxub.record import record
from qxub.schedulers.base import Scheduler
from qxub.state import RUN_FOLDER_ENV, RUN_ID_SUFFIX, JobRecord, new_logdir, save_record

SCRIPT_NAME = "job.sh"


@record(frozen=True)
class DryRun:
    script: str
    submit_command: str
    unhonoured: tuple[str, ...]


def hostname() -> str:
    return socket.gethostname()


def dry_run(spec: JobSpec, scheduler: Scheduler) -> DryRun:
    """What would be submitted, without creating anything."""
    logdir = Path("<logdir>")
    script = render_script(
        spec,
        scheduler.directives(spec, logdir),
        str(logdir),
        version=__version__,
        host=hostname(),
        array_variable=scheduler.array_variable,
    )
    argv = scheduler.submit_argv(logdir / SCRIPT_NAME, logdir)
    return DryRun(script, shlex.join(argv), tuple(scheduler.unhonoured(spec)))


def submit(
    spec: JobSpec,
    scheduler: Scheduler,
    *,
    stdin_fd: int | None = None,
    status: Callable[[str], None] = lambda _: None,
) -> JobRecord:
    """Write the job script into a fresh log dir, submit it, and record the job. A job with
    `spec.stdin` gets everything from `stdin_fd`, staged in its log dir first."""
    # Taken from the environment, so that neither the job nor a qxub it runs inherits it.
    run_folder = os.environ.pop(RUN_FOLDER_ENV, None)
    logdir = new_logdir()
    extra: dict[str, int | str] = {}
    if spec.stdin:
        from qxub.stdin import stage

        assert stdin_fd is not None, "a job with stdin needs its source"
        extra["stdin_bytes"] = stage(stdin_fd, logdir / STDIN_FILE, status)
        if not extra["stdin_bytes"]:  # an empty pipe (a remote qxub's, mostly): no stdin
            (logdir / STDIN_FILE).unlink()
            spec = records.replace(spec, stdin=False)
            extra = {}
    script = logdir / SCRIPT_NAME
    text = render_script(
        spec,
        scheduler.directives(spec, logdir),
        str(logdir),
        version=__version__,
        host=hostname(),
        array_variable=scheduler.array_variable,
    )
    script.write_bytes(os.fsencode(text))  # a non-UTF-8 word of the command: its own bytes
    os.chmod(script, 0o700)
    submitted_at = time.time()
    job_id = scheduler.submit(script, logdir, spec)
    if run_folder and os.path.isabs(run_folder) and os.path.isdir(run_folder):
        extra["run_folder"] = run_folder
        claim_run_folder(run_folder, job_id)
    record = JobRecord(
        job_id=job_id,
        scheduler=scheduler.name,
        logdir=str(logdir),
        spec=spec,
        submitted_at=submitted_at,
        host=hostname(),
        unhonoured=tuple(scheduler.unhonoured(spec)),
        extra=extra,
    )
    save_record(record)
    return record


def claim_run_folder(run_folder: str, job_id: str) -> None:
    """Name the job beside its run folder (`exec --remote --snapshot`): how the laptop finds
    the folder by the job's id, and what `qxub jobs clean` checks before removing it."""
    named = Path(run_folder + RUN_ID_SUFFIX)
    temp = named.with_name(f"{named.name}.{os.getpid()}.tmp")
    temp.write_text(f"{job_id}\n")
    temp.replace(named)
