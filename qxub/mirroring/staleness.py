"""What `exec --remote` without --sync says when the mirror may run stale code: how many
files changed here since the last push, or that the mirror was never pushed. It reads the
record and the selection here only (no connection, and none of the push machinery)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from qxub.errors import QxubError
from qxub.mirroring.report import files
from qxub.project import find_project_root
from qxub.remote.config import Remote
from qxub.sync.ignore import select_files
from qxub.sync.manifest import load_manifest


def stale_notice(remote: Remote, cwd: Path) -> str | None:
    root = find_project_root(cwd)
    manifest = load_manifest(remote.name, root)
    if manifest.remote_path is None or not manifest.synced:
        return (
            f"the mirror on {remote.name} has never been pushed; "
            "add --sync to send the project first"
        )
    selection = select_files(root, remote.sync_ignore)
    selected = set(selection.files)
    changed = sum(
        1
        for rel, stamp in selection.stamps()
        if (last := manifest.synced.get(rel)) is None or last.stamp != stamp
    )
    changed += sum(
        1
        for rel in manifest.synced
        if rel not in selected
        and rel not in manifest.from_remote
        and not os.path.lexists(root / rel)
    )
    if not changed:
        return None
    return f"{files(changed)} changed here since the last push to {remote.name}; add --sync"


def say_stale_notice(remote: Remote, cwd: Path, say: Callable[[str], None]) -> threading.Thread:
    """Work out `stale_notice` beside the run, which need not wait for it (walking a big
    project takes a while), and say it when known; join the thread to be sure it was said."""

    def work() -> None:
        try:
            notice = stale_notice(remote, cwd)
        except (QxubError, OSError) as exc:
            message = exc.message if isinstance(exc, QxubError) else str(exc)
            notice = f"could not tell whether the mirror on {remote.name} is up to date: {message}"
        if notice:
            say(notice)

    thread = threading.Thread(target=work, name="stale notice", daemon=True)
    thread.start()
    return thread
