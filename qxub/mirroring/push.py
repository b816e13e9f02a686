"""`qxub remote push` and `exec --sync`: the project's files sent to its mirror on a remote."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from qxub.errors import QxubError
from qxub.job.resources import format_duration, format_size_human
from qxub.mirroring.engines import needs_rsync_check, sync_engine_for
from qxub.mirroring.place import check_mirror, mirror_place, remove_empty_dirs, rsync_there
from qxub.project import find_project_root
from qxub.remote.config import Remote
from qxub.remote.reach import transport_for
from qxub.remote.scripts import LISTING_END, listing_script
from qxub.remote.transport import Transport
from qxub.sync.engine import SyncEngine, Transfer
from qxub.sync.full_check import differing
from qxub.sync.manifest import Manifest, load_manifest, manifest_lock
from qxub.sync.push import (
    PushPlan,
    changed_since_push,
    emptied_folders,
    plan_push,
    record_push,
    run_push,
)

Say = Callable[[str], None]
# A push compares every file with the mirror (a full rsync) at least this often; in between it
# sends only what changed here since the last push, and a no-op push costs no connection.
FULL_EVERY = 600.0


@dataclass(frozen=True)
class SyncContext:
    remote: Remote
    root: Path
    transport: Transport
    manifest: Manifest


def open_sync(remote: Remote, cwd: Path, remote_path: str | None) -> tuple[SyncContext, str]:
    """The project, its manifest and the mirror's checked path on the remote."""
    root = find_project_root(cwd)
    transport = transport_for(remote)
    manifest = load_manifest(remote.name, root)
    place = mirror_place(remote, root, remote_path)
    if manifest.remote_path is None or manifest.location_key != place.key:
        found = check_mirror(remote, transport, place, root)
        assert found is not None
        if manifest.location_key not in (None, place.key):
            # Another place: what was pushed to the old one says nothing about this one.
            manifest.pushed.clear()
            manifest.pulled.clear()
        manifest.remote_path, manifest.location_key = found.path, place.key
        manifest.rsync_there = found.rsync
        manifest.save()
    return SyncContext(remote, root, transport, manifest), manifest.remote_path


def engine_for(ctx: SyncContext, manifest: Manifest) -> SyncEngine:
    """The remote's sync engine; asks the remote whether it has rsync when that decides it
    and `manifest` (saved by the caller) does not know yet."""
    if manifest.rsync_there is None and needs_rsync_check(ctx.remote):
        manifest.rsync_there = rsync_there(ctx.transport)
    ctx.manifest.rsync_there = manifest.rsync_there
    return sync_engine_for(ctx.remote, ctx.transport, manifest.rsync_there)


def _progress(say_progress: bool) -> Callable[[Transfer], None] | None:
    if not say_progress:
        return None

    def show(transfer: Transfer) -> None:
        rate = transfer.sent_bytes / transfer.elapsed if transfer.elapsed else 0
        sys.stderr.write(
            f"\r\x1b[Kqxub: {len(transfer.sent)} files, {format_size_human(transfer.sent_bytes)}"
            f", {format_size_human(rate)}/s"
        )
        sys.stderr.flush()

    return show


