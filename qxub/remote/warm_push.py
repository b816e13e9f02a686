"""The session of a small push opened ahead: `qxub remote push NAME` starts the ssh session
that will carry its files (qxub/remote/delta.py) while Python is still importing and the
files are selected, when, and only when, a file it pushed last time changed since.

A push with nothing to send makes no connection, so the session cannot be opened on every
push. What tells, before anything is imported: the last push here to NAME left the list of
what it pushed (each folder holding a selected file, then each file, newest first) and a
stamp (the list's own modification time: when that push began looking). `find` reads the
list and stops at the first path modified after the stamp (`-newer`); only then is the
session opened. A file edited (or created, removed, renamed: its folder changed) since the
last push opens it; an untouched tree never does. A file created or removed in a pushed
folder that the push then finds ignored opens a session that is closed unused: its bash reads
the end of its input and exits having run nothing (the remote's login shell did start). That
push records a new stamp, so the next one, with nothing new, opens nothing.

As for `qxub exec --remote` (qxub.remote.warm, whose session this is): the command line is
the last push's, used only while its master connection is up, and only if the push would
start exactly the same one; the files' push takes the session with `take`.
"""

from __future__ import annotations

import os

from qxub.remote import warm, warm_list
from qxub.xdg import state_dir

TYPE_CHECKING = False  # as typing's, without importing typing (3 ms at start-up)
if TYPE_CHECKING:
    from _thread import LockType as Lock
    from collections.abc import Callable, Sequence

    from qxub.spawn import Spawned

FIND = "find"  # GNU find (-files0-from); any other answers nothing, and nothing is opened
_STORE = "warm-push.marshal"  # marshal: read with no import at all
_LISTS = "warm-push"  # the lists, one per project and remote
_WAIT = 2.0  # seconds a push waits for find's answer at most; later, no session is opened

# Locks of find's answer: held while acted on, and held until it has been (see _decide).
_finding: list[tuple[Lock, Lock]] = []
_settled: list[bool] = []  # the push wants no session any more: none may be opened now


def push_named(args: Sequence[str]) -> str | None:
    """The remote of `remote push NAME [-q] [-v]`, else None (another command, or a push that
    sends no small push: --full, --dry-run, --force; or one that names no remote: a guess
    from the words alone)."""
    found = warm_list.push_words(args)
    return found[0] if found is not None and not found[1] else None


def key(name: str, cwd: str) -> str:
    return f"{name}\0{cwd}"


def open_ahead(args: Sequence[str]) -> None:
    """For `qxub remote push NAME` run where the last push to NAME was: start `find` over
    that push's list, and a thread that opens the session if find names a changed path."""
    name = push_named(args)
    if name is None:
        return
    try:
        found = warm.live_entry(warm.load_store(_STORE).get(key(name, os.getcwd())))
    except OSError:
        return
    if found is None:
        return
    argv, entry = found
    listing = entry.get("list")
    if not isinstance(listing, str) or not os.path.isfile(listing):
        return
    from qxub import spawn

    if not spawn.can_spawn():
        return
    command = [FIND, "-files0-from", listing, "-maxdepth", "0", "-newer", listing]
    try:
        finder = spawn.Spawned([*command, "-print", "-quit"], quiet=True)
    except OSError:
        return
    import _thread
    import atexit

    deciding, done = _thread.allocate_lock(), _thread.allocate_lock()
    done.acquire()
    _finding.append((deciding, done))
    atexit.register(settle)
    _thread.start_new_thread(_decide, (finder, argv, deciding, done))


def _decide(finder: Spawned, argv: list[str], deciding: Lock, done: Lock) -> None:
    """In a thread: find's answer; a path named opens the session, unless the push settled
    first (`deciding` makes the two exclusive); `done` is released once decided. The session
    dies with the thread that started it (`setpriv --pdeathsig` signals when the parent
    thread ends), so a thread that opened one stays until qxub exits."""
    import _thread

    opened = False
    try:
        assert finder.stdin is not None and finder.stdout is not None
        finder.stdin.close()
        changed = bool(finder.stdout.read(1))
        with deciding:
            if changed and not _settled:
                opened = warm.open_session(argv)
        finder.stdout.close()
        finder.wait()  # it has answered (or found nothing): it ends now
    except (OSError, ValueError):
        pass
    finally:
        done.release()
    if opened:
        forever = _thread.allocate_lock()
        forever.acquire()
        forever.acquire()


