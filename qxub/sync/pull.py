"""Pull: bring paths from the mirror into the local project, never losing a local edit.

A local file is overwritten only if it is exactly as qxub last synced it (size and mtime in
the manifest). Otherwise the remote copy is kept beside it as `<name>.from-<remote>` (or
skipped with keep_local; force overwrites). Local files are never deleted.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qxub.errors import UsageError
from qxub.sync import MARKER
from qxub.sync.engine import SyncEngine
from qxub.sync.manifest import Manifest, stamp


@dataclass
class PullResult:
    pulled: list[tuple[str, int]] = field(default_factory=list)
    conflicts: list[tuple[str, str | None]] = field(default_factory=list)  # (path, kept as)
    elapsed: float = 0.0

    @property
    def pulled_bytes(self) -> int:
        return sum(size for _, size in self.pulled)


def project_paths(patterns: Sequence[str], root: Path, cwd: Path) -> list[str]:
    """Paths as typed (relative to where the user stands) -> relative to the project root.
    Absolute paths and paths that leave the project are refused."""
    result = []
    for text in patterns:
        if os.path.isabs(text) or text.startswith("~"):
            raise UsageError(
                f"cannot pull {text!r}: give a path inside the project, relative to here",
                hint="e.g. results/ or output/run1.csv",
            )
        joined = os.path.normpath(os.path.join(os.path.relpath(cwd, root), text))
        if joined == ".." or joined.startswith("../") or joined.startswith("/"):
            raise UsageError(
                f"cannot pull {text!r}: it leaves the project ({root})",
                hint="pull paths inside the project only",
            )
        result.append("." if joined == "." else joined.replace(os.sep, "/"))
    return result


def run_pull(
    root: Path,
    paths: Sequence[str],
    engine: SyncEngine,
    remote_path: str,
    manifest: Manifest,
    remote_name: str,
    *,
    dry_run: bool = False,
    force: bool = False,
    keep_local: bool = False,
) -> PullResult:
    candidates = engine.plan_pull(root, paths, remote_path)
    safe: list[tuple[str, int]] = []
    conflicts: list[tuple[str, int]] = []
    for rel, size in candidates.sent:
        if posixpath.basename(rel) == MARKER and posixpath.dirname(rel) == "":
            continue
        local = root / rel
        here = stamp(local)
        if here is None or force or here == manifest.synced_stamp(rel):
            safe.append((rel, size))
        else:
            conflicts.append((rel, size))
    result = PullResult(pulled=safe)
    if dry_run:
        result.conflicts = [
            (rel, None if keep_local else _beside(rel, remote_name)) for rel, _ in conflicts
        ]
        return result
    if safe:
        transfer = engine.fetch(remote_path, [rel for rel, _ in safe], root)
        result.elapsed += transfer.elapsed
    for rel, _ in safe:
        found = stamp(root / rel)
        if found is not None:
            manifest.pulled[rel] = found
    if conflicts and not keep_local:
        result.conflicts = _fetch_beside(root, conflicts, engine, remote_path, remote_name)
    else:
        result.conflicts = [(rel, None) for rel, _ in conflicts]
    return result


def _beside(rel: str, remote_name: str) -> str:
    return f"{rel}.from-{remote_name}"


def _fetch_beside(
    root: Path,
    conflicts: list[tuple[str, int]],
    engine: SyncEngine,
    remote_path: str,
    remote_name: str,
) -> list[tuple[str, str | None]]:
    """Fetch the remote copies of conflicting files into a scratch folder, then move each
    next to the local file under a name that says where it came from."""
    # Inside the project (so the final rename stays on one file system), in qxub's own folder,
    # which pushes ignore.
    own = root / ".qxub"
    made_own = not own.exists()
    own.mkdir(exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="pull-", dir=own))
    try:
        engine.fetch(remote_path, [rel for rel, _ in conflicts], scratch)
        kept: list[tuple[str, str | None]] = []
        for rel, _ in conflicts:
            target = root / _beside(rel, remote_name)
            os.replace(scratch / rel, target)
            kept.append((rel, _beside(rel, remote_name)))
        return kept
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if made_own:
            with contextlib.suppress(OSError):
                own.rmdir()
