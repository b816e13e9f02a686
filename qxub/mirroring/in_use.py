"""Jobs of a project that run in its mirror itself (submitted by `exec --remote` without
--snapshot): a push into the mirror changes what they run, and says so once per job.

This laptop's own record, one small file per remote in qxub's state directory: a job is
noted when the remote says it was submitted and forgotten when this laptop sees it end (a
followed `exec --remote`, `qxub wait --remote`). A job that ended unseen (submitted with
--detach and never waited for) is named in one notice at most, and forgotten after
FORGET_AFTER."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from qxub.locks import file_lock
from qxub.state import state_home

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from typing import Any

FORGET_AFTER = 30 * 86400.0  # seconds: no job waits and runs this long unseen


def _path(remote: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in remote)
    return state_home() / "mirror-jobs" / f"{safe}.json"


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save(path: Path, data: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # a note for later: never worth failing a job or push
        temp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        temp.write_text(json.dumps(data, indent=1) + "\n")
        temp.replace(path)


def note_job(remote: str, project_root: Path, job_id: str) -> None:
    """Job `job_id` runs in the mirror of `project_root` on `remote`."""
    path = _path(remote)
    with contextlib.suppress(OSError), file_lock(path):
        data = _load(path)
        if job_id not in data:
            now = time.time()
            data = {
                key: job
                for key, job in data.items()
                if isinstance(job, dict)
                and isinstance(job.get("since"), (int, float))
                and now - job["since"] < FORGET_AFTER
            }
            data[job_id] = {"project": str(project_root), "noticed": False, "since": now}
            _save(path, data)


def job_over(remote: str, job_id: str) -> None:
    """This laptop saw the job end: it uses no mirror any more."""
    path = _path(remote)
    if not path.exists():
        return
    with contextlib.suppress(OSError), file_lock(path):
        data = _load(path)
        if data.pop(job_id, None) is not None:
            _save(path, data)


def new_users(remote: str, project_root: Path) -> list[str]:
    """The jobs in the mirror of `project_root` not named in a notice yet; from now on they
    count as named."""
    path = _path(remote)
    if not path.exists():
        return []
    found: list[str] = []
    with contextlib.suppress(OSError), file_lock(path):
        data = _load(path)
        for job_id, job in data.items():
            ours = isinstance(job, dict) and job.get("project") == str(project_root)
            if ours and not job.get("noticed"):
                job["noticed"] = True
                found.append(job_id)
        if found:
            _save(path, data)
    return found


def in_use_notice(remote: str, project_root: Path) -> str | None:
    """What a push into the mirror says about the jobs that run there (once per job)."""
    users = new_users(remote, project_root)
    if not users:
        return None
    jobs = f"job {users[0]}" if len(users) == 1 else f"jobs {', '.join(users)}"
    verb = "runs" if len(users) == 1 else "run"
    return (
        f"{jobs} on {remote} {verb} in this mirror and will see this push (submitted without "
        "--snapshot, not seen to end here); use --snapshot to give each job its own copy"
    )


def say_in_use(remote: str, project_root: Path, changed: bool, say: Callable[[str], None]) -> None:
    """After a push that `changed` the mirror: name the jobs that run there, once each."""
    if changed:
        notice = in_use_notice(remote, project_root)
        if notice:
            say(notice)