def take(argv: Sequence[str]) -> Spawned | None:
    """The session opened ahead, if it runs exactly `argv` and still waits (see warm.take:
    `exec --remote NAME --sync` opens the same one). Waits for find's answer first, a
    bounded time."""
    if _finding:
        _, done = _finding[0]
        if not done.acquire(timeout=_WAIT):
            settle()
            return None
        done.release()
    return warm.take_matching(argv)


def settle() -> None:
    """No session is wanted any more (the push sends nothing, or it is over): none is opened
    from now on (find itself ends with qxub), and one opened ahead is closed unused."""
    while _finding:
        deciding, _ = _finding.pop()
        with deciding:
            _settled.append(True)
    warm.close_unused()


def write_list(name: str, cwd: str, listing: bytes) -> None:
    """The paths (NUL-separated, absolute) whose change since the stamp opens the session of
    the next push to `name` from `cwd`: written whole, then renamed into place."""
    path = _list_path(name, cwd)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "wb") as handle:
            handle.write(listing)
        os.replace(temporary, path)
    except OSError:
        _unlink(temporary)


def remember(
    name: str,
    cwd: str,
    argv: Sequence[str],
    control_socket: Callable[[], str | None],
    stamp_ns: int,
) -> None:
    """After a push to `name` from `cwd` that changed the mirror: keep `argv` (the command
    line of its session) with its master's control socket (asked only when the command line
    is new: an `ssh -G`), and stamp the list `write_list` wrote."""
    path = _list_path(name, cwd)
    if not _restamp(path, stamp_ns):
        forget(name, cwd)
        return
    store = warm.load_store(_STORE)
    known = store.get(key(name, cwd))
    if isinstance(known, dict) and known.get("argv") == list(argv):
        socket = known.get("socket")
    else:
        socket = control_socket()
    if not isinstance(socket, str):
        forget(name, cwd)
        return
    entry = {"argv": list(argv), "socket": socket, "list": path}
    if known != entry:
        store[key(name, cwd)] = entry
        warm.save_store(_STORE, store)


def restamp(name: str, cwd: str, stamp_ns: int) -> None:
    """After a push (or a pull) that left what the last push selected as it was: a path
    changed after `stamp_ns` opens the next push's session, one changed before it does not."""
    if key(name, cwd) in warm.load_store(_STORE) and not _restamp(_list_path(name, cwd), stamp_ns):
        forget(name, cwd)


def unchanged(name: str, cwd: str) -> bool:
    """Does the list of the last push to `name` from `cwd` hold no path changed since its
    stamp (find, as at start-up)? False when there is none, or find cannot tell."""
    if key(name, cwd) not in warm.load_store(_STORE):
        return False
    listing = _list_path(name, cwd)
    from qxub import proc
    from qxub.errors import CommandFailed

    command = [FIND, "-files0-from", listing, "-maxdepth", "0", "-newer", listing]
    try:
        found = proc.run_bytes([*command, "-print", "-quit"], check=False, timeout=30)
    except (CommandFailed, OSError):
        return False
    return found.returncode == 0 and not found.stdout


def forget(name: str, cwd: str) -> None:
    """No session ahead for the next push to `name` from `cwd` (until one remembers again)."""
    store = warm.load_store(_STORE)
    if store.pop(key(name, cwd), None) is not None:
        warm.save_store(_STORE, store)
    _unlink(_list_path(name, cwd))


def _restamp(path: str, stamp_ns: int) -> bool:
    try:
        os.utime(path, ns=(stamp_ns, stamp_ns))
    except OSError:
        return False
    return True


def _list_path(name: str, cwd: str) -> str:
    from qxub.digest import sha256_hex

    digest = sha256_hex(key(name, cwd).encode(errors="surrogateescape"))
    return os.path.join(state_dir(), _LISTS, digest[:20])


def _unlink(path: str) -> None:
    import contextlib

    with contextlib.suppress(OSError):
        os.unlink(path)
