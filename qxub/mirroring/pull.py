"""`qxub remote pull` and `exec --pull`: files brought home from the mirror by the three-way
rule, under the project's sync lock (a push or a watch round never races a pull), local edits
kept."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from qxub.errors import QxubError, UsageError
from qxub.job.resources import format_size_human
from qxub.locks import file_lock
from qxub.mirroring.progress import clear, meter
from qxub.mirroring.push_ahead import pulled
from qxub.mirroring.remote_state import check_ours, mirror_state
from qxub.mirroring.report import Say, files, show_str
from qxub.mirroring.root import checked_root
from qxub.mirroring.runs import find_run, missing_run
from qxub.mirroring.sync_context import SyncContext, engine_for, open_sync
from qxub.remote import warm_list, warm_push
from qxub.remote.config import Remote
from qxub.sync.engine import SyncEngine
from qxub.sync.manifest import Manifest, entry, load_manifest
from qxub.sync.pull import (
    Conflict,
    PullResult,
    beside_name,
    blocked,
    local_state,
    place,
    project_paths,
    record_pulled,
    scratch_folder,
)
from qxub.sync.threeway import There, decide_pull


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
    progress: bool = False,
    source: str | None = None,
    job: str | None = None,
) -> PullResult:
    """Bring `patterns` (default: the remote's sync.pull) home, keeping local edits.
    `source`: the folder there to read from instead of the mirror (a job's run folder);
    `job`: read from the run folder of this job (an error when it has none)."""
    patterns = list(patterns) or list(remote.sync_pull)
    if not patterns:
        raise UsageError(
            "nothing to pull: name paths, or set sync.pull for this remote",
            hint=f"e.g. qxub remote pull {remote.name} results/",
        )
    root = checked_root(cwd)
    paths = project_paths(patterns, root, cwd)
    ctx, path = open_sync(remote, cwd, remote_path)
    if job is not None:
        source = find_run(remote, ctx.transport, path, job)
        if source is None:
            raise missing_run(remote, path, job)
    clean = not dry_run and warm_push.unchanged(remote.name, str(cwd))
    with file_lock(ctx.manifest.path):
        manifest = load_manifest(remote.name, root)
        # Started at start-up (warm_list), the listing counts only if it is not older than
        # the record: another push or pull may have written both since.
        warm_list.not_before(manifest.written_ns)
        result = _pull(ctx, manifest, source or path, paths, dry_run, force, keep_local, progress)
        if not dry_run:
            manifest.save()
    pulled(remote, cwd, clean)
    _report(remote.name, source or path, result, say, dry_run=dry_run, verbose=verbose)
    return result


def _listing(ctx: SyncContext, where: str, paths: list[str]) -> dict[str, There]:
    # The next pull of the same paths from here may start this listing at start-up.
    state = mirror_state(ctx.remote, ctx.transport, where, under=paths, ahead=0.0)
    if not state.exists:
        raise QxubError(
            f"{where} is not on {ctx.remote.name}",
            hint=f"push first (`qxub remote push {ctx.remote.name}`), or check the job's id",
        )
    check_ours(state, ctx.remote, ctx.root, where)
    for rel in paths:
        prefix = "" if rel == "." else rel.rstrip("/")
        if prefix and not any(p == prefix or p.startswith(prefix + "/") for p in state.entries):
            raise QxubError(
                f"{show_str(prefix)} is not in {where} on {ctx.remote.name}",
                hint="name paths relative to where you stand, as they are in the mirror",
            )
    return {rel: there for rel, there in state.entries.items() if there.kind != "dir"}


def _pull(
    ctx: SyncContext,
    manifest: Manifest,
    where: str,
    paths: list[str],
    dry_run: bool,
    force: bool,
    keep_local: bool,
    progress: bool,
) -> PullResult:
    there = _listing(ctx, where, paths)
    root = ctx.root
    result = PullResult()
    reasons = {rel: why for rel in there if (why := blocked(root, rel)) is not None}
    here = {rel: local_state(root, rel) for rel in there if rel not in reasons}
    decision = decide_pull(
        {r: t for r, t in there.items() if r not in reasons}, here, manifest.synced, force=force
    )
    for rel, why in sorted(reasons.items()):  # --keep-local: left as they are, by request
        result.conflicts.append(Conflict(rel, None, why, by_request=keep_local, in_the_way=True))
    result.kept = decision.kept
    beside = {
        rel: beside_name(rel, ctx.remote.name) for rel in ([] if keep_local else decision.conflicts)
    }
    if keep_local:
        result.conflicts += [
            Conflict(rel, None, "changed here since the last sync", True)
            for rel in decision.conflicts
        ]
    if dry_run:
        result.pulled = [(rel, there[rel].size) for rel in decision.fetch]
        result.conflicts += [
            Conflict(rel, name, "changed at both ends since the last sync")
            for rel, (name, _) in beside.items()
        ]
        return result
    for rel in decision.in_sync:
        found = here.get(rel)
        if found is not None and manifest.synced.get(rel) != found:
            manifest.synced[rel] = found
    wanted = [*decision.fetch, *beside]
    if not wanted:
        return result
    engine = engine_for(ctx, manifest)
    started = time.monotonic()
    with scratch_folder(root) as scratch:
        _fetch(engine, where, wanted, scratch, sum(there[r].size for r in wanted), progress)
        for rel in decision.fetch:
            why = place(root, scratch, rel, rel, here.get(rel))
            if why is None:
                record_pulled(manifest, root, rel)
                result.pulled.append((rel, there[rel].size))
                continue
            name, short = beside_name(rel, ctx.remote.name)
            kept = place(root, scratch, rel, name, entry(root / name)) is None
            result.conflicts.append(Conflict(rel, name if kept else None, why + _short(short)))
        for rel, (name, short) in beside.items():
            why = place(root, scratch, rel, name, entry(root / name))
            reason = "changed at both ends since the last sync" + _short(short)
            result.conflicts.append(Conflict(rel, None if why else name, why or reason))
    result.elapsed = time.monotonic() - started
    return result


def _short(shortened: bool) -> str:
    return " (its name shortened: the full one is too long)" if shortened else ""


def _fetch(
    engine: SyncEngine, where: str, wanted: list[str], scratch: Path, total: int, progress: bool
) -> None:
    show_progress = meter(len(wanted), total, "pulling") if progress else None
    try:
        engine.fetch(where, wanted, scratch, progress=show_progress)
    finally:
        if progress:
            clear()


def _report(
    name: str, where: str, result: PullResult, say: Say, *, dry_run: bool, verbose: int
) -> None:
    verb = "would pull" if dry_run else "pulled"
    if verbose and warm_list.used():
        say(f"the listing of the mirror on {name} was started at start-up")
    if dry_run or verbose:
        for rel, size in result.pulled:
            say(f"{verb} {show_str(rel)} ({format_size_human(size)})")
    for conflict in result.conflicts:
        rel = show_str(conflict.path)
        if conflict.by_request and conflict.in_the_way:
            say(f"skipped {rel}: {conflict.why} (--keep-local)")
        elif conflict.by_request:
            say(f"kept your {rel}: it changed here since the last sync (remote copy skipped)")
        elif conflict.kept_as is None:
            say(f"not pulled: {rel}: {conflict.why}")
        else:
            mark = "would keep" if dry_run else "kept"
            say(
                f"{mark} your {rel}: {conflict.why}; the copy from {name} is "
                f"{show_str(conflict.kept_as)}"
            )
    if result.unresolved_both_changed and not dry_run:
        say(
            "to keep only yours, pull again with --keep-local; to take the copies from "
            f"{name} over yours, with --force"
        )
    if result.unresolved_in_the_way and not dry_run:
        say(
            "a pull never writes through a symlink or over a file, even with --force: move it"
            " out of the way and pull again, or pull again with --keep-local to leave it"
        )
    say(
        f"{verb} {files(len(result.pulled))} ({format_size_human(result.pulled_bytes)}) "
        f"from {name}:{where}"
        + (f"; {len(result.conflicts)} conflicts" if result.conflicts else "")
    )
