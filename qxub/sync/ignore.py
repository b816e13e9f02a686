"""Which files of a project are pushed: git's ignore rules, exactly, plus qxub's own layers.

Layers, lowest first; within the first layer (counting from the top) that has a matching line,
the last matching line decides, and a `!` line re-includes:

    built-in defaults  <  core.excludesFile  <  .git/info/exclude
                       <  .gitignore files (the deeper folder wins)
                       <  .qxubignore files (the deeper folder wins)
                       <  the caller's extra lines (a remote's `sync.ignore`, relative to the root)

As in git, a folder that is ignored is never entered: nothing below it can be re-included and
its ignore files are never read. A file or folder named `.git` is never pushed, whatever the
rules say. Matching is done on the raw bytes of names (see wildmatch.py).
"""

from __future__ import annotations

import errno
import os
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from qxub.errors import QxubError
from qxub.sync.project import find_git_repo, git_excludes_file
from qxub.sync.wildmatch import Pattern, compile_pattern, parse_lines

DEFAULT_IGNORES: tuple[str, ...] = (
    ".qxub/",
    "__pycache__/",
    "*.py[cod]",
    ".venv/",
    "venv/",
    ".tox/",
    ".DS_Store",
)
"""Ignored unless some ignore file re-includes them: qxub's state, Python caches, virtualenvs."""

IGNORE_FILE_NAMES = (".gitignore", ".qxubignore")
"""Per-folder ignore files: a watcher calls IgnoreRules.reload(path) when one of them changes."""

_GIT = b".git"
_Regex = re.Pattern[bytes]
_Alternation = tuple[_Regex | None, tuple[tuple[int, bool], ...]]


@dataclass(frozen=True)
class Selection:
    """What a push sends. `files` are POSIX paths relative to the project root (symlinks
    included, sent as links), sorted by their bytes as git sorts them; names that are not UTF-8
    are str with surrogate escapes (os.fsencode gives the bytes back). `unreadable` lists what
    exists but could not be read (folders end with '/'): neither send nor delete those."""

    files: list[str]
    warnings: list[str]
    unreadable: list[str]


def _show(rel: bytes) -> str:
    """A path for a human: printable as it is, else quoted with escapes."""
    text = rel.decode("utf-8", "backslashreplace") or "."
    return text if text.isprintable() else repr(text)


def _alternation(items: list[tuple[int, Pattern]]) -> _Alternation:
    """One regex for many lines, later lines first: re takes the first alternative that
    matches, and in git the last matching line wins. Each alternative is one group."""
    if not items:
        return None, ()
    ordered = sorted(items, key=lambda item: -item[0])
    regex = re.compile(b"|".join(b"(" + p.regex + b")" for _, p in ordered), re.DOTALL)
    return regex, ((-1, False), *((index, p.negative) for index, p in ordered))


class _Source:
    """The compiled lines of one ignore file (or one list of lines) and the folder, relative
    to the git worktree top and ending in '/', that they are relative to."""

    __slots__ = ("base_len", "name_dir", "name_file", "path_dir", "path_file")

    def __init__(self, patterns: list[tuple[int, Pattern]], base: bytes) -> None:
        self.base_len = len(base)
        names = [item for item in patterns if item[1].basename_only]
        paths = [item for item in patterns if not item[1].basename_only]
        self.name_dir = _alternation(names)
        self.name_file = _alternation([item for item in names if not item[1].dir_only])
        self.path_dir = _alternation(paths)
        self.path_file = _alternation([item for item in paths if not item[1].dir_only])

    @classmethod
    def parse(cls, data: bytes, base: bytes) -> _Source | None:
        patterns = [
            (i, p) for i, line in enumerate(parse_lines(data)) if (p := compile_pattern(line))
        ]
        return cls(patterns, base) if patterns else None

    def decide(self, path: bytes, name_start: int, is_dir: bool) -> bool | None:
        """True if the last matching line ignores `path`, False if it re-includes it, None if
        no line matches. `path` lies below this source's folder; its name starts at name_start."""
        best, negative = -1, False
        regex, info = self.name_dir if is_dir else self.name_file
        if regex is not None and (m := regex.fullmatch(path, name_start)) is not None:
            best, negative = info[m.lastindex or 0]
        regex, info = self.path_dir if is_dir else self.path_file
        if regex is not None and (m := regex.fullmatch(path, self.base_len)) is not None:
            index, neg = info[m.lastindex or 0]
            if index > best:
                best, negative = index, neg
        return None if best < 0 else not negative


_Chains = tuple[tuple[_Source, ...], tuple[_Source, ...]]


