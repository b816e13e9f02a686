"""The selection as git lists it, where only git's layers (and the built-in defaults) apply:
`git ls-files --cached --others --exclude-standard`, which is the oracle anyway, in place of
qxub's own walk, at git's speed (as two listings that run at once, the tracked files and the
others, so that qxub looks at the tracked files while git walks for the others).

It applies when the project is in a git worktree, no `sync.ignore` lines are given and no
`.qxubignore` file is found: git lists every `.qxubignore` outside ignored folders (a
command-line `!.qxubignore` re-includes them), and the folders of the files it lists, and
those above them, are checked for one (an ignored folder may hold tracked files and a
`.qxubignore` that leaves them out). The defaults go in as git's lowest layer
(`--exclude-from` before `--exclude-standard`). Then each listed path is lstat'ed once, as
the walk does:

- a tracked file deleted here is not selected, nor one below a folder that is a symlink here;
- a folder git lists (a nested clone, `x/`, or a submodule's gitlink) is walked by qxub's own
  engine, with the same rules, as if git's listing went on into it (git stops there);
- a folder git cannot read is reported from git's warning, as the walk reports it.

Entries git does not list at all (fifos, sockets) are not reported.

git before 2.41 takes exponential time on some patterns (`*a*a*a*a*a*a*a*a` against a long
name of a's, from its own t3070 suite), where qxub's matcher answers at once: with such a git,
its listing gets a time budget (a quarter second, and half a second per MB of index), and qxub
walks itself when git has not answered by then.
"""

from __future__ import annotations

import contextlib
import operator
import os
import re
import stat
import zlib
from collections.abc import Callable, Sequence
from itertools import repeat
from pathlib import Path

from qxub.sync.entries import Found, show
from qxub.sync.project import Listing, git_version
from qxub.xdg import state_dir

QXUBIGNORE = b".qxubignore"
_CANNOT_OPEN = re.compile(r"^warning: could not open directory '(.*)': (.*)$", re.MULTILINE)


def _budget(index: Path) -> float:
    """How long git may take to list before qxub asks which git it is: a git that matches in
    linear time then gets a minute (see _more_time)."""
    try:
        size = os.stat(index).st_size
    except OSError:
        size = 0
    return 0.25 + size / 2e6


def _more_time() -> float:
    version = git_version()
    return 60.0 if version is not None and version >= (2, 41) else 0.0


def select_by_git(
    root: Path,
    index: Path,
    prefix: bytes,
    defaults: Sequence[str],
    found: Found,
    walk: Callable[[bytes], None],
) -> bool:
    """Add to `found` what git lists in `root` (a git worktree whose index is `index`, or a
    folder `prefix` below its top), with `defaults` as the lowest layer; `walk(rel)` selects
    below a folder git lists as one entry. False, with `found` untouched, when git cannot say
    or a `.qxubignore` exists: the caller walks instead.

    Two listings run at once: the tracked files (git reads its index: quick) and the others
    (git walks the folders). The tracked files are looked at while git still walks."""
    lines = [os.fsencode(line) for line in defaults]
    if prefix and any(b"/" in line.rstrip(b"/") for line in lines):
        return False  # anchored defaults are relative to the project, git's to its top
    budget = _budget(index)
    listings = _listings(root, defaults)
    try:
        taken = _Taken(os.fsencode(root) + b"/", prefix, found)
        cached = listings.cached.result(budget, _more_time)
        if cached is None or not taken.take(cached[0]):
            return False
        listed = listings.others.result(budget, _more_time)
        if listed is None or not taken.take(listed[0]):
            return False
    finally:
        listings.close()
    found.merge(taken.found)
    for rel in taken.folders:
        walk(rel)
    for _, errors in (cached, listed):
        for shown, reason in _CANNOT_OPEN.findall(errors):
            rel = os.fsencode(shown)
            if rel.startswith(prefix):
                found.cannot_read(rel[len(prefix) :].rstrip(b"/") + b"/", OSError(0, reason))
    return True


