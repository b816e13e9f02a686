"""The mirror's listing started ahead: `qxub remote push NAME --full` (or a plain push when the
full comparison is due) and `qxub remote pull [NAME] PATH...` start the remote command that
lists the mirror while Python is still importing, and read its answer when they get there.

A full push compares every selected file with one listing of the mirror, and a pull lists
what it brings (a `find` there, see qxub.mirroring.remote_state). That command is the same
from one run to the next of the same words in the same folder (the mirror's path, its
marker's name, the paths asked for), and it only reads: so the command line the last such run
ran is kept (`remember`, in the state folder, with its master's control socket, and for a
push when the next full comparison is due), and the next run starts it first thing, while
that master connection is up (a mistyped command never opens a connection that the run itself
would not have opened). The transport takes it (`take`) only if the run would run that very
command line; otherwise it is ended unread.

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
_KEPT = 64  # command lines kept at most (the oldest go): one per folder and words
_TICK_NS = 10_000_000  # the coarsest clock tick file times are taken from (HZ=100)
_TALK = frozenset({"-q", "--quiet", "-v", "--verbose", "-vv", "-vvv"})  # change no listing
# Words `qxub remote push NAME` may carry for a listing ahead (the others, --dry-run and
# --force, list differently or not at all).
_WORDS = _TALK | {"--full"}

# The listing started ahead, until taken: its argv, the process, when it started (ns).
_ahead: list[tuple[list[str], Spawned, int]] = []
_used: list[bool] = []  # a listing started ahead was taken
_run_key: list[str] = []  # this run's key in the store, when its words may start one


def push_words(args: Sequence[str]) -> tuple[str, bool] | None:
    """(NAME, whether --full) of `remote push NAME [--full] [-q] [-v]`, else None."""
    if len(args) < 3 or args[0] != "remote" or args[1] != "push":
        return None
    names = [word for word in args[2:] if word not in _WORDS]
    if len(names) != 1 or names[0].startswith("-"):
        return None
    return names[0], "--full" in args[2:]


def run_key(args: Sequence[str], cwd: str) -> tuple[str, bool] | None:
    """The store's key for `qxub <args>` run in `cwd`, and whether it lists whatever the time
    (a plain push lists only once the full comparison is due); None for a command that
    starts no listing ahead."""
    pushed = push_words(args)
    if pushed is not None:
        name, full = pushed
        return f"push\0{name}\0{cwd}", full
    if len(args) >= 2 and args[0] == "remote" and args[1] == "pull":
        words = [word for word in args[2:] if word not in _TALK]
        if any(word in ("-h", "--help") for word in words):
            return None
        return "\0".join(["pull", *words, cwd]), True
    return None


def open_ahead(args: Sequence[str]) -> None:
    """Start the listing the last run of the same words here ran, for `qxub <args>` (a full
    push, one whose full comparison is due, or a pull), while its master is up."""
    try:
        found_key = run_key(args, os.getcwd())
    except OSError:
        return
    if found_key is None:
        return
    run, full = found_key
    _run_key.append(run)
    found = warm.live_entry(warm.load_store(_STORE).get(run))
    if found is None:
        return
    argv, entry = found
    due = entry.get("due")
    if not isinstance(due, float) or not (full or time.time() >= due):
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
    listing started before is ended unread. A file's time is the kernel's coarse clock (up
    to a tick, 10 ms at most, behind the time this process reads): a record written just
    after the listing started may carry an earlier time, so one that close counts as after."""
    if _ahead and _ahead[0][2] - _TICK_NS < ns:
        close_unused()


def not_due(due: float) -> None:
    """This push compares only what changed: the full comparison is due at `due` (a Unix
    time; another run, a watch, compared since the store's time was written). A listing
    started ahead is ended unread, and the next push starts none before `due`."""
    if not _ahead:
        return
    close_unused()
    store = warm.load_store(_STORE)
    entry = store.get(_run_key[0]) if _run_key else None
    if isinstance(entry, dict):
        entry["due"] = float(due)
        warm.save_store(_STORE, store)


def take(
    argv: Sequence[str], timeout: float | None, sink: Callable[[bytes], None] | None = None
) -> Result | None:
    """The listing started ahead, read to its end, if it runs exactly `argv`; else None (it
    waits for the command it runs: a pull from a job's run folder asks where that is
    first; untaken, it is ended when qxub exits). Past `timeout` seconds from now,
    subprocess.TimeoutExpired, as for a run of its own. `sink` is given each piece of its
    stdout as it arrives (the listing is read while the remote still lists)."""
    if not _ahead:
        return None
    opened, process, _ = _ahead[0]
    if opened != list(argv):
        return None
    _ahead.clear()
    _used.append(True)
    return _collect(process, timeout, sink)


def used() -> bool:
    """Did this run take a listing started ahead (for `-v`)?"""
    return bool(_used)


def _collect(
    process: Spawned, timeout: float | None, sink: Callable[[bytes], None] | None
) -> Result:
    """Both outputs of `process` to their ends (read together: either may fill its pipe
    first; each piece of stdout given to `sink` too), then its exit code."""
    import selectors
    import subprocess

    from qxub.proc import Result

    deadline = None if timeout is None else time.monotonic() + timeout
    chunks: dict[int, list[bytes]] = {}
    streams = (process.stdout, process.stderr)
    out_fd = process.stdout.fileno() if process.stdout is not None else -1
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
                    if sink is not None and found.fd == out_fd:
                        sink(data)
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


def remember(argv: Sequence[str], due: float, control_socket: Callable[[], str | None]) -> None:
    """After this run's listing of the mirror (when its words may start one at the next
    start-up): keep its command line `argv`, with its master's control socket (asked only
    when the command line is new: an `ssh -G`) and when a plain push should start it (a Unix
    time: when the next full comparison is due; 0 for a pull)."""
    if not _run_key:
        return
    run = _run_key[0]
    store = warm.load_store(_STORE)
    known = store.get(run)
    if isinstance(known, dict) and known.get("argv") == list(argv):
        socket = known.get("socket")
    else:
        socket = control_socket()
    if not isinstance(socket, str):
        return
    entry = {"argv": list(argv), "socket": socket, "due": float(due)}
    if known != entry:
        store.pop(run, None)  # in again at the end: the store keeps the newest
        store[run] = entry
        for old in list(store)[:-_KEPT]:
            del store[old]
        warm.save_store(_STORE, store)
