"""Which files of a project are pushed: git's ignore rules, exactly, plus qxub's own layers.

Layers, lowest first; within the first layer (counting from the top) that has a matching line,
the last matching line decides, and a `!` line re-includes:

    built-in defaults  <  core.excludesFile  <  .git/info/exclude
                       <  .gitignore files (the deeper folder wins)
                       <  .qxubignore files (the deeper folder wins)
                       <  the caller's extra lines (a remote's `sync.ignore`, relative to the root)

As in git, a folder that is ignored is never walked: no rule can re-include anything below it,
and its .gitignore files are never read. A file or folder named `.git` is never pushed, whatever
the rules say. Matching is done on the raw bytes of names (see wildmatch.py).

Files git tracks are pushed as git lists them ("gitignore does not affect files already
tracked"): inside a git worktree, every path in the index that is here as a file or symlink (not
below a symlinked folder) is selected even when the git layers (defaults to .gitignore) ignore
it or a folder above it, unless qxub's own layers (extra lines, and .qxubignore files, read in
ignored folders too) leave it or a folder above it out. That costs one `git ls-files` per
selection (some 5 ms for 10,000 tracked files); without git, or if it fails, the rules alone
decide. A submodule (a gitlink in the index) is a folder like any other: walked unless ignored.

This module holds the layers and the walk; ignore_source.py compiles the lines of one ignore
file, and tracked.py reads git's index and adds the tracked files the walk left out.
"""

from __future__ import annotations

import errno
import os
import posixpath
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from qxub.errors import QxubError
from qxub.sync.entries import check_link, show
from qxub.sync.ignore_source import Source
from qxub.sync.project import find_git_repo, git_excludes_file
from qxub.sync.tracked import TrackedFiles, add_tracked

DEFAULT_IGNORES: tuple[str, ...] = (
    ".qxub/",
    "__pycache__/",
    "*.py[cod]",
    ".venv/",
    "venv/",
    ".tox/",
    ".DS_Store",
    ".qxub-part-*",
)
"""Ignored unless some ignore file re-includes them: qxub's state, Python caches, virtualenvs,
and the temporary names the SFTP engine writes files under before renaming them."""

IGNORE_FILE_NAMES = (".gitignore", ".qxubignore")
"""Per-folder ignore files: a watcher calls IgnoreRules.reload(path) when one of them changes."""

_GIT = b".git"


@dataclass(frozen=True)
class Selection:
    """What a push sends. `files` are POSIX paths relative to the project root (symlinks
    included, sent as links), sorted by their bytes as git sorts them; names that are not UTF-8
    are str with surrogate escapes (os.fsencode gives the bytes back). `unreadable` lists what
    exists but could not be read (folders end with '/'): neither send nor delete those."""

    files: list[str]
    warnings: list[str]
    unreadable: list[str]


_Stack = Callable[[bytes], tuple[Source, ...]]


