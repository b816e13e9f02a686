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
from qxub.sync.manifest import Manifest, Stamp


@dataclass(frozen=True)
class PushPlan:
    selection: Selection
    deleted: list[str]  # pushed earlier, gone here now: to delete there
    # Size and mtime of each selected file when the push was planned (the selection's lstat).
    # What is recorded as pushed is this, not a look afterwards: a file edited or renamed
    # while it was being sent is then seen as changed (or as pushed and gone) by the next push.
    stamps: dict[str, Stamp]

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
    return PushPlan(selection, sorted(deleted), dict(selection.stamps()))


def changed_since_push(root: Path, plan: PushPlan, manifest: Manifest) -> list[str]:
    """Selected files that are new, or not as qxub last pushed them (size or mtime)."""
    return [rel for rel in plan.files if plan.stamps.get(rel) != manifest.pushed.get(rel)]


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
    selected = set(plan.files)
    manifest.pushed = {rel: s for rel, s in manifest.pushed.items() if rel in selected}
    for rel in plan.files if paths is None else paths:
        found = plan.stamps.get(rel)
        if found is not None:
            manifest.pushed[rel] = found
            manifest.pulled.pop(rel, None)
