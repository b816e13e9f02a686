"""The selection as git lists it, where only git's layers (and the built-in defaults) apply:
one `git ls-files --cached --others --exclude-standard`, which is the oracle anyway, in place
of qxub's own walk, at git's speed.

It applies when the project is in a git worktree, no `sync.ignore` lines are given and no
`.qxubignore` file is found: git lists every `.qxubignore` outside ignored folders (a
command-line `!.qxubignore` re-includes them), and the folders of the files it lists are
checked for one (an ignored folder may hold tracked files and a `.qxubignore` that leaves
them out). The defaults go in as git's lowest layer (`--exclude-from` before
`--exclude-standard`). Then each listed path is lstat'ed once, as the walk does:

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

import os
import re
import stat
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from qxub.sync.entries import Found, show
from qxub.sync.project import git_version, ls_files

QXUBIGNORE = b".qxubignore"
_CANNOT_OPEN = re.compile(r"^warning: could not open directory '(.*)': (.*)$", re.MULTILINE)


def _budget(index: Path) -> float:
    """How long git may take to list: long with a git that matches in linear time."""
    version = git_version()
    if version is not None and version >= (2, 41):
        return 60.0
    try:
        size = os.stat(index).st_size
    except OSError:
        size = 0
    return 0.25 + size / 2e6


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
    or a `.qxubignore` exists: the caller walks instead."""
    lines = [os.fsencode(line) for line in defaults]
    if prefix and any(b"/" in line.rstrip(b"/") for line in lines):
        return False  # anchored defaults are relative to the project, git's to its top
    with tempfile.NamedTemporaryFile("wb", prefix="qxub-defaults-") as handle:
        handle.write(b"\n".join(lines) + b"\n")
        handle.flush()
        listed = ls_files(
            root,
            "--cached",
            "--others",
            "--deduplicate",
            "--exclude=!" + QXUBIGNORE.decode(),
            f"--exclude-from={handle.name}",
            "--exclude-standard",
            timeout=_budget(index),
        )
    if listed is None:
        return False
    paths, errors = listed
    top = os.fsencode(root) + b"/"
    real: dict[bytes, bool] = {b"": True}  # folder -> not below a symlink, no .qxubignore

    def plain(folder: bytes) -> bool:
        known = real.get(folder)
        if known is None:
            parent = folder.rpartition(b"/")[0]
            known = plain(parent)
            if known:
                try:
                    known = not stat.S_ISLNK(os.lstat(top + folder).st_mode)
                except OSError:
                    known = False  # gone: nothing of it is here
            real[folder] = known
        return known

    for rel in paths:
        if rel.rpartition(b"/")[2] == QXUBIGNORE or QXUBIGNORE + b"/" in rel:
            return False
    for folder in {b"", *(rel.rpartition(b"/")[0] for rel in paths)}:
        if plain(folder) and os.path.lexists(top + (folder + b"/" if folder else b"") + QXUBIGNORE):
            return False
    _take(paths, top, prefix, found, walk, plain)
    for shown, reason in _CANNOT_OPEN.findall(errors):
        rel = os.fsencode(shown)
        if rel.startswith(prefix):
            found.cannot_read(rel[len(prefix) :].rstrip(b"/") + b"/", OSError(0, reason))
    return True


def _take(
    paths: list[bytes],
    top: bytes,
    prefix: bytes,
    found: Found,
    walk: Callable[[bytes], None],
    plain: Callable[[bytes], bool],
) -> None:
    files, sizes, mtimes, modes = found.files, found.sizes, found.mtimes, found.modes
    readable = found.readable
    lstat, regular = os.lstat, stat.S_IFREG
    folder_seen, folder_plain = b"", True
    for rel in paths:
        if rel.endswith(b"/"):  # a nested clone: git does not go in, qxub does
            walk(rel)
            continue
        folder = rel[: rel.rfind(b"/") + 1]
        if folder != folder_seen:
            folder_seen, folder_plain = folder, plain(folder[:-1])
        if not folder_plain:
            continue  # below a symlinked folder (a tracked file): not in the project now
        path = top + rel
        try:
            info = lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            continue  # tracked, deleted here
        except OSError as exc:
            found.cannot_read(rel, exc)
            continue
        if info.st_mode & 0o170000 == regular and (readable is None or readable(path, info)):
            files.append(rel)
            sizes.append(info.st_size)
            mtimes.append(info.st_mtime_ns)
            modes.append(info.st_mode)
        elif stat.S_ISDIR(info.st_mode):
            walk(rel + b"/")  # a submodule (or a tracked file that became a folder)
        else:
            if stat.S_ISLNK(info.st_mode) and rel.rpartition(b"/")[2] == b".gitignore":
                shown = show(prefix + rel)
                found.warnings.append(f"{shown} is a symlink: not read (git does not follow it)")
            found.add(rel, path, info)
