"""The common push, a few files changed here and none deleted, over the rsync engine: one
remote command over the shared connection checks the mirror (its marker, and that no file
about to be replaced changed there since the last sync) and puts the files in place from a
tar stream on its stdin (qxub/remote/delta.py). It costs less than starting rsync at both
ends, and is what makes a one-file push about as quick as one bare rsync of that file."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from qxub.errors import QxubError
from qxub.remote.config import Remote
from qxub.remote.delta import (
    GUARD,
    NOT_WRITTEN,
    REFUSED,
    DeltaItem,
    delta_input,
    delta_push_script,
    run_delta_push,
)
from qxub.remote.reach import rsync_route
from qxub.remote.transport import Transport
from qxub.sync import MARKER, PART
from qxub.sync.engine import Transfer
from qxub.sync.manifest import Entry
from qxub.sync.tarstream import tar_stream

# Up to this many bytes in all, a small push goes as one tar stream; more, and rsync (which
# compresses, and sends only the changed blocks of a file there) carries it.
MOST_BYTES = 4 << 20
_KIND_LETTER = {"file": "f", "link": "l"}


class NotSent(Exception):
    """The small push did not apply or did not start: nothing was written there."""


class Refused(NotSent):
    """The mirror's check refused (a file changed there, or the marker): look first."""


def as_found(entry: Entry) -> str:
    """An entry as find prints it there (`%y %s %Ts`)."""
    return f"{_KIND_LETTER[entry.kind]} {entry.size} {entry.mtime_ns // 1_000_000_000}"


def small_push(
    remote: Remote,
    transport: Transport,
    root: Path,
    mirror: str,
    owner_prefix: str,
    here: Mapping[str, Entry],
    base: Mapping[str, Entry],
    meanwhile: Callable[[], object] = lambda: None,
) -> Transfer:
    """Send the paths of `here` (as planned here; `base`: the record) in one remote command;
    `meanwhile` runs here while it starts there. Raises Refused when the mirror's check
    refused, NotSent when nothing was written for another reason (the caller sends another
    way), QxubError when it failed partway."""
    if sum(entry.size for entry in here.values()) > MOST_BYTES:
        raise NotSent("too large")
    sends = sorted(here)
    items = []
    for rel in sends:
        local = here[rel]
        last = base.get(rel, local)
        try:
            executable = bool(os.lstat(root / rel).st_mode & 0o111)
            allowed = (as_found(last), as_found(local))
        except (OSError, KeyError) as exc:
            raise NotSent(str(exc)) from None
        items.append(DeltaItem(rel, allowed, executable and local.kind == "file"))
    stage = f"{PART}stage.{os.urandom(8).hex()}"  # in the mirror, new for each push
    try:
        stream = tar_stream(root, sends, under=stage)
    except (OSError, ValueError) as exc:
        raise NotSent(str(exc)) from None
    started = time.monotonic()
    script = delta_push_script(mirror, MARKER, owner_prefix, items, stage)
    route = rsync_route(remote, transport)
    data = delta_input(items, stream)
    code, said = run_delta_push(route, script, data, timeout=600, meanwhile=meanwhile)
    said = said.strip()
    if code == REFUSED and GUARD in said:
        raise Refused(said.split(GUARD, 1)[1].strip())
    if code == NOT_WRITTEN:
        raise NotSent(said)
    if code != 0:
        tail = "\n".join(said.splitlines()[-8:]) or "(it said nothing)"
        raise QxubError(
            f"pushing to {remote.name} failed (exit code {code}):\n{tail}",
            hint=f"check the connection (`qxub remote test {remote.name}`) and push again: "
            "what was sent is found equal at both ends and kept",
        )
    transfer = Transfer(sent=[(rel, here[rel].size) for rel in sends])
    transfer.elapsed = time.monotonic() - started
    return transfer


__all__: Sequence[str] = ("NotSent", "Refused", "as_found", "small_push")
