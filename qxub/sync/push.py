"""Push: which paths a push must decide on (changed here since the record, or deleted here),
and the record after it. The decisions themselves follow the three-way rule (threeway.py)
against what the mirror holds at those paths: files a job wrote or changed there are never
overwritten or deleted."""

from __future__ import annotations

import itertools
import os
import posixpath
import stat
from collections.abc import Collection, Iterable, Mapping, Sequence
from operator import is_not
from pathlib import Path

from qxub.record import record
from qxub.sync.engine import Progress, SyncEngine, Transfer
from qxub.sync.ignore import Selection, select_files
from qxub.sync.manifest import Entry, Manifest


@record(frozen=True)
class PushPlan:
    selection: Selection
    deleted: list[str]  # in the record, gone here now (or a folder here now)
    # Each selected file as it was when the push was planned (the selection's lstat). What is
    # recorded as synced is this, not a look afterwards: a file edited or renamed while it was
    # being sent is then seen as changed (or as gone) by the next push.
    entries: dict[str, Entry]

    @property
    def files(self) -> list[str]:
        return self.selection.files


def plan_push(
    root: Path,
    manifest: Manifest,
    extra_ignores: Sequence[str] = (),
    selection: Selection | None = None,
) -> PushPlan:
    """What to decide on; `selection`: the files, when selected already (with the same rules)."""
    if selection is None:
        selection = select_files(root, extra_ignores)
    entries = _entries(selection, manifest.synced)
    unreadable = {u.rstrip("/") for u in selection.unreadable}
    deleted = [
        rel
        for rel in manifest.synced
        if rel not in entries
        and _gone_or_folder(root / rel)
        and not any(rel == u or rel.startswith(u + "/") for u in unreadable)
    ]
    return PushPlan(selection, sorted(deleted), entries)


def _entries(selection: Selection, synced: Mapping[str, Entry]) -> dict[str, Entry]:
    """Each selected file's size, time and kind, from the selection's lstat. A file as the
    record holds it gets the record's own Entry (no second one is made: a big tree's push
    keeps one Entry per file, and most files are unchanged)."""
    kinds = {mode: "link" if stat.S_ISLNK(mode) else "file" for mode in set(selection.modes)}
    entries: dict[str, Entry] = {}
    last, make = synced.get, tuple.__new__
    for rel, size, mtime, mode in zip(
        selection.files, selection.sizes, selection.mtimes, selection.modes, strict=True
    ):
        state = size, mtime, kinds[mode]
        known = last(rel)
        # tuple.__new__ makes an Entry at C speed (Entry(...) is a Python call).
        entries[rel] = known if known == state else make(Entry, state)
    return entries


def _gone_or_folder(path: Path) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return True
    return stat.S_ISDIR(info.st_mode)


def to_decide(
    plan: PushPlan, manifest: Manifest, *, full: bool, touched: Collection[str] = ()
) -> Mapping[str, Entry | None]:
    """The paths this push decides on, with their state here (None: gone): the selected files
    that are new or not as last synced (or `touched`, seen written by a watcher), and those
    deleted here. `full`: every selected file, whatever the record says (the mirror may have
    lost some): the plan's own entries when nothing was deleted (not a copy of them)."""
    if full:
        if not plan.deleted:
            return plan.entries
        chosen: dict[str, Entry | None] = dict(plan.entries)
    else:
        synced = manifest.synced.get
        chosen = {rel: here for rel, here in plan.entries.items() if synced(rel) != here}
        for rel in touched:
            if rel in plan.entries:
                chosen[rel] = plan.entries[rel]
    for rel in plan.deleted:
        chosen[rel] = None
    return chosen


def emptied_folders(deleted: Iterable[str], root: Path) -> list[str]:
    """Folders of deleted files that are gone here too (or are files here now): candidates
    for rmdir there."""
    folders: set[str] = set()
    for rel in deleted:
        parent = posixpath.dirname(rel)
        while parent and not (root / parent).is_dir():
            folders.add(parent)
            parent = posixpath.dirname(parent)
    return sorted(folders)


def run_push(
    root: Path,
    files: Sequence[str],
    engine: SyncEngine,
    remote_path: str,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> Transfer:
    """One engine run sending `files`. They were chosen by comparing with the record and
    the mirror, so each is sent even when size and second look the same there."""
    return engine.push(
        root, files, [], remote_path, dry_run=dry_run, force_times=True, progress=progress
    )


def record_push(
    manifest: Manifest,
    plan: PushPlan,
    *,
    sent: Iterable[str] = (),
    equal: Iterable[str] = (),
    forget: Iterable[str] = (),
) -> None:
    """`sent` and `equal` (found equal at both ends) paths take their state here as planned;
    a sent path is qxub's own from now on. `forget` (deleted there, or gone at both ends, or
    left to the remote) leave the record."""
    for rel in forget:
        manifest.synced.pop(rel, None)
        manifest.from_remote.discard(rel)
    equal = list(equal)
    entries, synced = plan.entries, manifest.synced
    # Those the record holds as that very Entry already (most of a full push's) are skipped
    # at C speed: assigning them again changes nothing.
    for rel in itertools.compress(
        equal, map(is_not, map(synced.get, equal), map(entries.get, equal))
    ):
        found = entries.get(rel)
        if found is not None:
            synced[rel] = found
    for rel in sent:
        found = plan.entries.get(rel)
        if found is not None:
            manifest.synced[rel] = found
            manifest.from_remote.discard(rel)
