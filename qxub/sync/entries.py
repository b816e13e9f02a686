"""What a selection says about the entries it finds on disk: the one `lstat` of each, kept for
the push (size, modification time); whether it can be read; how a path is shown to a person;
the warning a symlink gets when it will not work on the remote."""

from __future__ import annotations

import bisect
import itertools
import operator
import os
import stat
import sys
from array import array
from collections.abc import Callable, Iterator

from qxub.record import field, record

Stamp = tuple[int, int]
"""(size, mtime in ns) of a file or link, as an lstat gave it."""


@record(frozen=True)
class Selection:
    """What a push sends. `files` are POSIX paths relative to the project root (symlinks
    included, sent as links), sorted by their bytes as git sorts them; names that are not UTF-8
    are str with surrogate escapes (os.fsencode gives the bytes back). `unreadable` lists what
    exists but could not be read (folders end with '/'): neither send nor delete those.
    `sizes`, `mtimes` (ns) and `modes` are the lstat of each file when it was selected, in the
    order of `files` (kept as arrays: a few bytes a file)."""

    files: list[str]
    warnings: list[str]
    unreadable: list[str]
    sizes: array[int] = field(default_factory=lambda: array("q"))
    mtimes: array[int] = field(default_factory=lambda: array("q"))
    modes: array[int] = field(default_factory=lambda: array("I"))

    def stamps(self) -> Iterator[tuple[str, Stamp]]:
        """Each file with its (size, mtime_ns)."""
        return zip(self.files, zip(self.sizes, self.mtimes, strict=True), strict=True)


def show(rel: bytes) -> str:
    """A path for a human: printable as it is, else quoted with escapes."""
    text = rel.decode("utf-8", "backslashreplace") or "."
    return text if text.isprintable() else repr(text)


def check_link(path: bytes, rel: bytes, inside: bytes, warnings: list[str]) -> None:
    """Symlinks are sent as links; warn when the link will not work on the remote. `inside`:
    the project root with links resolved, ending in '/'."""
    try:
        target = os.readlink(path)
    except OSError:
        return
    resolved = os.path.realpath(path)
    if not (resolved + b"/").startswith(inside):
        warnings.append(
            f"symlink {show(rel)} points outside the project ({show(target)}): "
            "the link is sent, what it points to is not"
        )
    elif os.path.isabs(target):
        warnings.append(
            f"symlink {show(rel)} has an absolute target ({show(target)}): "
            "on the remote it points to that path there"
        )


Readable = Callable[[bytes, os.stat_result], bool]


def _reader() -> Readable | None:
    """Whether this process may read a regular file, from its lstat: the permission bits for
    our user, group or others, as the kernel decides; None when it reads everything (root).
    Only when the bits say no is the kernel asked (os.access), so ACLs that grant more are
    honoured."""
    if not hasattr(os, "geteuid"):
        return lambda path, st: os.access(path, os.R_OK)
    uid = os.geteuid()
    if uid == 0:
        return None
    groups = frozenset((os.getegid(), *os.getgroups()))

    def readable(path: bytes, st: os.stat_result) -> bool:
        if st.st_uid == uid:
            bit = stat.S_IRUSR
        elif st.st_gid in groups:
            bit = stat.S_IRGRP
        else:
            bit = stat.S_IROTH
        return bool(st.st_mode & bit) or os.access(path, os.R_OK)

    return readable


