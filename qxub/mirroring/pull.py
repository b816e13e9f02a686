"""`qxub remote pull` and `exec --pull`: files brought home from the mirror, local edits kept."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from qxub.errors import UsageError
from qxub.job.resources import format_size_human
from qxub.mirroring.push import Say, engine_for, files, open_sync
from qxub.project import find_project_root
from qxub.remote.config import Remote
from qxub.sync.pull import PullResult, project_paths, run_pull


def pull(
    remote: Remote,
    cwd: Path,
    remote_path: str | None,
    patterns: Sequence[str],
    say: Say,
    *,
    dry_run: bool = False,
    force: bool = False,
    keep_local: bool = False,
    verbose: int = 0,
) -> PullResult:
    """Bring `patterns` (default: the remote's sync.pull) home, keeping local edits."""
    patterns = list(patterns) or list(remote.sync_pull)
    if not patterns:
        raise UsageError(
            "nothing to pull: name paths, or set sync.pull for this remote",
            hint=f"e.g. qxub remote pull {remote.name} results/",
        )
    root = find_project_root(cwd)
    paths = project_paths(patterns, root, cwd)
    ctx, path = open_sync(remote, cwd, remote_path)
    engine = engine_for(ctx, ctx.manifest)
    result = run_pull(
        root,
        paths,
        engine,
        path,
        ctx.manifest,
        remote.name,
        dry_run=dry_run,
        force=force,
        keep_local=keep_local,
    )
    if not dry_run:
        ctx.manifest.save()
    verb = "would pull" if dry_run else "pulled"
    if dry_run or verbose:
        for rel, size in result.pulled:
            say(f"{verb} {rel} ({format_size_human(size)})")
    for rel, kept in result.conflicts:
        if kept is None:
            say(f"kept your {rel}: it changed here since it was last synced (remote copy skipped)")
        else:
            mark = "would keep" if dry_run else "kept"
            say(
                f"{mark} your {rel}: it changed here since it was last synced; "
                f"the copy from {remote.name} is {kept}"
            )
    say(
        f"{verb} {files(len(result.pulled))} ({format_size_human(result.pulled_bytes)}) "
        f"from {remote.name}:{path}"
        + (f"; {len(result.conflicts)} conflicts" if result.conflicts else "")
    )
    return result
