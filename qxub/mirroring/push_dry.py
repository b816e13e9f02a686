"""`qxub remote push --dry-run` (and `exec --sync --dry`): what a push would send and delete,
decided as a push decides (the record and one look at the mirror), changing nothing."""

from __future__ import annotations

from pathlib import Path

from qxub.job.resources import format_size_human
from qxub.mirroring.place import check_mirror, check_owner, mirror_place
from qxub.mirroring.remote_state import mirror_state
from qxub.mirroring.report import PushResult, Say, files, say_conflicts, show_str
from qxub.mirroring.root import checked_root
from qxub.remote.config import Remote
from qxub.remote.reach import transport_for
from qxub.sync.engine import Transfer
from qxub.sync.manifest import load_manifest
from qxub.sync.push import plan_push, to_decide
from qxub.sync.threeway import decide_push


def dry_push(
    remote: Remote, cwd: Path, remote_path: str | None, say: Say, *, force: bool = False
) -> PushResult:
    root = checked_root(cwd)
    transport = transport_for(remote)
    manifest = load_manifest(remote.name, root)
    place = mirror_place(remote, root, remote_path)
    found = check_mirror(remote, transport, place, root, look_only=True)
    if manifest.location_key != place.key:
        manifest.synced.clear()
        manifest.from_remote.clear()
    plan = plan_push(root, manifest, remote.sync_ignore)
    result = PushResult(selected=len(plan.files))
    here = to_decide(plan, manifest, full=found is None or manifest.verified_at == 0.0)
    if found is None:
        where = f"{place.display} (not created yet)"
        there = {}
    else:
        where = found.path
        state = mirror_state(remote, transport, found.path, paths=sorted(here)) if here else None
        if state is not None and state.marker:
            check_owner(state.marker, root, remote.name, found.path)
        there = dict(state.entries) if state is not None else {}
    decision = decide_push(
        here, manifest.synced, there, from_remote=manifest.from_remote, force=force
    )
    sizes = {rel: e.size for rel, e in plan.entries.items()}
    result.transfer = Transfer(
        sent=[(rel, sizes.get(rel, 0)) for rel in decision.send], deleted=decision.delete
    )
    result.conflicts = decision.conflicts
    for warning in plan.selection.warnings:
        say(f"warning: {warning}")
    for rel, nbytes in result.transfer.sent:
        print(f"send    {show_str(rel)}  ({format_size_human(nbytes)})")
    for rel in result.transfer.deleted:
        print(f"delete  {show_str(rel)}")
    say_conflicts(remote.name, result.conflicts, say)
    total = format_size_human(result.transfer.sent_bytes)
    say(
        f"dry run: would send {files(len(result.transfer.sent))} ({total})"
        f" and delete {len(result.transfer.deleted)} on {remote.name}:{where}"
    )
    return result
