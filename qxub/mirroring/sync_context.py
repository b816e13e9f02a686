"""What a push and a pull share for one project and one remote: the project's root, its
record, the transport and the mirror's checked place (`open_sync`), and the sync engine."""

from __future__ import annotations

from pathlib import Path

from qxub.locks import file_lock
from qxub.mirroring.engines import needs_rsync_check, sync_engine_for
from qxub.mirroring.place import Mirror, MirrorPlace, check_mirror, mirror_place, rsync_there
from qxub.mirroring.root import checked_root
from qxub.record import record
from qxub.remote.config import Remote
from qxub.remote.reach import transport_for
from qxub.remote.transport import Transport
from qxub.sync.engine import SyncEngine
from qxub.sync.manifest import Manifest, load_manifest


@record(frozen=True)
class SyncContext:
    remote: Remote
    root: Path
    transport: Transport
    manifest: Manifest
    place: MirrorPlace
    checked: Mirror | None = None  # the mirror as checked (and claimed) by open_sync, if it did


def open_sync(remote: Remote, cwd: Path, remote_path: str | None) -> tuple[SyncContext, str]:
    """The project, its record and the mirror's checked path on the remote."""
    root = checked_root(cwd)
    transport = transport_for(remote)
    manifest = load_manifest(remote.name, root)
    place = mirror_place(remote, root, remote_path)
    found = None
    if manifest.remote_path is None or manifest.location_key != place.key:
        with file_lock(manifest.path):
            manifest = load_manifest(remote.name, root)
            found = check_mirror(remote, transport, place, root)
            assert found is not None
            if manifest.location_key not in (None, place.key):
                # Another place: what was synced with the old one says nothing about this one.
                manifest.synced.clear()
                manifest.from_remote.clear()
            manifest.remote_path, manifest.location_key = found.path, place.key
            manifest.rsync_there = found.rsync
            manifest.save()
    assert manifest.remote_path is not None
    return SyncContext(remote, root, transport, manifest, place, found), manifest.remote_path


def engine_for(ctx: SyncContext, manifest: Manifest) -> SyncEngine:
    """The remote's sync engine; asks the remote whether it has rsync when that decides it
    and `manifest` (saved by the caller) does not know yet."""
    if manifest.rsync_there is None and needs_rsync_check(ctx.remote):
        manifest.rsync_there = rsync_there(ctx.transport)
    ctx.manifest.rsync_there = manifest.rsync_there
    return sync_engine_for(ctx.remote, ctx.transport, manifest.rsync_there)