class IgnoreRules:
    """The ignore rules of one project. Ignore files are read lazily, folder by folder, and
    cached; `reload` forgets them. Paths are POSIX, relative to the project root."""

    def __init__(
        self, root: Path, extra: Sequence[str] = (), *, defaults: Sequence[str] = DEFAULT_IGNORES
    ) -> None:
        self.root = Path(os.path.abspath(root))
        self.extra = tuple(extra)
        self.defaults = tuple(defaults)
        self._chains: dict[bytes, _Chains] = {}
        self._stacks: dict[bytes, tuple[_Source, ...]] = {}
        self._dir_ignored: dict[bytes, bool] = {}
        self._warnings: list[str] = []
        self._global_warnings: list[str] = []
        self._top = self._prefix = b""
        self._head: tuple[_Source, ...] = ()
        self._tail: tuple[_Source, ...] = ()
        self.reload()

    def reload(self, changed: str | None = None) -> None:
        """Forget what was read. With `changed` (the path of an ignore file that changed,
        relative to the root), only the rules of its folder and those below are re-read;
        without it, everything is, git's config too."""
        if changed is not None and posixpath.normpath(changed).split("/")[0] != ".git":
            folder = self._prefix + os.fsencode(posixpath.dirname(changed).strip("/"))
            folder = folder.rstrip(b"/") + b"/" if folder else b""
            for cache in (self._chains, self._stacks, self._dir_ignored):
                for key in [k for k in cache if k.startswith(folder)]:
                    del cache[key]
            return
        self._forget_folders()
        repo = find_git_repo(self.root)
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

    def _forget_folders(self) -> None:
        self._chains.clear()
        self._stacks.clear()
        self._dir_ignored.clear()
        self._warnings = []

    @staticmethod
    def _lines(lines: Iterable[str]) -> bytes:
        return b"\n".join(os.fsencode(line) for line in lines)

    @staticmethod
    def _sources(items: Iterable[tuple[bytes | None, bytes]]) -> tuple[_Source, ...]:
        parsed = (_Source.parse(data, base) for data, base in items if data)
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
            shown = _show(path[len(self._top) :] if in_tree else path)
            if exc.errno == errno.ELOOP and in_tree:
                self._warnings.append(f"{shown} is a symlink: not read (git does not follow it)")
            else:
                self._warnings.append(f"cannot read {shown}: {exc.strerror}; its rules are unused")
            return None

    def _chain(self, key: bytes) -> _Chains:
        """(.qxubignore sources, .gitignore sources) that apply inside folder `key` (relative
        to the worktree top, '' or ending in '/'), deepest first."""
        chains = self._chains.get(key)
        if chains is None:
            qxub, git = self._chain(key[: key.rstrip(b"/").rfind(b"/") + 1]) if key else ((), ())
            folder = self._top + key
            source = self._source(self._read(folder + b".gitignore", True), key)
            git = (source, *git) if source else git
            if key.startswith(self._prefix):
                source = self._source(self._read(folder + b".qxubignore", True), key)
                qxub = (source, *qxub) if source else qxub
            chains = self._chains[key] = (qxub, git)
        return chains

    @staticmethod
    def _source(data: bytes | None, base: bytes) -> _Source | None:
        return _Source.parse(data, base) if data else None

    def _stack(self, key: bytes) -> tuple[_Source, ...]:
        """Every source that applies to the entries of folder `key`, highest layer first."""
        stack = self._stacks.get(key)
        if stack is None:
            qxub, git = self._chain(key)
            stack = self._stacks[key] = (*self._head, *qxub, *git, *self._tail)
        return stack

    def _excluded(self, key: bytes, name: bytes, is_dir: bool) -> bool:
        if name == _GIT:
            return True
        path, start = key + name, len(key)
        for source in self._stack(key):
            decided = source.decide(path, start, is_dir)
            if decided is not None:
                return decided
        return False

    def is_ignored(self, relpath: str, is_dir: bool) -> bool:
        """Whether `relpath` (POSIX, relative to the project root) is left out: by a rule for
        it, or because a folder above it is ignored. For one path, such as a watcher's event."""
        parts = [p for p in os.fsencode(relpath).split(b"/") if p not in (b"", b".")]
        if b".." in parts or relpath.startswith("/"):
            raise ValueError(f"not a path inside the project: {relpath!r}")
        key = self._prefix
        for part in parts[:-1]:
            folder = key + part
            ignored = self._dir_ignored.get(folder)
            if ignored is None:
                ignored = self._dir_ignored[folder] = self._excluded(key, part, True)
            if ignored:
                return True
            key = folder + b"/"
        return bool(parts) and self._excluded(key, parts[-1], is_dir)

    def select(self) -> Selection:
        """Walk the project (never entering ignored folders) and list what is pushed. Ignore
        files are read afresh."""
        self._forget_folders()
        files: list[bytes] = []
        unreadable: list[bytes] = []
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
                warnings.append(f"cannot read folder {_show(key[skip:])}: {exc.strerror}; skipped")
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
                    self._check_link(entry.path, path[skip:], inside, warnings)
                elif not entry.is_file(follow_symlinks=False):
                    warnings.append(f"{_show(path[skip:])} is not a regular file: skipped")
                elif os.access(entry.path, os.R_OK):
                    files.append(path[skip:])
                else:
                    unreadable.append(path[skip:])
                    warnings.append(f"cannot read {_show(path[skip:])}: permission denied; skipped")
        files.sort()
        unreadable.sort()
        return Selection(
            files=[os.fsdecode(f) for f in files],
            warnings=[*self._global_warnings, *self._warnings, *warnings],
            unreadable=[os.fsdecode(u) for u in unreadable],
        )

    @staticmethod
    def _check_link(path: bytes, rel: bytes, inside: bytes, warnings: list[str]) -> None:
        """Symlinks are sent as links; warn when the link will not work on the remote."""
        try:
            target = os.readlink(path)
        except OSError:
            return
        resolved = os.path.realpath(path)
        if not (resolved + b"/").startswith(inside):
            warnings.append(
                f"symlink {_show(rel)} points outside the project ({_show(target)}): "
                "the link is sent, what it points to is not"
            )
        elif os.path.isabs(target):
            warnings.append(
                f"symlink {_show(rel)} has an absolute target ({_show(target)}): "
                "on the remote it points to that path there"
            )


def select_files(
    root: Path, extra: Sequence[str] = (), *, defaults: Sequence[str] = DEFAULT_IGNORES
) -> Selection:
    """The files of the project at `root` that a push sends (see the module docstring)."""
    return IgnoreRules(root, extra, defaults=defaults).select()
