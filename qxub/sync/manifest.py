"""What qxub last pushed to (and pulled from) a remote mirror, kept locally per
(remote, project). Only paths in `pushed` are ever deleted on the remote; a pull overwrites
a local file only if it is still as qxub last left it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from qxub.state import state_home

# (size, mtime in ns) of a file as qxub last synced it.
Stamp = tuple[int, int]


@dataclass
class Manifest:
    path: Path
    project: str
    remote: str
    remote_path: str | None = None  # the mirror's real path there, once checked
    location_key: str | None = None  # what remote_path was derived from (config), to notice changes
    pushed: dict[str, Stamp] = field(default_factory=dict)
    pulled: dict[str, Stamp] = field(default_factory=dict)
    updated_at: float = 0.0
    verified_at: float = 0.0  # when a full push last compared every file with the mirror
    rsync_there: bool | None = None  # whether the remote has rsync (None: not checked yet)
    # The file as it was when read or written (inode, size, mtime): unchanged means this
    # record is still what the file holds, and need not be read again.
    file_stamp: tuple[int, int, int] | None = field(default=None, compare=False)

    def synced_stamp(self, rel: str) -> Stamp | None:
        return self.pulled.get(rel) or self.pushed.get(rel)

    def save(self) -> None:
        self.updated_at = time.time()
        data = {
            "project": self.project,
            "remote": self.remote,
            "remote_path": self.remote_path,
            "location_key": self.location_key,
            "pushed": self.pushed,  # (size, mtime) tuples are written as JSON arrays
            "pulled": self.pulled,
            "updated_at": self.updated_at,
            "verified_at": self.verified_at,
            "rsync_there": self.rsync_there,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        # Lone surrogates (names that are not UTF-8) survive as \\udcXX escapes.
        tmp.write_text(json.dumps(data, ensure_ascii=True))
        tmp.replace(self.path)
        self.file_stamp = _file_stamp(self.path)


def _file_stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


def manifest_path(remote: str, project_root: Path) -> Path:
    key = hashlib.sha256(os.fsencode(str(project_root))).hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in remote)
    return state_home() / "sync" / safe / f"{project_root.name[:40]}-{key}.json"


def load_manifest(remote: str, project_root: Path, known: Manifest | None = None) -> Manifest:
    """The record of (remote, project); `known` itself when it is the record as the file still
    holds it (the file is read once per push, not once per step)."""
    path = manifest_path(remote, project_root)
    stamp_now = _file_stamp(path)
    if known is not None and known.path == path and known.file_stamp == stamp_now is not None:
        return known
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return Manifest(path, str(project_root), remote)
    return Manifest(
        path=path,
        project=str(data.get("project", project_root)),
        remote=remote,
        remote_path=data.get("remote_path"),
        location_key=data.get("location_key"),
        pushed=_stamps(data.get("pushed", {})),
        pulled=_stamps(data.get("pulled", {})),
        updated_at=float(data.get("updated_at", 0.0)),
        verified_at=float(data.get("verified_at", 0.0)),
        rsync_there=data.get("rsync_there") if isinstance(data.get("rsync_there"), bool) else None,
        file_stamp=stamp_now,
    )


def _stamps(raw: dict[str, list[int]]) -> dict[str, Stamp]:
    """JSON's [size, mtime] lists as tuples, each list let go as soon as it is read (a record
    of 30,000 files is not held twice)."""
    out: dict[str, Stamp] = {}
    while raw:
        key, value = raw.popitem()
        out[key] = (int(value[0]), int(value[1]))
    return out


def stamp(path: Path) -> Stamp | None:
    """(size, mtime_ns) of a file or link, without following links; None if it is gone."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


@contextlib.contextmanager
def manifest_lock(path: Path) -> Iterator[None]:
    """Hold the sync lock of one (remote, project): one push at a time, across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+b") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks here; pushes are not concurrent there
            yield
            return
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