class IgnoreRules:
    """The ignore rules of one project. Ignore files are read lazily, folder by folder, and
    cached; `reload` forgets them. Paths are POSIX, relative to the project root.

    The set of files git tracks is cached too: `select` reads it afresh; `is_ignored` stats
    the index on each call and reads it again (one `git ls-files`) when the index changed."""

    def __init__(
        self, root: Path, extra: Sequence[str] = (), *, defaults: Sequence[str] = DEFAULT_IGNORES
    ) -> None:
        self.root = Path(os.path.abspath(root))
        self.extra = tuple(extra)
        self.defaults = tuple(defaults)
        self._qxub_chains: dict[bytes, tuple[Source, ...]] = {}
        self._git_chains: dict[bytes, tuple[Source, ...]] = {}
        self._stacks: dict[bytes, tuple[Source, ...]] = {}
        self._dir_ignored: dict[bytes, bool] = {}
        self._qxub_dir_ignored: dict[bytes, bool] = {}
        self._tracked = TrackedFiles(self.root, None)
        self._warnings: list[str] = []
        self._global_warnings: list[str] = []
        self._top = self._prefix = b""
        self._head: tuple[Source, ...] = ()
        self._tail: tuple[Source, ...] = ()
        self.reload()

    def reload(self, changed: str | None = None) -> None:
        """Forget what was read. With `changed` (the path of an ignore file that changed,
        relative to the root), only the rules of its folder and those below are re-read;
        without it, everything is, git's config too."""
        if changed is not None and posixpath.normpath(changed).split("/")[0] != ".git":
            folder = self._prefix + os.fsencode(posixpath.dirname(changed).strip("/"))
            folder = folder.rstrip(b"/") + b"/" if folder else b""
            for cache in self._caches():
                for key in [k for k in cache if k.startswith(folder)]:
                    del cache[key]
            return
        self._forget_folders()
        repo = find_git_repo(self.root)
        self._tracked = TrackedFiles(self.root, repo)
        top = os.fsencode(repo.worktree if repo else self.root)
        inside = os.path.relpath(os.fsencode(self.root), top)
        self._top = top.rstrip(b"/") + b"/"
        self._prefix = b"" if inside == b"." else inside + b"/"
        self._head = self._sources([(self._lines(self.extra), self._prefix)])
        tail: list[tuple[bytes | None, bytes]] = []
        if repo is not None:
            tail.append((self._read(os.fsencode(repo.info_exclude), False), b""))
            excludes = git_excludes_file(repo)
            tail.append((self._read(os.fsencode(excludes), False) if excludes else None, b""))
        tail.append((self._lines(self.defaults), self._prefix))
        self._tail = self._sources(tail)
        self._global_warnings, self._warnings = self._warnings, []

    def _caches(self) -> tuple[dict[bytes, tuple[Source, ...]] | dict[bytes, bool], ...]:
        """The per-folder caches, keyed by folder paths relative to the worktree top."""
        return (
            self._qxub_chains,
            self._git_chains,
            self._stacks,
            self._dir_ignored,
            self._qxub_dir_ignored,
        )

    def _forget_folders(self) -> None:
        for cache in self._caches():
            cache.clear()
        self._warnings = []

    @staticmethod
    def _lines(lines: Iterable[str]) -> bytes:
        return b"\n".join(os.fsencode(line) for line in lines)

    @staticmethod
    def _sources(items: Iterable[tuple[bytes | None, bytes]]) -> tuple[Source, ...]:
        parsed = (Source.parse(data, base) for data, base in items if data)
        return tuple(source for source in parsed if source is not None)

    def _read(self, path: bytes, in_tree: bool) -> bytes | None:
        """An ignore file's bytes; None if absent. Like git, symlinked ignore files inside the
        tree are not followed. Unreadable ones become warnings."""
        flags = os.O_RDONLY | os.O_NONBLOCK | (os.O_NOFOLLOW if in_tree else 0)
        try:
            fd = os.open(path, flags)
            with os.fdopen(fd, "rb") as handle:
                return handle.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        except OSError as exc:
            shown = show(path[len(self._top) :] if in_tree else path)
            if exc.errno == errno.ELOOP and in_tree:
                self._warnings.append(f"{shown} is a symlink: not read (git does not follow it)")
            else:
                self._warnings.append(f"cannot read {shown}: {exc.strerror}; its rules are unused")
            return None

    def _chain(
        self, key: bytes, name: bytes, top: bytes, cache: dict[bytes, tuple[Source, ...]]
    ) -> tuple[Source, ...]:
        """The sources of the ignore files called `name` in folder `key` (relative to the
        worktree top, '' or ending in '/') and in those above it up to `top`, deepest first."""
        chain = cache.get(key)
        if chain is None:
            parent = key[: key.rstrip(b"/").rfind(b"/") + 1]
            chain = self._chain(parent, name, top, cache) if len(key) > len(top) else ()
            source = self._source(self._read(self._top + key + name, True), key)
            chain = cache[key] = (source, *chain) if source else chain
        return chain

    def _qxub_stack(self, key: bytes) -> tuple[Source, ...]:
        """qxub's own layers for the entries of folder `key`: extra lines, then .qxubignore
        files (only those in the project: none above its root)."""
        if not key.startswith(self._prefix):
            return self._head
        return (*self._head, *self._chain(key, b".qxubignore", self._prefix, self._qxub_chains))

    @staticmethod
    def _source(data: bytes | None, base: bytes) -> Source | None:
        return Source.parse(data, base) if data else None

    def _stack(self, key: bytes) -> tuple[Source, ...]:
        """Every source that applies to the entries of folder `key`, highest layer first."""
        stack = self._stacks.get(key)
        if stack is None:
            git = self._chain(key, b".gitignore", b"", self._git_chains)
            stack = self._stacks[key] = (*self._qxub_stack(key), *git, *self._tail)
        return stack

    @staticmethod
    def _excluded(stack: tuple[Source, ...], key: bytes, name: bytes, is_dir: bool) -> bool:
        path, start = key + name, len(key)
        for source in stack:
            decided = source.decide(path, start, is_dir)
            if decided is not None:
                return decided
        return False

    def _left_out(
        self, parts: list[bytes], is_dir: bool, stack: _Stack, dir_cache: dict[bytes, bool]
    ) -> bool:
        """Whether the sources `stack` gives leave out the path made of `parts` (relative to
        the project root) or a folder above it; `dir_cache` remembers the folders' answers."""
        key = self._prefix
        for part in parts[:-1]:
            folder = key + part
            ignored = dir_cache.get(folder)
            if ignored is None:
                ignored = dir_cache[folder] = self._excluded(stack(key), key, part, True)
            if ignored:
                return True
            key = folder + b"/"
        return self._excluded(stack(key), key, parts[-1], is_dir)

    def _qxub_leaves_out(self, parts: list[bytes], is_dir: bool) -> bool:
        """Whether qxub's own layers alone leave out this path or a folder above it."""
        return self._left_out(parts, is_dir, self._qxub_stack, self._qxub_dir_ignored)

    def is_ignored(self, relpath: str, is_dir: bool) -> bool:
        """Whether `relpath` (POSIX, relative to the project root) is left out: by a rule for
        it, or because a folder above it is ignored; a file git tracks, or a folder holding
        one, only by qxub's own layers. For one path, such as a watcher's event: the disk is
        not looked at, so a tracked file just deleted is not ignored."""
        parts = [p for p in os.fsencode(relpath).split(b"/") if p not in (b"", b".")]
        if b".." in parts or relpath.startswith("/"):
            raise ValueError(f"not a path inside the project: {relpath!r}")
        if not parts:
            return False
        if _GIT in parts:
            return True
        if self._tracked.holds(b"/".join(parts), is_dir):
            return self._qxub_leaves_out(parts, is_dir)
        return self._left_out(parts, is_dir, self._stack, self._dir_ignored)

    def select(self) -> Selection:
        """Walk the project (never entering ignored folders) and list what is pushed, tracked
        files included. Ignore files and git's index are read afresh."""
        self._forget_folders()
        tracked = self._tracked.files(fresh=True)
        files: list[bytes] = []
        unreadable: list[bytes] = []
        special: list[bytes] = []  # neither file, link nor folder: fifos, sockets, devices
        warnings: list[str] = []
        root = os.fsencode(self.root)
        inside = os.path.realpath(root).rstrip(b"/") + b"/"
        skip = len(self._prefix)
        todo = [(root, self._prefix)]
        while todo:
            folder, key = todo.pop()
            try:
                with os.scandir(folder) as scan:
                    entries = list(scan)
            except OSError as exc:
                if key == self._prefix:
                    raise QxubError(
                        f"cannot read the project folder {self.root}: {exc.strerror}",
                        hint="check that the folder exists and that you may read it",
                    ) from exc
                unreadable.append(key[skip:])
                warnings.append(f"cannot read folder {show(key[skip:])}: {exc.strerror}; skipped")
                continue
            stack = self._stack(key)
            start = len(key)
            for entry in entries:
                name = entry.name
                if name == _GIT:
                    continue
                path = key + name
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    is_dir = False
                for source in stack:
                    decided = source.decide(path, start, is_dir)
                    if decided is not None:
                        break
                else:
                    decided = False
                if decided:
                    continue
                if is_dir:
                    todo.append((entry.path, path + b"/"))
                elif entry.is_symlink():
                    files.append(path[skip:])
                    check_link(entry.path, path[skip:], inside, warnings)
                elif not entry.is_file(follow_symlinks=False):
                    special.append(path[skip:])
                    warnings.append(f"{show(path[skip:])} is not a regular file: skipped")
                elif os.access(entry.path, os.R_OK):
                    files.append(path[skip:])
                else:
                    unreadable.append(path[skip:])
                    warnings.append(f"cannot read {show(path[skip:])}: permission denied; skipped")
        if tracked:
            left = sorted(tracked.difference(files, unreadable, special))  # usually few
            add_tracked(
                self.root,
                left,
                self._qxub_leaves_out,
                files=files,
                unreadable=unreadable,
                warnings=warnings,
                inside=inside,
            )
        files.sort()
        unreadable.sort()
        return Selection(
            files=[os.fsdecode(f) for f in files],
            warnings=[*self._global_warnings, *self._warnings, *warnings],
            unreadable=[os.fsdecode(u) for u in unreadable],
        )


def select_files(
    root: Path, extra: Sequence[str] = (), *, defaults: Sequence[str] = DEFAULT_IGNORES
) -> Selection:
    """The files of the project at `root` that a push sends (see the module docstring)."""
    return IgnoreRules(root, extra, defaults=defaults).select()
