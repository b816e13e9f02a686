"""What `exec --remote` without --sync says when the mirror may run stale code: how many
files changed here since the last push, or that the mirror was never pushed. It reads the
record and the selection here only (no connection)."""

from __future__ import annotations

from pathlib import Path

from qxub.mirroring.report import files
from qxub.project import find_project_root
from qxub.remote.config import Remote
from qxub.sync.manifest import load_manifest
from qxub.sync.push import plan_push, to_decide


def stale_notice(remote: Remote, cwd: Path) -> str | None:
    root = find_project_root(cwd)
    manifest = load_manifest(remote.name, root)
    if manifest.remote_path is None or not manifest.synced:
        return (
            f"the mirror on {remote.name} has never been pushed; "
            "add --sync to send the project first"
        )
    changed = to_decide(plan_push(root, manifest, remote.sync_ignore), manifest, full=False)
    changed = {rel: e for rel, e in changed.items() if rel not in manifest.from_remote}
    if not changed:
        return None
    return f"{files(len(changed))} changed here since the last push to {remote.name}; add --sync"
