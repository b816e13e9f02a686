"""The record of the last synced state of each path between a project and its mirror on one
remote: (size, mtime, kind) as both ends held it after a push or a pull. It is the base of the
three-way rule (threeway.py): a side that still equals the base did not change, so the other
side's change may replace it; a side that differs from the base changed, and is never
overwritten or deleted silently.

It is written only under the project's lock (qxub.locks.file_lock), after the transfer it
describes, by renaming a complete file over the old one: a crash at any point leaves the
record of an earlier sync, which never claims more than either end holds (a file sent since
is then found equal at both ends and recorded, not sent again)."""

from __future__ import annotations

import binascii
import contextlib
import itertools
import json
import operator
import os
import stat
import sys
import time
from array import array
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from qxub.digest import sha256_hex
from qxub.record import field, record
from qxub.state import state_home

# (size, mtime in ns) of a file as qxub last synced it.
Stamp = tuple[int, int]


class Entry(NamedTuple):
    """A path as both ends held it after the last sync: its size, the mtime of the copy here
    (ns; the copy there has the same second), and "file" or "link"."""

    size: int
    mtime_ns: int
    kind: str = "file"

    @property
    def stamp(self) -> Stamp:
        return self.size, self.mtime_ns


@record
class Manifest:
    path: Path
    project: str
    remote: str
    remote_path: str | None = None  # the mirror's real path there, once checked
    location_key: str | None = None  # what remote_path was derived from (config), to notice changes
    synced: dict[str, Entry] = field(default_factory=dict)
    # Paths whose synced state came from the remote (a pull) and was not sent since: a push
    # never deletes those there (deleting pulled results here frees space here only).
    from_remote: set[str] = field(default_factory=set)
    updated_at: float = 0.0
    verified_at: float = 0.0  # when a full push last compared every file with the mirror
    rsync_there: bool | None = None  # whether the remote has rsync (None: not checked yet)
    # The file as it was when read or written (inode, size, mtime): unchanged means this
    # record is still what the file holds, and need not be read again.
    file_stamp: tuple[int, int, int] | None = field(default=None, compare=False)

    @property
    def written_ns(self) -> int:
        """When the record was last written (its file's time, ns); 0 when it has no file."""
        return self.file_stamp[2] if self.file_stamp else 0

    def synced_stamp(self, rel: str) -> Stamp | None:
        entry = self.synced.get(rel)
        return None if entry is None else entry.stamp

    def save(self) -> None:
        self.write(self.encoded())

    def encoded(self, sent: Mapping[str, Entry] | None = None) -> str:
        """The file's text: this record, or (with `sent`) the record once those paths are
        synced in those states and qxub's own (record_push's `sent`), which a push prepares
        while its files travel."""
        synced, from_remote = self.synced, self.from_remote
        if sent:
            synced = {**synced, **sent}
            from_remote = from_remote - sent.keys()
        self.updated_at = time.time()
        values = list(synced.values())
        data = {
            "project": self.project,
            "remote": self.remote,
            "remote_path": self.remote_path,
            "location_key": self.location_key,
            # Columns, not an object per entry: the names as one text (NUL between them),
            # sizes and times as base64 of 64-bit little-endian integers, a letter per kind.
            # Written and read back without making (or leaving) an object per entry.
            "entries": dict(
                zip(
                    _COLUMNS,
                    (
                        "\0".join(synced),
                        _packed(list(map(_first, values))),
                        _packed(list(map(_second, values))),
                        "".join(map(_LETTER.__getitem__, map(_third, values))),
                    ),
                    strict=True,
                )
            ),
            "from_remote": sorted(from_remote & synced.keys()),
            "updated_at": self.updated_at,
            "verified_at": self.verified_at,
            "rsync_there": self.rsync_there,
        }
        # Lone surrogates (names that are not UTF-8) survive as \\udcXX escapes.
        return json.dumps(data, ensure_ascii=True)

    def save_verified(self) -> None:
        """Record `verified_at` alone, beside the record (`verified_path`), for a full push
        that found both ends as the record says: rewriting the whole record (a megabyte and an
        fsync at 15,000 files) would change nothing else. Not synced to disk: a crash that
        loses it only makes the next full comparison come sooner."""
        side = verified_path(self.path)
        tmp = side.with_name(side.name + ".tmp")
        tmp.write_text(repr(self.verified_at), encoding="ascii")
        tmp.replace(side)

    def write(self, text: str) -> None:
        """Replace the file with `text` (from `encoded`) in one step: a crash leaves the old
        record or the new one, never a part."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="ascii") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(self.path)
        self.file_stamp = _file_stamp(self.path)
        # The record holds its time of the last full comparison now (the later one: see
        # `_verified_since`), and says when it is next due even if set back.
        with contextlib.suppress(OSError):
            verified_path(self.path).unlink()


def _file_stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


def manifest_path(remote: str, project_root: Path) -> Path:
    key = sha256_hex(os.fsencode(str(project_root)))[:16]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in remote)
    return state_home() / "sync" / safe / f"{project_root.name[:40]}-{key}.json"


def verified_path(path: Path) -> Path:
    """The file beside the record at `path` that holds when a full push last found both ends
    as the record says, when the record itself was not rewritten then (Manifest.save_verified):
    the later of its time and the record's counts, until the record is next written."""
    return path.with_name(path.name + ".verified")


