"""The SFTP sync engine, for where rsync is missing at either end: rsync's rules, over the
file operations of an SFTP session (a `RemoteFiles` that qxub/remote/ opens).

- Unchanged files are skipped by size and modification second (rsync's quick check), without
  reading them; a folder with several files to check is listed once instead of stat'ed file
  by file.
- A file is written under a temporary name in its own folder, its time (and permissions) set,
  then renamed over the real name in one step: an interrupted transfer never leaves a partial
  file under the real name. One that a killed transfer left is reused by the next transfer of
  that file, and removed by a push that lists its folder.
- Permissions as rsync `-E` without `-p`: a new file gets this side's permission bits less the
  receiving umask; an existing one keeps its own, with the execute bits made to match.
- Links are sent as links, never followed.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from qxub.errors import QxubError
from qxub.file_access import Attrs, RemoteFiles
from qxub.sync import PART
from qxub.sync.engine import Progress, Transfer
from qxub.sync.sftp_push import (
    CHUNK,
    PushRun,
    join,
    local_kind,
    lstat,
    part_name,
    seconds,
    with_exec,
)

MAX_SHOWN = 8


def _failed(what: str, errors: list[str], where: str) -> QxubError:
    shown = errors[:MAX_SHOWN]
    if len(errors) > MAX_SHOWN:
        shown.append(f"... and {len(errors) - MAX_SHOWN} more")
    return QxubError(
        f"SFTP could not {what} {len(errors)} file(s) on {where}:\n" + "\n".join(shown),
        hint="check permissions and free space there; the other files were transferred",
    )


class SftpEngine:
    """Push and pull over SFTP; `where` names the other end in messages."""

    name = "sftp"

    def __init__(self, files: RemoteFiles, where: str) -> None:
        self.files = files
        self.where = where
        self._seen: dict[str, Attrs] = {}  # what the last plan_pull found, for fetch

    @contextlib.contextmanager
    def _refusals(self, what: str) -> Iterator[None]:
        """What the server refuses outside one file's transfer (a folder it will not list)
        ends the run as an error that says so."""
        try:
            yield
        except OSError as exc:
            raise QxubError(
                f"SFTP could not {what} on {self.where}: {exc.strerror or exc}",
                hint="check the permissions of the mirror there, then try again",
            ) from None

    def push(
        self,
        root: Path,
        files: Sequence[str],
        deleted: Sequence[str],
        remote_path: str,
        *,
        dry_run: bool = False,
        force_times: bool = False,
        progress: Progress | None = None,
    ) -> Transfer:
        with self._refusals("push"):
            return self._push(root, files, deleted, remote_path, dry_run, force_times, progress)

    def plan_pull(self, root: Path, paths: Sequence[str], remote_path: str) -> Transfer:
        with self._refusals("list what to pull"):
            return self._plan_pull(root, paths, remote_path)

    def fetch(
        self,
        remote_path: str,
        files: Sequence[str],
        dest: Path,
        *,
        progress: Progress | None = None,
    ) -> Transfer:
        with self._refusals("pull"):
            return self._fetch(remote_path, files, dest, progress)

    # --- push --------------------------------------------------------------------------------
    def _push(
        self,
        root: Path,
        files: Sequence[str],
        deleted: Sequence[str],
        remote_path: str,
        dry_run: bool,
        force_times: bool,
        progress: Progress | None,
    ) -> Transfer:
        started = time.monotonic()
        run = PushRun(self.files, root, remote_path, dry_run=dry_run)
        transfer = Transfer()
        there = run.look(sorted(set(files)))
        last_report = started
        for rel in sorted(set(files)):
            here = lstat(root / rel)
            if here is None or local_kind(here) not in ("file", "link"):
                continue  # gone since it was selected (rsync: "vanished"), or not a file
            if not force_times and run.unchanged(rel, here, there.get(rel)):
                run.match_exec(rel, here, there.get(rel))
                continue
            transfer.sent.append((rel, here.st_size))
            if not dry_run:
                run.send(rel, here, there.get(rel))
            now = time.monotonic()
            if progress is not None and now - last_report > 0.2:
                transfer.elapsed = now - started
                progress(transfer)
                last_report = now
        run.flush()
        for rel in deleted:
            if run.delete(rel):
                transfer.deleted.append(rel)
        transfer.elapsed = time.monotonic() - started
        if run.errors:
            raise _failed("send", run.errors, self.where)
        return transfer

    # --- pull --------------------------------------------------------------------------------
    def _plan_pull(self, root: Path, paths: Sequence[str], remote_path: str) -> Transfer:
        started = time.monotonic()
        found: dict[str, int] = {}
        for path in paths:
            rel = posixpath.normpath(path.strip("/") or ".")
            rel = "" if rel == "." else rel
            attrs = self.files.stat(join(remote_path, rel))
            if attrs is None:
                raise QxubError(
                    f"{rel or '.'} is not in the mirror {remote_path} on {self.where}",
                    hint="name paths relative to where you stand, as they are in the mirror",
                )
            if attrs.kind == "dir":
                self._walk(root, remote_path, rel, found)
            else:
                self._consider(root, remote_path, rel, attrs, found)
        return Transfer(sent=list(found.items()), elapsed=time.monotonic() - started)

    def _walk(self, root: Path, remote_path: str, folder: str, found: dict[str, int]) -> None:
        entries = self.files.listdir(join(remote_path, folder)) or {}
        for name in sorted(entries):
            attrs = entries[name]
            rel = posixpath.join(folder, name) if folder else name
            if name.startswith(PART):
                continue  # a push in progress, or one that was killed
            if attrs.kind == "dir":
                self._walk(root, remote_path, rel, found)
            else:
                self._consider(root, remote_path, rel, attrs, found)

    def _consider(
        self, root: Path, remote_path: str, rel: str, attrs: Attrs, found: dict[str, int]
    ) -> None:
        if attrs.kind not in ("file", "link"):
            return  # rsync skips devices, fifos and sockets too
        path = join(remote_path, rel)
        here = lstat(root / rel)
        if here is not None and local_kind(here) == attrs.kind:
            if attrs.kind == "file" and (here.st_size, seconds(here.st_mtime_ns)) == (
                attrs.size,
                attrs.mtime,
            ):
                return
            if attrs.kind == "link" and os.readlink(root / rel) == self.files.readlink(path):
                return
        self._seen[path] = attrs
        found[rel] = attrs.size

    def _fetch(
        self, remote_path: str, files: Sequence[str], dest: Path, progress: Progress | None
    ) -> Transfer:
        started = time.monotonic()
        last_report = started
        transfer = Transfer()
        errors: list[str] = []
        for rel in files:
            path = join(remote_path, rel)
            attrs = self._seen.get(path) or self.files.stat(path)
            if attrs is None:
                continue  # gone there since it was listed
            try:
                self._fetch_one(path, attrs, dest / rel)
            except OSError as exc:
                errors.append(f"{rel}: {exc.strerror or exc}")
                continue
            transfer.sent.append((rel, attrs.size))
            now = time.monotonic()
            if progress is not None and now - last_report > 0.2:
                transfer.elapsed = now - started
                progress(transfer)
                last_report = now
        transfer.elapsed = time.monotonic() - started
        if errors:
            raise _failed("fetch", errors, self.where)
        return transfer

    def _fetch_one(self, path: str, attrs: Attrs, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.parent / part_name(target.name)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)  # left by a pull that was killed
        if attrs.kind == "link":
            os.symlink(self.files.readlink(path), temp)
            _replace_local(temp, target)
            return
        existing = lstat(target)
        keep = existing is not None and stat.S_ISREG(existing.st_mode)
        if existing is not None and keep:
            perms = with_exec(stat.S_IMODE(existing.st_mode), bool(attrs.mode & 0o111))
        else:
            perms = attrs.mode & 0o777  # less this side's umask, as rsync does for new files
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), perms)
        try:
            with os.fdopen(fd, "wb") as out:
                reader = self.files.open_read(path)
                try:
                    while chunk := reader.read(CHUNK):
                        out.write(chunk)
                finally:
                    reader.close()
            if keep:
                os.chmod(temp, perms)  # the umask took bits the existing file has
            mtime_ns = attrs.mtime * 1_000_000_000
            os.utime(temp, ns=(time.time_ns(), mtime_ns))
            _replace_local(temp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise


def _replace_local(temp: Path, target: Path) -> None:
    try:
        os.replace(temp, target)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


__all__ = ["PART", "SftpEngine"]