class Found:
    """What a selection has found so far: files with their stamps (in the order found), what
    cannot be read, what is neither file, link nor folder, and the warnings.

    The walks append a readable regular file themselves (to `files` and the arrays; it
    is readable when `readable` is None or says so): a call per file costs more than the
    lstat; `add` takes every other entry."""

    def __init__(self, inside: bytes) -> None:
        self.inside = inside  # the project root with links resolved, ending in '/'
        self.files: list[bytes] = []
        self.sizes = array("q")
        self.mtimes = array("q")
        self.modes = array("I")
        self.unreadable: list[bytes] = []
        self.special: list[bytes] = []
        self.warnings: list[str] = []
        self.readable = _reader()

    def add(self, rel: bytes, path: bytes, st: os.stat_result) -> None:
        """Take the entry `rel` (at `path`, not a folder) as its lstat `st` shows it."""
        mode = st.st_mode
        if stat.S_ISREG(mode):
            if self.readable is not None and not self.readable(path, st):
                self.unreadable.append(rel)
                self.warnings.append(f"cannot read {show(rel)}: permission denied; skipped")
                return
        elif stat.S_ISLNK(mode):
            check_link(path, rel, self.inside, self.warnings)
        else:
            self.special.append(rel)
            self.warnings.append(f"{show(rel)} is not a regular file: skipped")
            return
        self.files.append(rel)
        self.sizes.append(st.st_size)
        self.mtimes.append(st.st_mtime_ns)
        self.modes.append(st.st_mode)

    def merge(self, other: Found) -> None:
        """Take in everything `other` found."""
        self.files += other.files
        self.sizes += other.sizes
        self.mtimes += other.mtimes
        self.modes += other.modes
        self.unreadable += other.unreadable
        self.special += other.special
        self.warnings += other.warnings

    def cannot_read(self, rel: bytes, exc: OSError) -> None:
        """`rel` exists but cannot be read (a folder's ends with '/'): neither sent nor deleted."""
        self.unreadable.append(rel)
        what = "folder " if rel.endswith(b"/") else ""
        self.warnings.append(f"cannot read {what}{show(rel)}: {exc.strerror}; skipped")

    def selection(self, warnings: list[str]) -> Selection:
        """The selection, sorted by bytes as git sorts; `warnings` come first. This is the
        last use of what was found: the names found (as bytes) are let go as they become
        text, so that a big tree's names are not held three times at once."""
        files, sizes, mtimes, modes = self.files, self.sizes, self.mtimes, self.modes
        self.files = []
        if not all(map(operator.le, files, itertools.islice(files, 1, None))):
            files, sizes, mtimes, modes = _in_order(files, sizes, mtimes, modes)
        # Names hold no NUL: decoded in one go. Interned: the record and the mirror's listing
        # hold the same names, kept once.
        joined = b"\0".join(files)
        del files
        text = joined.decode("utf-8", "surrogateescape")
        del joined
        names = list(map(sys.intern, text.split("\0"))) if text else []
        del text
        return Selection(
            files=names,
            warnings=[*warnings, *self.warnings],
            unreadable=[os.fsdecode(u) for u in sorted(self.unreadable)],
            sizes=sizes,
            mtimes=mtimes,
            modes=modes,
        )


# Up to this many names after the sorted ones (git's untracked files after its tracked ones,
# most often a few), each is moved into its place; more, and all are sorted.
_FEW = 32


def _in_order(
    files: list[bytes], sizes: array[int], mtimes: array[int], modes: array[int]
) -> tuple[list[bytes], array[int], array[int], array[int]]:
    """The files (and their stamps, alike) sorted by bytes."""
    after = list(map(operator.gt, files, itertools.islice(files, 1, None)))
    start = after.index(True) + 1  # files[:start] are in order
    if len(files) - start <= _FEW and True not in after[start:]:
        rest = [(files[i], sizes[i], mtimes[i], modes[i]) for i in range(start, len(files))]
        for column in (files, sizes, mtimes, modes):
            del column[start:]
        at = 0
        for name, size, mtime, mode in rest:  # in order: each goes after the one before
            at = bisect.bisect_right(files, name, at)
            files.insert(at, name)
            sizes.insert(at, size)
            mtimes.insert(at, mtime)
            modes.insert(at, mode)
        return files, sizes, mtimes, modes
    # Sorted runs (git's two listings, one after the other) merge in one pass.
    order = sorted(range(len(files)), key=files.__getitem__)
    return (
        list(map(files.__getitem__, order)),
        array("q", [sizes[i] for i in order]),
        array("q", [mtimes[i] for i in order]),
        array("I", [modes[i] for i in order]),
    )