class _Listings:
    """git's two listings of a project, started at once: the tracked files, and the others
    with the defaults (in a file, `_defaults_file`) as the lowest layer."""

    def __init__(self, root: Path, defaults: Sequence[str]) -> None:
        self._temporary = None
        text = b"".join(os.fsencode(line) + b"\n" for line in defaults)
        name = _defaults_file(text)
        if name is None:  # no state folder to keep it in: a file of this run's
            import tempfile

            self._temporary = tempfile.NamedTemporaryFile("wb", prefix="qxub-defaults-")  # noqa: SIM115
            self._temporary.write(text)
            self._temporary.flush()
            name = self._temporary.name
        self.others = Listing(
            root,
            "--others",
            "--exclude=!" + QXUBIGNORE.decode(),
            f"--exclude-from={name}",
            "--exclude-standard",
        )
        self.cached = Listing(root, "--cached", "--deduplicate")

    def close(self) -> None:
        self.others.stop()
        self.cached.stop()
        if self._temporary is not None:
            self._temporary.close()


def _defaults_file(text: bytes) -> str | None:
    """A file in the state folder that holds `text` (the defaults as git reads them), named
    by its contents: written once (to another name, then renamed), read back by every later
    selection. None when it can be neither read back nor written."""
    folder = state_dir()
    path = os.path.join(folder, f"ignore-defaults-{zlib.crc32(text):08x}-{len(text)}")
    try:
        with open(path, "rb") as handle:
            if handle.read() == text:
                return path
    except OSError:
        pass
    part = f"{path}.{os.getpid()}"
    try:
        os.makedirs(folder, exist_ok=True)
        with open(part, "wb") as handle:
            handle.write(text)
        os.replace(part, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(part)
        return None
    return path


_early: dict[tuple[Path, tuple[str, ...]], _Listings] = {}


def start_listing(root: Path, defaults: Sequence[str]) -> None:
    """Start git's listings of the project at `root` now, for a selection that comes later in
    this process (a push starts them before it reads its config, so that git lists while
    qxub starts up); `drop_listing` stops them when no selection takes them."""
    key = (root, tuple(defaults))
    if key not in _early:
        _early[key] = _Listings(root, defaults)


def drop_listing(root: Path) -> None:
    for key in [key for key in _early if key[0] == root]:
        _early.pop(key).close()


def _listings(root: Path, defaults: Sequence[str]) -> _Listings:
    early = _early.pop((root, tuple(defaults)), None)
    drop_listing(root)
    return early or _Listings(root, defaults)


def _lexists(path: bytes) -> bool:
    """os.path.lexists without an exception for each folder that has no such file."""
    return os.access(path, os.F_OK, follow_symlinks=False)


if os.access not in os.supports_follow_symlinks:
    _lexists = os.path.lexists


_CHUNK = 256  # paths lstat'ed at once: their stats (about 1 KB each) held at a time
_FOLDER = operator.itemgetter(0)
_SIZE = operator.attrgetter("st_size")
_MTIME = operator.attrgetter("st_mtime_ns")
_MODE = operator.attrgetter("st_mode")


def _lstats(paths: list[bytes]) -> list[os.stat_result | OSError]:
    """os.lstat of each path, in C while none fails; the error in place of one that does."""
    stats: list[os.stat_result | OSError] = []
    them = iter(paths)
    while True:
        try:
            stats.extend(map(os.lstat, them))
            return stats
        except OSError as exc:  # the path it failed on is taken from `them`: the next one
            stats.append(exc)


def _all_readable_files(
    stats: list[os.stat_result | OSError], readable: Callable[[bytes, os.stat_result], bool] | None
) -> bool:
    """Whether every lstat is of a regular file this process can read, by its permission bits
    (entries.Found's `readable`: the owner's read bit, when this user owns them all)."""
    if not stats:
        return True
    try:
        modes = list(map(_MODE, stats))
    except AttributeError:  # an error in place of a stat
        return False
    if set(map(stat.S_IFMT, modes)) != {stat.S_IFREG}:
        return False
    if readable is None:
        return True
    owners = set(map(operator.attrgetter("st_uid"), stats))
    return owners == {os.geteuid()} and all(map(operator.and_, modes, repeat(stat.S_IRUSR)))


class _Taken:
    """What git's listings select, looked at once each (an lstat), kept apart until both
    listings are in (a `.qxubignore` in either, and the caller walks instead)."""

    def __init__(self, top: bytes, prefix: bytes, found: Found) -> None:
        self.top = top
        self.prefix = prefix
        self.found = Found(found.inside)
        self.folders: list[bytes] = []  # listed as folders: walked with qxub's own engine
        # folder -> not below a symlink here, and checked for a .qxubignore
        self._plain: dict[bytes, bool] = {b"": True}
        self._checked: set[bytes] = set()

    def plain(self, folder: bytes) -> bool:
        """Whether `folder` (relative, no trailing '/') and those above it are folders here,
        not symlinks to folders (files below a symlinked folder are not the project's)."""
        known = self._plain.get(folder)
        if known is None:
            known = self.plain(folder.rpartition(b"/")[0])
            if known:
                try:
                    known = not stat.S_ISLNK(os.lstat(self.top + folder).st_mode)
                except OSError:
                    known = False  # gone: nothing of it is here
            self._plain[folder] = known
        return known

    def _no_qxubignore(self, folder: bytes) -> bool:
        """No `.qxubignore` in `folder` or above it: git does not list one in a folder it
        ignores, which may still hold tracked files."""
        while folder not in self._checked:
            self._checked.add(folder)
            if self.plain(folder) and _lexists(
                self.top + (folder + b"/" if folder else b"") + QXUBIGNORE
            ):
                return False
            if not folder:
                break
            folder = folder.rpartition(b"/")[0]
        return True

    def take(self, listing: bytes) -> bool:
        """Take the paths of one listing (NUL-ended); False if a `.qxubignore` is among them
        or beside them."""
        paths = listing.split(b"\0")
        paths.pop()  # after the last NUL
        if QXUBIGNORE in listing:
            for rel in paths:
                if rel.rpartition(b"/")[2] == QXUBIGNORE or QXUBIGNORE + b"/" in rel:
                    return False
        # Each path's folder and name, split in C (a Python statement per path costs as
        # much as its lstat); each folder checked once, in the order listed.
        # (Not kept as a list: the parts of a big tree's paths would add to a push's peak.)
        folders = dict.fromkeys(map(_FOLDER, map(bytes.rpartition, paths, repeat(b"/"))))
        if any(map(bytes.endswith, paths, repeat(b"/"))):  # `x/`, a nested clone
            split = map(bytes.rpartition, paths, repeat(b"/"))
            folders = dict.fromkeys(folder for folder, _, name in split if name)
        plain = True
        for folder in folders:
            if not self._no_qxubignore(folder):
                return False
            plain = plain and self.plain(folder)
        for start in range(0, len(paths), _CHUNK):
            self._take_all(paths[start : start + _CHUNK], plain)
        return True

    def _take_all(self, paths: list[bytes], plain: bool) -> None:
        """Take these paths (their folders checked): all at once when each is a readable
        regular file and their folders are `plain`, else one by one."""
        full = list(map(self.top.__add__, paths))
        stats = _lstats(full)
        found = self.found
        if plain and _all_readable_files(stats, found.readable):
            found.files += paths
            found.sizes.extend(map(_SIZE, stats))
            found.mtimes.extend(map(_MTIME, stats))
            found.modes.extend(map(_MODE, stats))
            return
        for rel, path, info in zip(paths, full, stats, strict=True):
            self._take_one(rel, path, info)

    def _take_one(self, rel: bytes, path: bytes, info: os.stat_result | OSError) -> None:
        """One listed path, as its lstat (or the error it raised) shows it."""
        found = self.found
        folder, _, name = rel.rpartition(b"/")
        if not name:  # a nested clone: git does not go in, qxub does
            self.folders.append(rel)
            return
        if not self.plain(folder):
            return  # below a symlinked folder (a tracked file): not in the project now
        if isinstance(info, (FileNotFoundError, NotADirectoryError)):
            return  # tracked, deleted here
        if isinstance(info, OSError):
            found.cannot_read(rel, info)
            return
        mode = info.st_mode
        if stat.S_ISREG(mode) and (found.readable is None or found.readable(path, info)):
            found.files.append(rel)
            found.sizes.append(info.st_size)
            found.mtimes.append(info.st_mtime_ns)
            found.modes.append(mode)
        elif stat.S_ISDIR(mode):
            self.folders.append(rel + b"/")  # a submodule (or a tracked file now a folder)
        else:
            if stat.S_ISLNK(mode) and name == b".gitignore":
                shown = show(self.prefix + rel)
                found.warnings.append(f"{shown} is a symlink: not read (git does not follow it)")
            found.add(rel, path, info)
