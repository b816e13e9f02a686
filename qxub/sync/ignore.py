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

With git's core.ignoreCase set, names match the lines whatever their case, as git does on
case-insensitive disks.

The walk does one lstat per entry it selects (entries it ignores cost none), and keeps it: the
push takes sizes and times from the selection. It reads a folder's ignore files only when the
folder's listing shows them, and compiles the rules once per set of ignore files (see
ignore_source.py).

This module holds the layers and the walk; ignore_source.py compiles the lines of ignore files,
entries.py keeps what the walk finds, and tracked.py reads git's index and adds the tracked
files the walk left out.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from qxub.errors import QxubError
from qxub.sync.entries import Found, Selection, show
from qxub.sync.git_select import drop_listing, select_by_git
from qxub.sync.ignore_source import NONE, Matcher, Source, rank
from qxub.sync.project import find_git_repo, git_settings
from qxub.sync.tracked import TrackedFiles, add_tracked

__all__ = ["DEFAULT_IGNORES", "IGNORE_FILE_NAMES", "IgnoreRules", "Selection", "select_files"]

DEFAULT_IGNORES: tuple[str, ...] = (
    ".qxub/",
    "__pycache__/",
    "*.pyc",
    ".venv/",
    "venv/",
    ".tox/",
    ".DS_Store",
    ".qxub-part-*",
    # Secrets: left out unless a .qxubignore or sync.ignore line brings them back.
    ".ssh/",
    ".gnupg/",
)
"""Ignored unless some ignore file re-includes them: qxub's state, Python caches, virtualenvs,
and the temporary names the SFTP engine writes files under before renaming them."""

IGNORE_FILE_NAMES = (".gitignore", ".qxubignore")
"""Per-folder ignore files: a watcher calls IgnoreRules.reload(path) when one of them changes."""

_GIT = b".git"
_HEAD, _QXUB, _GIT_FILES, _TAIL = range(4)  # the layers' bands, the best first


_Matchers = Callable[[bytes], Matcher]


