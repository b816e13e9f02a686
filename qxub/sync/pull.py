"""Pull: bring paths from the mirror into the local project, never losing a local edit.

What comes is decided by the three-way rule (threeway.py). The files are fetched into a
scratch folder first, then each is renamed into place, just after checking that the file here
is still as it was when the pull was planned (an edit saved during a long pull is kept, the
copy from there beside it) and that no folder on the way is a symlink or a file here: a pull
never writes through or over a local symlink. Remote symlinks come as links. Local files are
never deleted."""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import shutil
import stat
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from qxub.errors import UsageError
from qxub.record import field, record
from qxub.sync.manifest import Entry, Manifest, entry

NAME_MAX = 255  # bytes in one file name, on every file system qxub meets


@record
class Conflict:
    path: str
    kept_as: str | None  # where the copy from there went (None: not fetched)
    why: str
    by_request: bool = False  # skipped because --keep-local asked for it
    in_the_way: bool = False  # a symlink or a file here where the path needs a folder


@record
class PullResult:
    pulled: list[tuple[str, int]] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # changed here only: the next push sends them
    elapsed: float = 0.0

    @property
    def pulled_bytes(self) -> int:
        return sum(size for _, size in self.pulled)

    @property
    def unresolved(self) -> bool:
        """Conflicts other than those --keep-local skipped on purpose."""
        return any(not c.by_request for c in self.conflicts)

    @property
    def unresolved_in_the_way(self) -> bool:
        """Unresolved paths that a symlink or file here blocks: --force does not help."""
        return any(c.in_the_way and not c.by_request for c in self.conflicts)

    @property
    def unresolved_both_changed(self) -> bool:
        """Unresolved paths changed at both ends: --keep-local or --force settles them."""
        return any(not c.in_the_way and not c.by_request for c in self.conflicts)


def project_paths(patterns: Sequence[str], root: Path, cwd: Path) -> list[str]:
    """Paths as typed (relative to where the user stands) -> relative to the project root.
    Absolute paths and paths that leave the project are refused."""
    result = []
    for text in patterns:
        if os.path.isabs(text) or text.startswith("~"):
            raise UsageError(
                f"cannot pull {text!r}: give a path inside the project, relative to here",
                hint="e.g. results/ or output/run1.csv",
            )
        joined = os.path.normpath(os.path.join(os.path.relpath(cwd, root), text))
        if joined == ".." or joined.startswith("../") or joined.startswith("/"):
            raise UsageError(
                f"cannot pull {text!r}: it leaves the project ({root})",
                hint="pull paths inside the project only",
            )
        result.append("." if joined == "." else joined.replace(os.sep, "/"))
    return result


def beside_name(rel: str, remote_name: str) -> tuple[str, bool]:
    """Where the copy from there of a conflicting file goes: `NAME.from-REMOTE` beside it; a
    name that would pass 255 bytes is shortened (True), keeping a digest of the full one."""
    folder, name = posixpath.split(rel)
    tail = f".from-{remote_name}"
    raw = os.fsencode(name)
    if len(raw) + len(os.fsencode(tail)) <= NAME_MAX:
        return posixpath.join(folder, name + tail), False
    digest = "~" + hashlib.sha1(raw, usedforsecurity=False).hexdigest()[:8]
    room = NAME_MAX - len(os.fsencode(digest + tail))
    cut = raw[:room]
    with contextlib.suppress(UnicodeDecodeError):
        raw.decode()  # a UTF-8 name is cut at a character's start
        while cut and (cut[-1] & 0xC0) == 0x80:
            cut = cut[:-1]
        if cut and cut[-1] >= 0xC0:
            cut = cut[:-1]
    return posixpath.join(folder, os.fsdecode(cut) + digest + tail), True


def blocked(root: Path, rel: str) -> str | None:
    """Why `rel` cannot be written here without going through something that is not a
    folder of the project (a symlink, or a file), or None."""
    parts = rel.split("/")
    path = root
    for i, part in enumerate(parts[:-1]):
        path = path / part
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            return f"{'/'.join(parts[: i + 1])}: {exc.strerror}"
        if stat.S_ISLNK(info.st_mode):
            return f"{'/'.join(parts[: i + 1])} is a symlink here; a pull never writes through it"
        if not stat.S_ISDIR(info.st_mode):
            return f"{'/'.join(parts[: i + 1])} is a file here, a folder there"
    return None


def local_state(root: Path, rel: str) -> Entry | None:
    return None if blocked(root, rel) else entry(root / rel)


@contextlib.contextmanager
def scratch_folder(root: Path) -> Iterator[Path]:
    """A scratch folder inside the project (so renames stay on one file system), in qxub's
    own folder, which pushes ignore; removed afterwards."""
    own = root / ".qxub"
    made_own = not own.exists()
    own.mkdir(exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="pull-", dir=own))
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if made_own:
            with contextlib.suppress(OSError):
                own.rmdir()


def place(root: Path, scratch: Path, rel: str, target: str, expected: Entry | None) -> str | None:
    """Rename the fetched copy of `rel` to `target` (relative to root); None when done, else
    why it was not (the file here changed since the pull was planned, a symlink or file on
    the way, a folder in its place)."""
    source = scratch / rel
    if not os.path.lexists(source):
        return "it was gone there when fetched"
    why = blocked(root, target)
    if why is not None:
        return why
    final = root / target
    try:
        info = os.lstat(final)
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISDIR(info.st_mode):
        return "a folder here, a file there"
    if entry(final) != expected:
        return "it changed here while the pull ran"
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, final)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def record_pulled(manifest: Manifest, root: Path, rel: str) -> None:
    found = entry(root / rel)
    if found is not None:
        manifest.synced[rel] = found
        manifest.from_remote.add(rel)
