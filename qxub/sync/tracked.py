"""Files git tracks, which a push sends as git lists them whatever git's ignore rules say:
git's index, read with one `git ls-files` and kept until the index changes, and the pass that
adds to a selection the tracked files its walk left out."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from qxub.sync.entries import Found
from qxub.sync.project import GitRepo, git_tracked_files

_GIT = b".git"


class TrackedFiles:
    """The files in git's index, relative to the project root `root` (none without a
    repository, or if git fails), read when first asked for and again when the index changes."""

    def __init__(self, root: Path, repo: GitRepo | None) -> None:
        self.root = root
        self.repo = repo
        self._files: frozenset[bytes] | None = None  # None: not read
        self._folders: frozenset[bytes] | None = None
        self._index_stamp: tuple[int, int, int] | None = None

    def files(self, fresh: bool) -> frozenset[bytes]:
        """The tracked files; read again if `fresh`, or if the index changed since it was read
        (the index is stat'ed on each call)."""
        if self.repo is None:
            return frozenset()
        try:
            info = os.stat(self.repo.index)
            stamp: tuple[int, int, int] | None = (info.st_ino, info.st_size, info.st_mtime_ns)
        except OSError:
            stamp = None  # no index yet: nothing is tracked
        if fresh or self._files is None or stamp != self._index_stamp:
            self._index_stamp = stamp
            found = git_tracked_files(self.root) if stamp is not None else None
            self._files = frozenset(found or ())
            self._folders = None
        return self._files

    def holds(self, rel: bytes, is_dir: bool) -> bool:
        """Whether git tracks the file `rel` or, for a folder, a file at any depth below it."""
        tracked = self.files(fresh=False)
        if not is_dir:
            return rel in tracked
        if self._folders is None:  # computed once per read
            folders: set[bytes] = set()
            for path in tracked:
                end = path.rfind(b"/")
                while end > 0 and path[:end] not in folders:
                    folders.add(path[:end])
                    end = path.rfind(b"/", 0, end)
            self._folders = frozenset(folders)
        return rel in self._folders


def add_tracked(
    root: Path,
    left: list[bytes],
    qxub_leaves_out: Callable[[list[bytes], bool], bool],
    found: Found,
) -> None:
    """Add to `found` the tracked files a walk of `root` left out (`left`) because git's layers
    ignore them or a folder above them, unless qxub's layers (`qxub_leaves_out`, given a path's
    parts) leave them out or they are not here."""
    top = os.fsencode(root) + b"/"
    folders_out = tuple(u for u in found.unreadable if u.endswith(b"/"))
    real: dict[bytes, bool] = {b"": True}
    for rel in left:
        parts = rel.split(b"/")
        if _GIT in parts or rel.startswith(folders_out) or qxub_leaves_out(parts, False):
            continue
        # A folder above it that is a symlink here is sent as a link: what git tracks
        # below it is not in the project any more.
        folder = rel.rpartition(b"/")[0]
        if folder not in real:
            real[folder] = os.path.realpath(top + folder) == found.inside + folder
        if not real[folder]:
            continue
        path = top + rel
        try:
            info = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            continue  # deleted here: nothing to send
        except OSError as exc:
            found.cannot_read(rel, exc)
            continue
        if not stat.S_ISDIR(info.st_mode):  # a folder now: the walk decided by the rules
            found.add(rel, path, info)
