"""`qxub jobs clean`: remove old job folders (record, script, logs, staged stdin), never one
of a job that may still be queued or running.

A folder goes when it is older than the cutoff (its newest file) and its job is known to
have ended: its script wrote its exit code, or its scheduler says it is done. A job whose
state cannot be known (the scheduler cannot be asked, does not know it any more, or the job
ran on another host's local runner) is kept, and so is a folder without a readable record.
A job that ran in its own copy of the mirror (`exec --remote --snapshot`) takes its run folder
with it: the folder goes with the job's, and stays while the job's stays.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from qxub.errors import QxubError
from qxub.record import record
from qxub.schedulers.base import JobState, State
from qxub.state import RUN_ID_SUFFIX, JobRecord, jobs_dir, read_exit_code, record_from_dict

DEFAULT_OLDER_THAN = "30d"  # the documented default retention
INDEX = "by-id"
NOT_JOBS = frozenset({INDEX, "local-ids"})

# Asks a scheduler (by name) about a job; raises QxubError when it cannot be asked.
AskState = Callable[[JobRecord], JobState]


@record(frozen=True)
class Verdict:
    path: Path
    job_id: str | None
    remove: bool
    why: str
    run_folder: Path | None = None  # the job's copy of the mirror, removed with it


def run_folder_of(record: JobRecord) -> Path | None:
    """The job's run folder, when it has one and the id beside it still names this job (a
    folder qxub did not make for this job is never removed)."""
    folder = record.extra.get("run_folder")
    if not isinstance(folder, str) or not os.path.isabs(folder):
        return None
    try:
        named = Path(folder + RUN_ID_SUFFIX).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return Path(folder) if named == record.job_id else None


def ask_scheduler(record: JobRecord) -> JobState:
    """The job's state from its own scheduler; a local-runner job of another host is unknown
    here (its pid means nothing on this one)."""
    from qxub.jobs import hostname
    from qxub.schedulers.registry import get_scheduler

    if record.scheduler == "local" and record.host != hostname():
        return JobState(State.UNKNOWN, reason=f"a local job of {record.host}")
    return get_scheduler(record.scheduler).state(record.job_id)


def newest_change(folder: Path) -> float:
    """When anything in the folder last changed (a running job keeps writing its logs)."""
    newest = folder.stat().st_mtime
    with os.scandir(folder) as entries:
        for entry in entries:
            try:
                newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
            except OSError:
                continue
    return newest


def judge(folder: Path, ask: AskState = ask_scheduler) -> Verdict:
    """Whether an old job folder may go, and why."""
    try:
        record = record_from_dict(json.loads((folder / "record.json").read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return Verdict(folder, None, False, "kept: no readable record.json (not a known job)")
    job, run = record.job_id, run_folder_of(record)
    code = read_exit_code(folder)
    if code is not None:
        return Verdict(folder, job, True, f"ended with exit code {code}", run)
    try:
        state = ask(record)
    except QxubError as exc:
        return Verdict(folder, job, False, f"kept: could not ask {record.scheduler}: {exc}")
    if state.state is State.DONE:
        how = f"exit code {state.exit_code}" if state.exit_code is not None else "no exit code"
        return Verdict(folder, job, True, f"ended ({record.scheduler}: {how})", run)
    if state.state is State.UNKNOWN:
        why = state.reason or f"{record.scheduler} does not know it any more"
        return Verdict(folder, job, False, f"kept: state unknown ({why})")
    return Verdict(folder, job, False, f"kept: {state.state.value}")


def old_folders(base: Path, cutoff: float) -> Iterator[Path]:
    """Job folders under `base` whose newest file is older than `cutoff`, oldest name first."""
    if not base.is_dir():
        return
    for folder in sorted(base.iterdir()):
        if folder.name in NOT_JOBS or folder.is_symlink() or not folder.is_dir():
            continue
        try:
            if newest_change(folder) < cutoff:
                yield folder
        except OSError:
            continue  # gone meanwhile


def _index_links(base: Path) -> dict[str, list[Path]]:
    """Folder name -> the by-id links that point at it."""
    links: dict[str, list[Path]] = {}
    index = base / INDEX
    if index.is_dir():
        for link in index.iterdir():
            try:
                target = os.readlink(link)
            except OSError:
                continue
            links.setdefault(Path(target).name, []).append(link)
    return links


def clean(
    older_than: float,
    *,
    dry_run: bool,
    ask: AskState = ask_scheduler,
    now: Callable[[], float] = time.time,
    base: Path | None = None,
) -> list[Verdict]:
    """Judge every job folder older than `older_than` seconds and (unless `dry_run`) remove
    those that may go, with their by-id links. Returns every verdict."""
    base = jobs_dir() if base is None else base
    verdicts = [judge(f, ask) for f in old_folders(base, now() - older_than)]
    if dry_run:
        return verdicts
    links = _index_links(base)
    for verdict in verdicts:
        if not verdict.remove:
            continue
        for link in links.get(verdict.path.name, []):
            link.unlink(missing_ok=True)
        if verdict.run_folder is not None:
            shutil.rmtree(verdict.run_folder, ignore_errors=True)
            Path(f"{verdict.run_folder}{RUN_ID_SUFFIX}").unlink(missing_ok=True)
        shutil.rmtree(verdict.path, ignore_errors=True)
    return verdicts