class IgnoreRules:
    """The ignore rules of one project. Ignore files are read lazily, folder by folder, and
    cached; `reload` forgets them. Paths are POSIX, relative to the project root.

    The set of files git tracks is cached too: `select` reads it afresh; `is_ignored` stats
    the index on each call and reads it again (one `git ls-files`) when the index changed."""

    def __init__(
        self,
        root: Path,
        extra: Sequence[str] = (),
        *,
        defaults: Sequence[str] = DEFAULT_IGNORES,
        git_listing: bool = True,
    ) -> None:
        """`git_listing`: let git list the selection where it can (see git_select.py); False
        always walks with qxub's own engine."""
        self.root = Path(os.path.abspath(root))
        self.extra = tuple(extra)
        self.defaults = tuple(defaults)
        self.git_listing = git_listing
        self._qxub_chains: dict[bytes, tuple[Source, ...]] = {}
        self._git_chains: dict[bytes, tuple[Source, ...]] = {}
        self._folder_matchers: dict[bytes, Matcher] = {}
        self._qxub_matchers: dict[bytes, Matcher] = {}
        self._dir_ignored: dict[bytes, bool] = {}
        self._qxub_dir_ignored: dict[bytes, bool] = {}
        self._compiled: dict[frozenset[Source], Matcher] = {}
        self._tracked = TrackedFiles(self.root, None)
        self._warnings: list[str] = []
        self._global_warnings: list[str] = []
        self._top = self._prefix = b""
        self._casefold = False
        self._loaded = False
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
        self._loaded = False
        self._global_warnings = []

    def _load(self) -> None:
        """Read git's config and the layers that are not per folder, once per reload: only
        qxub's own engine needs them (git's listing reads its own)."""
        if self._loaded:
            return
        self._loaded = True
        repo = self._tracked.repo
        saved, self._warnings = self._warnings, []
        settings = git_settings(repo) if repo is not None else None
        self._casefold = settings is not None and settings.ignore_case
        self._head = self._sources([(self._lines(self.extra), self._prefix)], _HEAD)
        tail: list[tuple[bytes | None, bytes]] = []
        if repo is not None and settings is not None:
            tail.append((self._read(os.fsencode(repo.info_exclude), False), b""))
            excludes = settings.excludes_file
            tail.append((self._read(os.fsencode(excludes), False) if excludes else None, b""))
        tail.append((self._lines(self.defaults), self._prefix))
        self._tail = self._sources(tail, _TAIL)
        self._global_warnings, self._warnings = self._warnings, saved

    def _caches(self) -> tuple[dict[bytes, Any], ...]:
        """The per-folder caches, keyed by folder paths relative to the worktree top."""
        return (
            self._qxub_chains,
            self._git_chains,
            self._folder_matchers,
            self._qxub_matchers,
            self._dir_ignored,
            self._qxub_dir_ignored,
        )

    def _forget_folders(self) -> None:
        for cache in self._caches():
            cache.clear()
        self._compiled.clear()
        self._warnings = []

    @staticmethod
    def _lines(lines: Iterable[str]) -> bytes:
        return b"\n".join(os.fsencode(line) for line in lines)

    def _sources(
        self, items: Iterable[tuple[bytes | None, bytes]], band: int
    ) -> tuple[Source, ...]:
        """Sources of one layer, the first one best."""
        parsed = [
            Source.parse(data, base, rank(band, i), self._casefold)
            for i, (data, base) in enumerate(items)
            if data
        ]
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
        self,
        key: bytes,
        name: bytes,
        top: bytes,
        cache: dict[bytes, tuple[Source, ...]],
        listed: Sequence[bytes] | None = None,
    ) -> tuple[Source, ...]:
        """The sources of the ignore files called `name` in folder `key` (relative to the
        worktree top, '' or ending in '/') and in those above it up to `top`, deepest first.
        `listed`: the names in folder `key`, when known (the file is read only if there)."""
        chain = cache.get(key)
        if chain is None:
            parent = key[: key.rstrip(b"/").rfind(b"/") + 1]
            chain = self._chain(parent, name, top, cache) if len(key) > len(top) else ()
            data = None if listed is not None and name not in listed else self._read_in(key + name)
            # The deeper file wins within its layer.
            band = _QXUB if name == b".qxubignore" else _GIT_FILES
            within = 4095 - key.count(b"/")
            source = Source.parse(data, key, rank(band, within), self._casefold) if data else None
            chain = cache[key] = (source, *chain) if source else chain
        return chain

    def _read_in(self, rel: bytes) -> bytes | None:
        return self._read(self._top + rel, True)

    def _qxub_chain(self, key: bytes, listed: Sequence[bytes] | None) -> tuple[Source, ...]:
        """qxub's own layers for the entries of folder `key`: extra lines, then .qxubignore
        files (only those in the project: none above its root)."""
        if not key.startswith(self._prefix):
            return self._head
        chain = self._chain(key, b".qxubignore", self._prefix, self._qxub_chains, listed)
        return (*self._head, *chain)

    def _compile(self, stack: tuple[Source, ...], parent: Matcher | None = None) -> Matcher:
        """The matcher for `stack`; built on `parent` (the parent folder's) when given."""
        sources = frozenset(stack)
        matcher = self._compiled.get(sources)
        if matcher is None:
            matcher = parent.plus(sources) if parent else Matcher(sources, self._casefold)
            self._compiled[sources] = matcher
        return matcher

    def _matcher(self, key: bytes, listed: Sequence[bytes] | None = None) -> Matcher:
        """Every source that applies to the entries of folder `key`, highest layer first,
        compiled; `listed`: the names in that folder, when known."""
        matcher = self._folder_matchers.get(key)
        if matcher is None:
            self._load()
            git = self._chain(key, b".gitignore", b"", self._git_chains, listed)
            stack = (*self._qxub_chain(key, listed), *git, *self._tail)
            parent = self._folder_matchers.get(key[: key.rstrip(b"/").rfind(b"/") + 1])
            matcher = self._folder_matchers[key] = self._compile(stack, parent if key else None)
        return matcher

    def _qxub_matcher(self, key: bytes) -> Matcher:
        matcher = self._qxub_matchers.get(key)
        if matcher is None:
            self._load()
            matcher = self._qxub_matchers[key] = self._compile(self._qxub_chain(key, None))
        return matcher

    def _left_out(
        self, parts: list[bytes], is_dir: bool, matchers: _Matchers, dir_cache: dict[bytes, bool]
    ) -> bool:
        """Whether the rules `matchers` gives leave out the path made of `parts` (relative to
        the project root) or a folder above it; `dir_cache` remembers the folders' answers."""
        self._load()
        key = self._prefix
        fold = self._casefold
        for part in parts[:-1]:
            folder = key + part
            ignored = dir_cache.get(folder)
            if ignored is None:
                path = folder.lower() if fold else folder
                ignored = dir_cache[folder] = matchers(key).excluded(path, len(key), True)
            if ignored:
                return True
            key = folder + b"/"
        path = key + parts[-1]
        return matchers(key).excluded(path.lower() if fold else path, len(key), is_dir)

    def _qxub_leaves_out(self, parts: list[bytes], is_dir: bool) -> bool:
        """Whether qxub's own layers alone leave out this path or a folder above it."""
        return self._left_out(parts, is_dir, self._qxub_matcher, self._qxub_dir_ignored)

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
        return self._left_out(parts, is_dir, self._matcher, self._dir_ignored)

    def select(self) -> Selection:
        """Walk the project (never entering ignored folders) and list what is pushed, tracked
        files included. Ignore files and git's index are read afresh."""
        self._forget_folders()
        root = os.fsencode(self.root)
        found = Found(os.path.realpath(root).rstrip(b"/") + b"/")
        repo = self._tracked.repo
        if self.git_listing and repo is not None and not self.extra:

            def walk(rel: bytes) -> None:
                parts = rel.rstrip(b"/").split(b"/")
                if not self._left_out(parts, True, self._matcher, self._dir_ignored):
                    self._walk(root + b"/" + rel.rstrip(b"/"), found, self._prefix + rel)

            if select_by_git(self.root, repo.index, self._prefix, self.defaults, found, walk):
                return self._made(found)
        drop_listing(self.root)
        self._load()
        tracked = self._tracked.files(fresh=True)
        self._walk(root, found, self._prefix)
        if tracked:
            left = sorted(tracked.difference(found.files, found.unreadable, found.special))
            add_tracked(self.root, left, self._qxub_leaves_out, found)
        del tracked
        return self._made(found)

    def _made(self, found: Found) -> Selection:
        """The selection from what was found. The rules read and the tracked files are let go
        first (read afresh when next asked): a big tree's are not held while its names are
        made."""
        warnings = [*self._global_warnings, *self._warnings]
        self._forget_folders()
        self._tracked = TrackedFiles(self.root, self._tracked.repo)
        return found.selection(warnings)

    def _walk(self, start: bytes, found: Found, start_key: bytes) -> None:
        """Add to `found` what the rules select below the folder `start` (`start_key` relative
        to the worktree top), depth first."""
        skip = len(self._prefix)
        fold = self._casefold
        files, sizes, mtimes, modes = found.files, found.sizes, found.mtimes, found.modes
        readable = found.readable
        regular = stat.S_IFREG
        todo = [(start, start_key)]
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
                found.cannot_read(key[skip:], exc)
                continue
            names = [entry.name for entry in entries]
            matcher = self._matcher(key, names)
            dirs, plain = matcher.dirs.decide, matcher.files.decide
            lkey = key.lower() if fold else key
            rel_key = key[skip:]
            for entry, name in zip(entries, names, strict=True):
                if name == _GIT:
                    continue
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    is_dir = False
                lname = name.lower() if fold else name
                code = (dirs if is_dir else plain)(lkey + lname, lname)
                if code != NONE and not code & 1:
                    continue
                if is_dir:
                    todo.append((entry.path, key + name + b"/"))
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # gone since the listing
                except OSError as exc:
                    found.cannot_read(rel_key + name, exc)
                    continue
                if info.st_mode & 0o170000 == regular and (
                    readable is None or readable(entry.path, info)
                ):
                    files.append(rel_key + name)
                    sizes.append(info.st_size)
                    mtimes.append(info.st_mtime_ns)
                    modes.append(info.st_mode)
                else:
                    found.add(rel_key + name, entry.path, info)


def select_files(
    root: Path,
    extra: Sequence[str] = (),
    *,
    defaults: Sequence[str] = DEFAULT_IGNORES,
    git_listing: bool = True,
) -> Selection:
    """The files of the project at `root` that a push sends (see the module docstring)."""
    return IgnoreRules(root, extra, defaults=defaults, git_listing=git_listing).select()
