"""After a push: what the next `qxub remote push NAME` from the same folder needs to open the
session of its small push ahead (qxub/remote/warm_push.py): that session's command line, the
list of paths to look at (every folder holding a selected file, then the files modified last,
newest first: a file edited now is most likely one edited lately; at most NEWEST of them, so
that looking costs little at any size of tree), and the stamp (when this push began looking
at the files, or the newest file's time if later: a file dated in the future must not open a
session on every push)."""

from __future__ import annotations

import heapq
import os
import shlex
import time
from collections.abc import Mapping
from operator import itemgetter
from pathlib import Path

from qxub import proc
from qxub.remote import warm_push
from qxub.remote.config import Remote
from qxub.remote.delta import session_argv
from qxub.remote.reach import rsync_route
from qxub.remote.target import RsyncRoute
from qxub.remote.transport import Transport
from qxub.sync.manifest import Entry

NEWEST = 1000  # files listed, newest first: a file edited in place further down opens nothing


def prepare(remote: Remote, cwd: Path, root: Path, entries: Mapping[str, Entry]) -> None:
    """Write the list of paths for the next push (while this one's files travel)."""
    warm_push.write_list(remote.name, str(cwd), listing(root, entries))


def after_push(
    remote: Remote,
    transport: Transport,
    cwd: Path,
    root: Path,
    entries: Mapping[str, Entry],
    began_ns: int,
    *,
    sent: bool,
    small: bool,
    prepared: bool,
) -> None:
    """Keep what the next push needs. `sent`: this push changed the mirror; `small`: its
    sync engine is rsync over ssh (a small push may come); `prepared`: the list of paths was
    written by `prepare` during this push (else it is written now when the selection may have
    changed, and kept as it is when nothing was sent)."""
    stamp = max(began_ns, max(map(itemgetter(1), entries.values()), default=0))
    if not sent:
        warm_push.restamp(remote.name, str(cwd), stamp)
        return
    if not small:
        warm_push.forget(remote.name, str(cwd))
        return
    route = rsync_route(remote, transport)
    if route.rsh is None or not route.prefix.endswith(":"):
        return
    if not prepared:
        prepare(remote, cwd, root, entries)
    warm_push.remember(
        remote.name, str(cwd), session_argv(route), lambda: _control_socket(route), stamp
    )


def pulled(remote: Remote, cwd: Path, clean: bool) -> None:
    """After a pull: the files and folders it wrote are no change of the next push's, when
    nothing had changed here since the last push as it began (`clean`, from
    `warm_push.unchanged`): the stamp moves to now. Otherwise it stays, and the next push,
    which has something to send anyway, opens its session ahead."""
    if clean:
        warm_push.restamp(remote.name, str(cwd), time.time_ns())


def listing(root: Path, entries: Mapping[str, Entry]) -> bytes:
    """The paths `find -files0-from` reads: each folder holding a selected file (the project
    root too), then the NEWEST files modified last, newest first; absolute, NUL-terminated.
    (Built with C-speed calls: a push that sent a file pays this, at any size of tree.)"""
    parents = {rel.rpartition("/")[0] for rel in entries}
    folders = {""}
    for parent in parents:
        while parent not in folders:
            folders.add(parent)
            parent = parent.rpartition("/")[0]
    times = zip(map(itemgetter(1), entries.values()), entries, strict=True)
    newest = heapq.nlargest(NEWEST, times)
    base = os.fspath(root)
    rels = [*sorted(folders - {""}), *map(itemgetter(1), newest)]
    return os.fsencode("".join([base, *(f"\0{base}/{rel}" for rel in rels), "\0"]))


def _control_socket(route: RsyncRoute) -> str | None:
    """The master's control socket of the route's ssh (`ssh -G`)."""
    assert route.rsh is not None
    result = proc.run([*shlex.split(route.rsh), "-G", route.prefix[:-1]], check=False, timeout=10)
    for line in result.stdout.splitlines():
        name, _, value = line.partition(" ")
        if name.lower() == "controlpath" and value and value != "none":
            return value
    return None
