"""Where a project's mirror lives on a remote, and the checks before anything is written there:
a marked mirror belongs to one local project; `/`, a home directory and working_dir itself
are never used as a mirror; an unmarked folder that already holds files is left alone."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

from qxub import __version__
from qxub.errors import QxubError
from qxub.record import record
from qxub.remote.config import Remote, shell_word_with_vars
from qxub.remote.reach import rsync_route
from qxub.remote.scripts import RSYNC_PROBE, mirror_script
from qxub.remote.transport import Transport
from qxub.remote.unpack import GNU_TAR, ZSTD
from qxub.sync import MARKER

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from qxub.sync.rsync import Endpoint


@record(frozen=True)
class MirrorPlace:
    word: str  # the mirror root as one shell word ({{user}} etc. expanded there)
    display: str  # as configured, for messages
    key: str  # what it was derived from: a change means the mirror must be checked again


def mirror_place(remote: Remote, project_root: Path, remote_path: str | None) -> MirrorPlace:
    if remote_path and remote_path.startswith(("/", "{{home}}")):
        return MirrorPlace(shell_word_with_vars(remote_path), remote_path, remote_path)
    tail = remote_path or project_root.name
    display = f"{remote.working_dir}/{tail}"
    return MirrorPlace(f"{remote.working_dir_word()}/{shlex.quote(tail)}", display, display)


def marker_text(project_root: Path) -> str:
    return json.dumps({"project": str(project_root), "host": _host_name(), "qxub": __version__})


def owner_prefix(project_root: Path) -> str:
    """How the marker of this project's mirror starts, whichever qxub wrote it."""
    text = marker_text(project_root)
    return text[: text.index(', "qxub":')]


@record(frozen=True)
class Mirror:
    path: str  # the mirror's real path there
    rsync: bool  # whether rsync is on the remote's PATH (for the choice of sync engine)
    # Holds nothing but its marker, and the tools a first push by stream needs there.
    empty: bool = False
    gnu_tar: bool = False
    zstd: bool = False


def check_mirror(
    remote: Remote,
    transport: Transport,
    place: MirrorPlace,
    project_root: Path,
    *,
    look_only: bool = False,
) -> Mirror | None:
    """Check the mirror on the remote, claim it with a marker if it is new; say where it
    really is and whether the remote has rsync. Raises QxubError saying what is wrong and what
    to do. With `look_only` nothing is written, and a mirror that does not exist yet gives
    None."""
    script = mirror_script(
        place.word,
        remote.working_dir_word(),
        MARKER,
        marker_text(project_root),
        look_only=look_only,
    )
    result = transport.run(script, timeout=60, check=False)
    if look_only and "missing=1" in result.stdout:
        return None
    if result.returncode == 97 or "path=" not in result.stdout:
        said = result.stderr.strip().splitlines()[-1:] or ["(no message)"]
        raise QxubError(
            f"cannot create the mirror {place.display} on {remote.name}: {said[0]}",
            hint=f"check working_dir of {remote.name} (`qxub remote test {remote.name}`)",
        )
    fields = dict(field.split("=", 1) for field in result.stdout.split("\0") if "=" in field)
    path = fields["path"]
    if path in ("/", fields.get("home"), fields.get("wd")):
        what = (
            "/"
            if path == "/"
            else "a home directory"
            if path == fields.get("home")
            else ("the working_dir itself")
        )
        raise QxubError(
            f"refusing to use {path} on {remote.name} as a mirror: it is {what}",
            hint="set remote_path in the project's .qxub.yaml to a folder of its own, "
            "e.g. remote_path: my-analysis",
        )
    if "marker" in fields:
        check_owner(fields["marker"], project_root, remote.name, path)
    elif "unmarked" in fields:
        raise QxubError(
            f"{path} on {remote.name} already holds files and is not a qxub mirror",
            hint="qxub will not write into a folder it did not create: set remote_path in the "
            "project's .qxub.yaml to a new folder, or empty that one",
        )
    return Mirror(
        path,
        "rsync" in fields,
        empty="empty" in fields,
        gnu_tar=GNU_TAR.partition("=")[0] in fields,
        zstd=ZSTD.partition("=")[0] in fields,
    )


def rsync_there(transport: Transport) -> bool:
    """Is rsync on the remote's PATH?"""
    result = transport.run([RSYNC_PROBE], timeout=60)
    return "rsync=1" in result.stdout


def check_owner(text: str, project_root: Path, remote: str, path: str) -> None:
    try:
        owner = json.loads(text)
    except ValueError:
        owner = {}
    ours = (str(project_root), _host_name())
    theirs = (str(owner.get("project")), str(owner.get("host")))
    if theirs != ours:
        raise QxubError(
            f"{path} on {remote} is the mirror of another project: {theirs[0]} on {theirs[1]}",
            hint="set remote_path in this project's .qxub.yaml to another folder "
            f"(e.g. remote_path: {project_root.name}-2); if that project is this one moved, "
            f"delete {path}/{MARKER} there",
        )


def rsync_endpoint(remote: Remote, transport: Transport) -> Endpoint:
    """How rsync reaches the mirror (the remote's connection, or its data mover)."""
    route = rsync_route(remote, transport)
    from qxub.sync.rsync import Endpoint  # only for a push or pull: not on exec's path

    return Endpoint(prefix=route.prefix, rsh=route.rsh)


def _host_name() -> str:
    """This machine's name, as socket.gethostname() gives it (uname's node name, where there
    is one: importing socket costs a push about 4 ms)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket  # Windows

    return socket.gethostname()
