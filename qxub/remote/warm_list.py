"""The mirror's listing started ahead: `qxub remote push NAME --full` (or a plain push when the
full comparison is due) starts the remote command that lists the mirror while Python is still
importing, and the push reads its answer when it gets there.

A full push compares every selected file with one listing of the mirror (a `find` there, see
qxub.mirroring.remote_state). That command is the same from one push to the next (the
mirror's path, its marker's name), and it only reads: so the command line the last full push
ran is kept (`remember`, in the state folder, with its master's control socket and when the
next full push is due), and the next push from the same folder to the same remote starts it
first thing, while that master connection is up (a mistyped command never opens a connection
that the push itself would not have opened). The transport takes it (`take`) only if the push
would run that very command line; otherwise it is ended unread.

The listing must not be older than what the record knows: a push that waited for another
one's lock (a watch, a pull) would compare a record written after the listing with a listing
taken before it, and see the other push's files as changed there. So the push tells
(`not_before`) when its record was written; a listing started before that is dropped, and the
push lists the mirror anew.
"""

from __future__ import annotations

import os
import time

from qxub.remote import warm

TYPE_CHECKING = False  # as typing's, without importing typing (3 ms at start-up)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from qxub.proc import Result
    from qxub.spawn import Spawned

_STORE = "warm-list.marshal"  # marshal: read with no import at all
# Words `qxub remote push NAME` may carry for a listing ahead (the others, --dry-run and
# --force, list differently or not at all).
_WORDS = frozenset({"-q", "--quiet", "-v", "--verbose", "-vv", "-vvv", "--full"})

# The listing started ahead, until taken: its argv, the process, when it started (ns).
_ahead: list[tuple[list[str], Spawned, int]] = []
_used: list[bool] = []  # a listing started ahead was taken


def push_words(args: Sequence[str]) -> tuple[str, bool] | None:
    """(NAME, whether --full) of `remote push NAME [--full] [-q] [-v]`, else None."""
    if len(args) < 3 or args[0] != "remote" or args[1] != "push":
        return None
    names = [word for word in args[2:] if word not in _WORDS]
    if len(names) != 1 or names[0].startswith("-"):
        return None
    return names[0], "--full" in args[2:]


def key(name: str, cwd: str) -> str:
    return f"{name}\0{cwd}"


def open_ahead(args: Sequence[str]) -> None:
    """Start the last full push's listing for `qxub <args>`, when it is a push with --full
    (or one whose full comparison is due) to where that push went, its master up."""
    words = push_words(args)
    if words is None:
        return
    name, full = words
    try:
        found = warm.load_store(_STORE).get(key(name, os.getcwd()))
    except OSError:
        return
    if not isinstance(found, dict):
        return
    argv, socket, due = found.get("argv"), found.get("socket"), found.get("due")
    if not isinstance(argv, list) or not all(isinstance(word, str) for word in argv):
        return
    if not isinstance(socket, str) or not isinstance(due, float):
        return
    if not (full or time.time() >= due) or not warm.is_socket(socket):
        return
    from qxub import spawn

    if not spawn.can_spawn():
        return
    started = time.time_ns()
    try:
        process = spawn.Spawned(argv)
    except OSError:
        return
    if process.stdin is not None:
        process.stdin.close()  # the command line says `-n`: nothing is read there anyway
        process.stdin = None
    _ahead.append((argv, process, started))
    import atexit

    atexit.register(close_unused)


def not_before(ns: int) -> None:
    """What the mirror held may have changed at `ns` (the record was written then): a
    listing started before is ended unread."""
    if _ahead and _ahead[0][2] < ns:
        close_unused()


def take(argv: Sequence[str], timeout: float | None) -> Result | None:
    """The listing started ahead, read to its end, if it runs exactly `argv`; else None
    (and one that runs anything else is ended unread). Past `timeout` seconds from now,
    subprocess.TimeoutExpired, as for a run of its own."""
    if not _ahead:
        return None
    opened, process, _ = _ahead[0]
    if opened != list(argv):
        close_unused()
        return None
    _ahead.clear()
    _used.append(True)
    return _collect(process, timeout)


def used() -> bool:
    """Did this run take a listing started ahead (for `-v`)?"""
    return bool(_used)


def _collect(process: Spawned, timeout: float | None) -> Result:
    """Both outputs of `process` to their ends (read together: either may fill its pipe
    first), then its exit code."""
    import selectors
    import subprocess

    from qxub.proc import Result

    deadline = None if timeout is None else time.monotonic() + timeout
    chunks: dict[int, list[bytes]] = {}
    streams = (process.stdout, process.stderr)
    with selectors.DefaultSelector() as selector:
        for stream in streams:
            if stream is not None:
                selector.register(stream.fileno(), selectors.EVENT_READ)
                chunks[stream.fileno()] = []
        while selector.get_map():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                process.kill()
                process.wait()
                raise subprocess.TimeoutExpired(process.args, timeout or 0)
            for found, _ in selector.select(left):
                data = os.read(found.fd, 1 << 16)
                if data:
                    chunks[found.fd].append(data)
                else:
                    selector.unregister(found.fd)
    out, err = (b"".join(chunks.get(s.fileno(), [])) if s else b"" for s in streams)
    for stream in streams:
        if stream is not None:
            stream.close()
    returncode = process.wait()
    text = out.decode(errors="replace"), err.decode(errors="replace")
    return Result(tuple(process.args), returncode, *text)


def close_unused() -> None:
    """End a listing started ahead that no one took."""
    import contextlib

    while _ahead:
        _, process, _ = _ahead.pop()
        with contextlib.suppress(OSError):
            process.terminate()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def remember(
    name: str,
    cwd: str,
    argv: Sequence[str],
    due: float,
    control_socket: Callable[[], str | None],
) -> None:
    """After a listing of the mirror of `name` for a push from `cwd`: keep its command line
    `argv`, with its master's control socket (asked only when the command line is new: an
    `ssh -G`) and when the next full comparison is due (a Unix time)."""
    store = warm.load_store(_STORE)
    known = store.get(key(name, cwd))
    if isinstance(known, dict) and known.get("argv") == list(argv):
        socket = known.get("socket")
    else:
        socket = control_socket()
    if not isinstance(socket, str):
        return
    entry = {"argv": list(argv), "socket": socket, "due": float(due)}
    if known != entry:
        store[key(name, cwd)] = entry
        warm.save_store(_STORE, store)
