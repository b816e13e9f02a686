"""The push side of the SFTP engine: one push's look at the mirror, and how each file gets
there (written under a temporary name beside it, then renamed over the real name)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import posixpath
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from qxub.file_access import Attrs, NewFile, RemoteFiles
from qxub.sync import PART  # prefix of the temporary names files are written under

CHUNK = 256 * 1024
LIST_AT = 5  # listing a folder costs about four round trips; a stat costs one
SMALL = 256 * 1024  # files up to this size are sent in batches, read whole
BATCH_FILES, BATCH_BYTES = 64, 4 * 1024 * 1024
T = TypeVar("T")


def part_name(name: str) -> str:
    """The temporary name `name` is written under, beside it: always the same, so a transfer
    killed midway leaves at most one per file, which the next transfer of that file reuses."""
    digest = hashlib.sha1(os.fsencode(name), usedforsecurity=False).hexdigest()
    return PART + digest[:16]


def seconds(mtime_ns: int) -> int:
    return mtime_ns // 1_000_000_000


def with_exec(mode: int, executable: bool) -> int:
    """rsync -E: execute bits on where read bits are, or all off."""
    return (mode | (mode & 0o444) >> 2) if executable else mode & ~0o111


def local_kind(info: os.stat_result) -> str:
    if stat.S_ISLNK(info.st_mode):
        return "link"
    if stat.S_ISREG(info.st_mode):
        return "file"
    return "dir" if stat.S_ISDIR(info.st_mode) else "other"


def lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except OSError:
        return None


def join(base: str, rel: str) -> str:
    return posixpath.join(base, rel) if rel else base


class PushRun:
    """The state of one push: which folders there are known to exist, and what failed."""

    def __init__(self, files: RemoteFiles, root: Path, base: str, *, dry_run: bool) -> None:
        self.files = files
        self.root = root
        self.base = base
        self.dry_run = dry_run
        self.folders: set[str] = set()  # known to exist there
        self.missing: set[str] = set()  # known not to exist there
        self.errors: list[str] = []
        self.batch: list[tuple[str, os.stat_result, Attrs | None, NewFile]] = []
        self.batch_bytes = 0

    def look(self, rels: list[str]) -> dict[str, Attrs]:
        """What the mirror holds at these paths."""
        by_folder: dict[str, list[str]] = {}
        for rel in rels:
            by_folder.setdefault(posixpath.dirname(rel), []).append(rel)
        found: dict[str, Attrs] = {}
        for folder, members in by_folder.items():
            if any(f in self.missing for f in _ancestors(folder)):
                self.missing.add(folder)
                continue
            if len(members) < LIST_AT:
                for rel in members:
                    attrs = self.files.stat(join(self.base, rel))
                    if attrs is not None:
                        found[rel] = attrs
                        self.folders.add(folder)
                continue
            entries = self.files.listdir(join(self.base, folder))
            if entries is None:
                self.missing.add(folder)
                continue
            self.folders.add(folder)
            for rel in members:
                attrs = entries.get(posixpath.basename(rel))
                if attrs is not None:
                    found[rel] = attrs
            if not self.dry_run:
                for name in entries:
                    if name.startswith(PART):  # left by a push that was killed
                        with contextlib.suppress(OSError):
                            self.files.remove(join(self.base, posixpath.join(folder, name)))
        return found

    def unchanged(self, rel: str, here: os.stat_result, there: Attrs | None) -> bool:
        kind = local_kind(here)
        if there is None or there.kind != kind:
            return False
        if kind == "link":
            return os.readlink(self.root / rel) == self.files.readlink(join(self.base, rel))
        return (there.size, there.mtime) == (here.st_size, seconds(here.st_mtime_ns))

    def match_exec(self, rel: str, here: os.stat_result, there: Attrs | None) -> None:
        """An unchanged file whose execute bits differ gets them, as rsync -E does."""
        executable = bool(here.st_mode & 0o111)
        if there is None or there.kind != "file" or bool(there.mode & 0o111) == executable:
            return
        if not self.dry_run:
            try:
                self.files.set_perms(join(self.base, rel), with_exec(there.mode, executable))
            except OSError as exc:
                self.errors.append(f"{rel}: {exc.strerror or exc}")

    def _temp(self, rel: str) -> str:
        folder = posixpath.dirname(rel)
        return join(self.base, posixpath.join(folder, part_name(posixpath.basename(rel))))

    def send(self, rel: str, here: os.stat_result, there: Attrs | None) -> None:
        """Send one file: a small one joins a batch (sent by `flush`), a large one streams."""
        if there is not None:
            self.folders.add(posixpath.dirname(rel))
        if not stat.S_ISREG(here.st_mode) or here.st_size > SMALL:
            self._send_one(rel, here, there)
            return
        try:
            self.folder(posixpath.dirname(rel))
            with open(self.root / rel, "rb") as source:
                data = source.read()
        except OSError as exc:
            self.errors.append(f"{rel}: {exc.strerror or exc}")
            return
        perms = None  # a new file: this side's bits less the umask there
        if there is not None and there.kind == "file":
            perms = with_exec(there.mode, bool(here.st_mode & 0o111))
        new = NewFile(
            temp=self._temp(rel),
            path=join(self.base, rel),
            data=data,
            create_perms=stat.S_IMODE(here.st_mode) & 0o777,
            mtime=seconds(here.st_mtime_ns),
            perms=perms,
        )
        self.batch.append((rel, here, there, new))
        self.batch_bytes += len(data)
        if len(self.batch) >= BATCH_FILES or self.batch_bytes >= BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Send the batch of small files: their requests all in flight at once (a round trip
        per file costs more than the file). One that failed is sent again alone."""
        batch, self.batch, self.batch_bytes = self.batch, [], 0
        if not batch:
            return
        errors = self.files.write_many([new for _, _, _, new in batch])
        for (rel, here, there, _), error in zip(batch, errors, strict=True):
            if error is not None:  # a temporary file a killed push left, or a real refusal
                self._send_one(rel, here, there)

    def _send_one(self, rel: str, here: os.stat_result, there: Attrs | None) -> None:
        folder = posixpath.dirname(rel)
        temp = self._temp(rel)
        try:
            self.folder(folder)
            if stat.S_ISLNK(here.st_mode):
                target = os.readlink(self.root / rel)
                self._fresh(temp, lambda: self.files.symlink(target, temp))
            else:
                self._write(rel, here, there, temp)
            self.files.replace(temp, join(self.base, rel))
        except OSError as exc:
            with contextlib.suppress(OSError):
                self.files.remove(temp)
            self.errors.append(f"{rel}: {exc.strerror or exc}")

    def _write(self, rel: str, here: os.stat_result, there: Attrs | None, temp: str) -> None:
        executable = bool(here.st_mode & 0o111)
        perms = None  # a new file: this side's bits less the umask there
        if there is not None and there.kind == "file":
            perms = with_exec(there.mode, executable)
        with open(self.root / rel, "rb") as source:
            perms_new = stat.S_IMODE(here.st_mode) & 0o777
            writer = self._fresh(temp, lambda: self.files.create(temp, perms_new))
            try:
                while chunk := source.read(CHUNK):
                    writer.write(chunk)
            except BaseException:
                writer.abort()
                raise
            writer.finish(mtime=seconds(here.st_mtime_ns), perms=perms)

    def _fresh(self, temp: str, make: Callable[[], T]) -> T:
        """`make` the temporary file; one a killed push left there is removed first."""
        try:
            return make()
        except OSError:
            if self.files.stat(temp) is None:
                raise
            self.files.remove(temp)
            return make()

    def folder(self, folder: str) -> None:
        """Make sure `folder` exists there (rsync creates the folders of the files it sends)."""
        if folder in self.folders:
            return
        path = join(self.base, folder)
        parent = posixpath.dirname(folder) if folder else None
        if parent is not None and parent not in self.folders:
            self.folder(parent)
        try:
            self.files.mkdir(path)
        except OSError:
            attrs = self.files.stat(path)
            if attrs is None or attrs.kind != "dir":
                raise OSError(errno.ENOTDIR, f"cannot create the folder {folder or '.'}") from None
        self.folders.add(folder)
        self.missing.discard(folder)

    def delete(self, rel: str) -> bool:
        """Delete what qxub pushed there (a folder only when empty); False if nothing was."""
        path = join(self.base, rel)
        attrs = self.files.stat(path)
        if attrs is None:
            return False
        if self.dry_run:
            return True
        try:
            if attrs.kind == "dir":
                self.files.rmdir(path)  # holds job output: stays, as with rsync
            else:
                self.files.remove(path)
        except OSError:
            return False
        return True


def _ancestors(folder: str) -> list[str]:
    found = []
    while folder:
        folder = posixpath.dirname(folder)
        found.append(folder)
    return found