def _verified_since(path: Path, recorded: float) -> float:
    try:
        found = float(verified_path(path).read_bytes())
    except (OSError, ValueError):
        return recorded
    # Not a time to come (a clock set back, a file edited by hand): that would put off every
    # full comparison until then.
    return found if recorded < found <= time.time() + 60 else recorded


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
        synced=_entries(data),
        from_remote=set(data.get("from_remote", [])) | set(data.get("pulled", {})),
        updated_at=float(data.get("updated_at", 0.0)),
        verified_at=_verified_since(path, float(data.get("verified_at", 0.0))),
        rsync_there=data.get("rsync_there") if isinstance(data.get("rsync_there"), bool) else None,
        file_stamp=stamp_now,
    )


def _entries(data: dict[str, Any]) -> dict[str, Entry]:
    """The record's entries (`entries`, as `encoded` writes them). A record written before
    they were columns (`synced`: [size, mtime_ns, kind] by name), or before there was one
    record (`pushed` and `pulled`, (size, mtime) each), reads as files synced in that state."""
    columns = data.get("entries")
    if columns is not None:
        return _columns(columns)
    found: dict[str, Entry] = {}
    for old in ("pushed", "pulled"):
        for rel, value in data.get(old, {}).items():
            found[rel] = Entry(int(value[0]), int(value[1]))
    for rel, value in data.get("synced", {}).items():
        kind = sys.intern(str(value[2])) if len(value) > 2 else "file"
        found[sys.intern(rel)] = Entry(int(value[0]), int(value[1]), kind)
    return found


def _columns(columns: Any) -> dict[str, Entry]:
    """The entries from their columns, made at C speed (no Python call per entry); names
    interned (the selection and the mirror's listing hold the same ones: kept once), and
    one "file" for all. Empty when they are not as `encoded` writes them."""
    try:
        text, sizes, mtimes, kinds = (columns[key] for key in _COLUMNS)
        names = text.split("\0") if text else []
        states = zip(
            _unpacked(sizes), _unpacked(mtimes), map(_KIND.__getitem__, kinds), strict=True
        )
        return dict(
            zip(
                map(sys.intern, names),
                map(tuple.__new__, itertools.repeat(Entry), states),
                strict=True,
            )
        )
    except (AttributeError, TypeError, KeyError, ValueError):
        return {}


def _packed(numbers: list[int]) -> str:
    column = array("q", numbers)
    if sys.byteorder == "big":
        column.byteswap()
    return binascii.b2a_base64(column.tobytes(), newline=False).decode("ascii")


def _unpacked(text: str) -> array[int]:
    column = array("q")
    column.frombytes(binascii.a2b_base64(text))  # not whole numbers: ValueError
    if sys.byteorder == "big":
        column.byteswap()
    return column


_COLUMNS = ("names", "sizes", "mtimes_ns", "kinds")
_KIND = {"f": "file", "l": "link"}
_LETTER = {kind: letter for letter, kind in _KIND.items()}
_first, _second, _third = map(operator.itemgetter, range(3))


def entry(path: Path) -> Entry | None:
    """The path here as an Entry (a link is not followed); None if it is gone or a folder."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return Entry(info.st_size, info.st_mtime_ns, "link")
    if stat.S_ISREG(info.st_mode):
        return Entry(info.st_size, info.st_mtime_ns, "file")
    return None


def stamp(path: Path) -> Stamp | None:
    """(size, mtime_ns) of a file or link, without following links; None if it is gone."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns
