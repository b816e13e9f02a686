"""The shared flow of every job: write the script, submit it, record it."""

from __future__ import annotations

import os
import shlex
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from qxub import __version__
from qxub.job.script import render_script
from qxub.job.spec import JobSpec
from qxub.schedulers.base import Scheduler
from qxub.state import JobRecord, new_logdir, save_record

SCRIPT_NAME = "job.sh"


@dataclass(frozen=True)
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


def submit(spec: JobSpec, scheduler: Scheduler) -> JobRecord:
    """Write the job script into a fresh log dir, submit it, and record the job."""
    logdir = new_logdir()
    script = logdir / SCRIPT_NAME
    text = render_script(
        spec,
        scheduler.directives(spec, logdir),
        str(logdir),
        version=__version__,
        host=hostname(),
        array_variable=scheduler.array_variable,
    )
    script.write_text(text)
    os.chmod(script, 0o700)
    submitted_at = time.time()
    job_id = scheduler.submit(script, logdir, spec)
    record = JobRecord(
        job_id=job_id,
        scheduler=scheduler.name,
        logdir=str(logdir),
        spec=spec,
        submitted_at=submitted_at,
        host=hostname(),
        unhonoured=tuple(scheduler.unhonoured(spec)),
    )
    save_record(record)
    return record
