"""How much of a remote job's output this laptop has shown: what `qxub wait --remote --new`
starts from. One small file per remote job under qxub's state directory."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from qxub.state import state_home


def _path(remote: str, job_id: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in job_id)
    return state_home() / "remote-jobs" / remote.replace("/", "_") / safe


def shown_offset(remote: str, job_id: str) -> int:
    """The offset in the job's output log up to which this laptop showed it (0: nothing)."""
    try:
        return max(0, int(_path(remote, job_id).read_text().strip()))
    except (OSError, ValueError):
        return 0


def save_shown(remote: str, job_id: str, offset: int) -> None:
    path = _path(remote, job_id)
    with contextlib.suppress(OSError):  # a note for later: never worth failing the follow
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(f"{offset}\n")
        tmp.replace(path)
