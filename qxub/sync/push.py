"""Push: send the selected files, delete on the remote only what qxub itself pushed earlier
and is now gone here. Outputs a job wrote in the mirror are never touched."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from qxub.sync.engine import Progress, SyncEngine, Transfer
from qxub.sync.ignore import Selection, select_files
from qxub.sync.manifest import Manifest


@dataclass(frozen=True)
class PushPlan:
    selection: Selection
    deleted: list[str]  # pushed earlier, gone here now: to delete there
    # Size and mtime of each selected file when the push was planned are the selection's
    # lstat. What is recorded as pushed is that, not a look afterwards: a file edited or renamed
    # while it was being sent is then seen as changed (or as pushed and gone) by the next push.

    @property
    def files(self) -> list[str]:
        return self.selection.files


def plan_push(root: Path, manifest: Manifest, extra_ignores: Sequence[str] = ()) -> PushPlan:
    selection = select_files(root, extra_ignores)
    current = set(selection.files)
    unreadable = {u.rstrip("/") for u in selection.unreadable}
    deleted = [
        rel
        for rel in manifest.pushed
        if rel not in current
        and not os.path.lexists(root / rel)
        and not any(rel == u or rel.startswith(u + "/") for u in unreadable)
    ]
    return PushPlan(selection, sorted(deleted))


def changed_since_push(root: Path, plan: PushPlan, manifest: Manifest) -> list[str]:
    """Selected files that are new, or not as qxub last pushed them (size or mtime)."""
    pushed = manifest.pushed
    return [rel for rel, stamp in plan.selection.stamps() if stamp != pushed.get(rel)]


def emptied_folders(deleted: Sequence[str], root: Path) -> list[str]:
    """Folders of deleted files that are gone here too: candidates for rmdir there."""
    folders: set[str] = set()
    for rel in deleted:
        parent = posixpath.dirname(rel)
        while parent and not (root / parent).exists():
            folders.add(parent)
            parent = posixpath.dirname(parent)
    return sorted(folders)


def run_push(
    root: Path,
    plan: PushPlan,
    engine: SyncEngine,
    remote_path: str,
    *,
    dry_run: bool = False,
    force_times: bool = False,
    paths: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> Transfer:
    """One engine run: the selected files (or just `paths`) plus the deletions."""
    files = list(plan.files if paths is None else paths)
    return engine.push(
        root,
        files,
        plan.deleted,
        remote_path,
        dry_run=dry_run,
        force_times=force_times,
        progress=progress,
    )


def record_push(
    manifest: Manifest, root: Path, plan: PushPlan, paths: Sequence[str] | None = None
) -> None:
    """Remember what is now there because qxub pushed it (`paths`: what this push sent,
    None for all selected files)."""
    for rel in plan.deleted:
        manifest.pushed.pop(rel, None)
        manifest.pulled.pop(rel, None)
    # Files no longer selected (newly ignored) stay there, but qxub no longer owns them.
    if paths is None:  # every selected file is there as it is here
        manifest.pushed = dict(plan.selection.stamps())
        if manifest.pulled:
            manifest.pulled = {k: v for k, v in manifest.pulled.items() if k not in manifest.pushed}
        return
    selected = set(plan.files)
    manifest.pushed = {rel: s for rel, s in manifest.pushed.items() if rel in selected}
    sent = set(paths)
    for rel, stamp in plan.selection.stamps():
        if rel in sent:
            manifest.pushed[rel] = stamp
            manifest.pulled.pop(rel, None)