class Pusher:
    """Pushes one project to one remote, again and again (watch keeps one): the connection,
    the mirror check and the ignore rules are set up once."""

    def __init__(self, remote: Remote, cwd: Path, remote_path: str | None) -> None:
        self.remote = remote
        self.ctx, self.path = open_sync(remote, cwd, remote_path)
        self.engine: SyncEngine | None = None  # chosen at the first push that sends anything
        self.warnings: list[str] = []  # of the last push: links outside, unreadable files
        self._record = self.ctx.manifest  # read again only when its file changed

    @property
    def root(self) -> Path:
        return self.ctx.root

    def push(
        self,
        *,
        full: bool = False,
        force_times: bool = False,
        also: Collection[str] = (),
        progress: Callable[[Transfer], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> tuple[Transfer, int]:
        """One push, under the project's sync lock (a watch and an exec --sync never race);
        returns what the engine did and how many files are selected. `also`: paths known to have
        changed (a watcher's events), sent if selected even when size and mtime look the same."""
        ctx = self.ctx
        with manifest_lock(ctx.manifest.path):
            manifest = self._record = load_manifest(self.remote.name, ctx.root, self._record)
            if manifest.remote_path != self.path:  # claimed by open_sync; kept by the lock
                manifest.remote_path, manifest.location_key = (
                    ctx.manifest.remote_path,
                    ctx.manifest.location_key,
                )
            plan = plan_push(ctx.root, manifest, self.remote.sync_ignore)
            self.warnings = selection_warnings(plan)
            started = clock()
            full = full or started - manifest.verified_at > FULL_EVERY
            paths = None if full else changed_since_push(ctx.root, plan, manifest)
            if paths is not None and also:
                known = set(paths)
                selected = set(plan.files)
                paths += sorted(p for p in set(also) - known if p in selected)
            if paths == [] and not plan.deleted:
                return Transfer(), len(plan.files)
            if self.engine is None:
                self.engine = engine_for(ctx, manifest)
            record_paths = paths
            # A listing is worth its round trip where something was pushed before; into a
            # mirror this project never pushed to, everything goes (as arguments, see rsync.py).
            listable = paths is None and self.engine.name == "rsync" and not force_times
            if listable and manifest.pushed:
                listed = self._differing(plan)
                if listed is not None:  # rsync gets the short list; all are then there
                    selected = set(plan.files)
                    paths = sorted({*listed, *(p for p in also if p in selected)})
                    if not paths and not plan.deleted:
                        manifest.verified_at = started
                        record_push(manifest, ctx.root, plan, None)
                        manifest.save()
                        return Transfer(), len(plan.files)
            transfer = run_push(
                ctx.root,
                plan,
                self.engine,
                self.path,
                paths=paths,
                force_times=force_times,
                progress=progress,
            )
            remove_empty_dirs(ctx.transport, self.path, emptied_folders(plan.deleted, ctx.root))
            record_push(manifest, ctx.root, plan, record_paths)
            if full:
                manifest.verified_at = started
            manifest.save()
            return transfer, len(plan.files)

    def _differing(self, plan: PushPlan) -> list[str] | None:
        """The selected files rsync could find different in the mirror, from one listing of
        it (sync/full_check.py); None when the mirror cannot be listed so (no GNU find, a name
        that is not UTF-8 there): rsync then gets the whole selection."""
        tops = sorted({rel.split("/", 1)[0] for rel in plan.files})
        if not all(top.isprintable() and top.isascii() for top in tops):
            tops = ["."]  # a script line carries text: list the whole mirror instead
        try:
            result = self.ctx.transport.run(listing_script(self.path, tops), timeout=600)
        except (QxubError, UnicodeError):
            return None
        if not result.stdout.endswith(LISTING_END):
            return None
        listing = result.stdout[: -len(LISTING_END)]
        del result
        return differing(str(self.ctx.root), plan.selection, listing)


def selection_warnings(plan: PushPlan) -> list[str]:
    """What a push (or a dry run) warns about: links that will not work there, what cannot be
    read."""
    unreadable = [f"cannot read {u}; not sent" for u in plan.selection.unreadable]
    return [*plan.selection.warnings, *unreadable]


def push(
    remote: Remote,
    cwd: Path,
    remote_path: str | None,
    say: Say,
    *,
    dry_run: bool = False,
    verbose: int = 0,
    progress: bool = False,
    full: bool = False,
) -> Transfer:
    """Push the project to its mirror on `remote`; say what was done in one line."""
    if dry_run:
        return _dry_push(remote, cwd, remote_path, say)
    pusher = Pusher(remote, cwd, remote_path)
    transfer, selected = pusher.push(full=full, progress=_progress(progress))
    if progress:
        sys.stderr.write("\r\x1b[K")
    for warning in pusher.warnings:
        say(f"warning: {warning}")
    if verbose:
        for rel, _ in transfer.sent:
            say(f"sent {rel}")
        for rel in transfer.deleted:
            say(f"deleted {rel}")
    say(_push_summary(remote.name, pusher.path, selected, transfer))
    return transfer


def files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def _push_summary(name: str, path: str, selected: int, transfer: Transfer) -> str:
    took = format_duration(transfer.elapsed)
    if not transfer.sent and not transfer.deleted:
        return f"{name}:{path} is up to date ({files(selected)}) [{took}]"
    size = format_size_human(transfer.sent_bytes)
    deleted = f", deleted {len(transfer.deleted)}" if transfer.deleted else ""
    return f"pushed {files(len(transfer.sent))} ({size}){deleted} to {name}:{path} [{took}]"


def _dry_push(remote: Remote, cwd: Path, remote_path: str | None, say: Say) -> Transfer:
    root = find_project_root(cwd)
    transport = transport_for(remote)
    manifest = load_manifest(remote.name, root)
    place = mirror_place(remote, root, remote_path)
    found = check_mirror(remote, transport, place, root, look_only=True)
    if manifest.location_key != place.key:
        manifest.pushed.clear()
    plan = plan_push(root, manifest, remote.sync_ignore)
    for warning in selection_warnings(plan):
        say(f"warning: {warning}")
    if found is None:
        transfer = Transfer(sent=list(zip(plan.files, plan.selection.sizes, strict=True)))
        where = f"{place.display} (not created yet)"
    else:
        engine = sync_engine_for(remote, transport, found.rsync)
        transfer = run_push(root, plan, engine, found.path, dry_run=True)
        where = found.path
    out = sys.stdout
    out.writelines(f"send    {rel}  ({format_size_human(n)})\n" for rel, n in transfer.sent)
    out.writelines(f"delete  {rel}\n" for rel in transfer.deleted)
    total = format_size_human(transfer.sent_bytes)
    say(
        f"dry run: would send {files(len(transfer.sent))} ({total})"
        f" and delete {len(transfer.deleted)} on {remote.name}:{where}"
    )
    return transfer
