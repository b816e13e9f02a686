"""A job's own copy of the mirror (`exec --remote --snapshot`): its run folder beside the
mirror, `<mirror>.runs/TOKEN`, found again by the job's id (the remote qxub writes the id
into `TOKEN.job` once the job is submitted)."""

from __future__ import annotations

import os
import time

from qxub.errors import QxubError
from qxub.remote.config import Remote
from qxub.remote.scripts import RUNS_SUFFIX, run_folder_script
from qxub.remote.transport import Transport


def new_token() -> str:
    """A fresh name for a run folder: when, and a few random bytes."""
    return time.strftime("%Y%m%d-%H%M%S-", time.gmtime()) + os.urandom(3).hex()


def run_folder(mirror_path: str, token: str) -> str:
    """The run folder `token` of the mirror at `mirror_path` (its real path there)."""
    return f"{mirror_path}{RUNS_SUFFIX}/{token}"


def find_run(remote: Remote, transport: Transport, mirror_path: str, job_id: str) -> str | None:
    """The run folder of job `job_id` beside the mirror, or None when it has none (it ran in
    the mirror itself, or its folder was cleaned)."""
    result = transport.run(
        run_folder_script(mirror_path + RUNS_SUFFIX, job_id), timeout=60, check=False
    )
    if result.returncode != 0:
        said = result.stderr.strip().splitlines()[-1:] or ["(no message)"]
        raise QxubError(
            f"cannot look for the run folder of job {job_id} on {remote.name}: {said[0]}",
            hint=f"check the connection (`qxub remote test {remote.name}`)",
        )
    for part in result.stdout.split("\0"):
        if part.startswith("run="):
            return part[len("run=") :]
    return None


def missing_run(remote: Remote, mirror_path: str, job_id: str) -> QxubError:
    return QxubError(
        f"job {job_id} has no run folder in {mirror_path}{RUNS_SUFFIX} on {remote.name}",
        hint="a job submitted without --snapshot ran in the mirror itself: pull without --job; "
        f"else check the id (`qxub status --remote {remote.name}`): its folder may have been "
        "removed by `qxub jobs clean`",
    )
