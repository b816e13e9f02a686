"""What the mirror holds, asked in one remote command over the shared connection: that it
still exists and is this project's (its marker), and the size, second and kind of the paths a
push or a pull is about to decide on. And the deletions a push decided, in one more."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qxub.errors import QxubError
from qxub.mirroring.place import check_owner
from qxub.remote.config import Remote
from qxub.remote.scripts import delete_script, mirror_state_script, paths_word
from qxub.remote.transport import Transport
from qxub.sync import MARKER, PART
from qxub.sync.threeway import There

# Past this many characters of names, the mirror is listed whole instead (a script this long
# would pass the limit of one remote command).
MAX_NAMED = 30_000
_KINDS = {"f": "file", "l": "link", "d": "dir"}


@dataclass
class MirrorState:
    exists: bool
    marker: str | None = None
    entries: dict[str, There] = field(default_factory=dict)


def _fields(stdout: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in stdout.split("\0") if "=" in part)


def _failed(remote: Remote, what: str, stderr: str) -> QxubError:
    said = stderr.strip().splitlines()[-1:] or ["(no message)"]
    return QxubError(
        f"cannot {what} the mirror on {remote.name}: {said[0]}",
        hint=f"check the connection and the mirror (`qxub remote test {remote.name}`)",
    )


def mirror_state(
    remote: Remote,
    transport: Transport,
    path: str,
    *,
    paths: Sequence[str] = (),
    under: Sequence[str] = (),
) -> MirrorState:
    """The mirror at `path`: the entries at `paths` and everything under `under` ("." is the
    whole mirror). Too many names to send, and the whole mirror is listed instead."""
    if len(paths_word(paths)) + len(paths_word(under)) > MAX_NAMED:
        paths, under = (), ["."]
    result = transport.run(
        mirror_state_script(path, MARKER, paths, under), timeout=300, check=False
    )
    found = _fields(result.stdout)
    if result.returncode != 0 or "state" not in found:
        raise _failed(remote, "look at", result.stderr)
    if found["state"] == "missing":
        return MirrorState(exists=False)
    return MirrorState(True, found.get("marker"), _entries(found.get("entries", "")))


def _entries(encoded: str) -> dict[str, There]:
    try:
        raw = base64.b64decode(encoded)
    except (binascii.Error, ValueError):
        return {}
    entries: dict[str, There] = {}
    for item in raw.split(b"\0"):
        parts = item.split(b" ", 3)
        if len(parts) != 4 or parts[0].decode() not in _KINDS:
            continue
        name = parts[3]
        while name.startswith(b"./"):
            name = name[2:]
        # Temporary names (an SFTP part file, a small push's staging folder and what is in
        # it, left by a push that was killed) are not the mirror's files.
        if name in (b"", b".", MARKER.encode()) or b"/" + PART.encode() in b"/" + name:
            continue
        seconds = int(float(parts[2]))
        entries[os.fsdecode(name)] = There(int(parts[1]), seconds, _KINDS[parts[0].decode()])
    return entries


def check_ours(state: MirrorState, remote: Remote, project_root: Path, path: str) -> None:
    """A mirror whose marker names another project (it was removed and claimed again) is
    refused before anything is written or deleted there."""
    if state.marker:
        check_owner(state.marker, project_root, remote.name, path)


def delete_there(
    remote: Remote, transport: Transport, path: str, files: Sequence[str], folders: Sequence[str]
) -> set[str]:
    """Delete `files` in the mirror, then rmdir `folders` that are empty; the folders that
    stay (they hold files qxub did not push)."""
    if not files and not folders:
        return set()
    result = transport.run(delete_script(path, files, folders), timeout=300, check=False)
    if result.returncode != 0:
        raise _failed(remote, "delete files in", result.stderr)
    kept = _fields(result.stdout).get("kept", "")
    try:
        raw = base64.b64decode(kept)
    except (binascii.Error, ValueError):
        return set()
    names = [name for name in raw.split(b"\0") if name]
    return {os.fsdecode(name[2:] if name.startswith(b"./") else name) for name in names}
