"""A session opened ahead: `qxub exec --remote NAME` starts its ssh session while Python is
still importing, parsing the options and reading the config, and hands it the script once it
is known.

The session runs `bash --norc -s` on the remote and waits there for its script on stdin;
nothing happens on the remote until the script comes. When the script is known, the
transport takes the waiting session if, and only if, it would have started the very same
ssh command line for it (`take`); otherwise the session is closed unused: its bash reads the
end of its input and exits, having done nothing.

The command line comes from the last run of `exec --remote NAME` here (`remember`, in the
state folder), and the session is opened only while that remote's master connection is up,
so a mistyped command never opens a connection that the run itself would not have opened.
The time saved is the session's start: the ssh client, the channel over the master, the
remote login shell and its init files, on a real network one round trip or more.

A run whose script comes in two parts (a `HandOver`: `exec_script`'s) goes further: the
session opened ahead is sent at once the first part the last run sent (its `prelude`: the
preamble, then `qxub _await`), so the remote qxub starts and imports while this one still
works. The run hands it the rest (`payload`: where to stand and the words) only if it would
have sent that very prelude, and only after the remote said it awaits them
(READY); otherwise the session is closed, and the remote qxub, reading the end of
its input, exits having done nothing.
"""

from __future__ import annotations

import os
import stat
import sys

from qxub.remote.handover import READY, HandOver
from qxub.xdg import state_dir

TYPE_CHECKING = False  # as typing's, without importing typing (3 ms at start-up)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from qxub.spawn import Spawned

# Runs the script it reads on stdin (see `script_input`).
WARM_COMMAND = "bash --norc -s"
# Words before `--` that make `qxub exec` end before any remote run, or change how it runs
# (a terminal, data piped to the job): no session ahead for them.
_NOT_AHEAD = frozenset({"-h", "--help", "--version", "--dry", "--terse", "--interactive"})
_STORE = "warm-ssh.marshal"  # marshal: read with no import at all

# The session opened ahead, until taken: its argv, the process, the prelude sent to it.
_ahead: list[tuple[list[str], Spawned, tuple[str, ...] | None]] = []
_wanted: list[str] = []  # the remote this run names: `remember` records it
_used: list[bool] = []  # a session opened ahead was taken (True: with its prelude)


def script_input(script_lines: Sequence[str]) -> bytes:
    """What a waiting `bash -s` reads: the whole script as one brace group, so bash has read
    all of it before it runs any of it (a `cat` in the script reads the end of input, never
    the script's own lines), then the end of input (the caller closes it)."""
    return ("{\n" + "\n".join(script_lines) + "\n}\n").encode()


def remote_named(args: Sequence[str]) -> str | None:
    """The remote of `exec ... --remote NAME ... -- COMMAND`, when these words look like such
    a run; None for anything else. A guess from the words alone: the session it opens is
    used only if the run, once parsed, starts exactly the same command line."""
    if not args or args[0] != "exec" or "--" not in args:
        return None
    name = None
    words = iter(args[1 : args.index("--")])
    for word in words:
        if word in _NOT_AHEAD:
            return None
        if word == "--remote" and name is None:
            name = next(words, None)
        elif word.startswith("--remote=") and name is None:
            name = word.partition("=")[2]
    return name or None


def open_ahead(args: Sequence[str]) -> None:
    """Start the session for `qxub <args>` when the last run of the same remote left its
    command line and that remote's master connection is up. Any doubt: do nothing."""
    name = remote_named(args)
    if name is None or _stdin_has_data():
        return
    _wanted.append(name)
    found = live_entry(load_store(_STORE).get(name))
    if found is None:
        return
    argv, entry = found
    prelude = entry.get("prelude")
    if not isinstance(prelude, tuple) or not all(isinstance(line, str) for line in prelude):
        prelude = None
    from qxub import spawn

    if not spawn.can_spawn():
        return
    try:
        process = spawn.Spawned(argv)
    except OSError:
        return
    if prelude is not None and process.stdin is not None:
        try:
            process.stdin.write(script_input(prelude))  # far less than a pipe holds
        except OSError:
            prelude = None  # ended already: `take` sees it
    _ahead.append((argv, process, prelude))
    import atexit

    atexit.register(close_unused)


def open_session(argv: Sequence[str]) -> bool:
    """Start a session that runs `argv` (a waiting `bash -s`, as `open_ahead` does, sent
    nothing) for `take_matching`, when none is open ahead yet; False when none was started."""
    from qxub import spawn

    if _ahead or not spawn.can_spawn():
        return False
    try:
        process = spawn.Spawned(argv)
    except OSError:
        return False
    _ahead.append((list(argv), process, None))
    import atexit

    atexit.register(close_unused)
    return True


def take_matching(argv: Sequence[str]) -> Spawned | None:
    """For a caller that writes the whole script itself (a small push): the session opened
    ahead, if it runs exactly `argv`, was sent nothing and still waits. Any other stays open
    for its own taker (a push of `exec --remote NAME --sync` runs the same command line as
    the exec, whose session may hold a prelude)."""
    if not _ahead:
        return None
    opened, process, sent = _ahead[0]
    if opened != list(argv) or sent is not None:
        return None
    if process.poll() is not None:
        close_unused()
        return None
    _ahead.clear()
    _used.append(False)
    return process


def take(argv: Sequence[str], script_lines: Sequence[str]) -> tuple[Spawned, bytes] | None:
    """The session opened ahead, if it runs exactly `argv`, still waits, and was sent nothing
    or the prelude of `script_lines`, with what to write to its stdin (then close it): the
    payload after a prelude, else the whole script."""
    if not _ahead:
        return None
    opened, process, sent = _ahead[0]
    if opened != list(argv) or process.poll() is not None:
        close_unused()
        return None
    if sent is None:
        data = script_input(script_lines)
    elif isinstance(script_lines, HandOver) and sent == script_lines.prelude and _ready(process):
        data = script_lines.payload
    else:
        close_unused()
        return None
    _ahead.clear()
    _used.append(sent is not None)
    return process, data


def _ready(process: Spawned) -> bool:
    """Did the remote qxub the prelude started say it awaits the rest? Read byte by byte:
    what follows is the remote protocol's, for the session's reader."""
    if process.stdout is None:
        return False
    fd, said = process.stdout.fileno(), b""
    while len(said) < len(READY) and READY.startswith(said):
        try:
            byte = os.read(fd, 1)
        except OSError:
            return False
        if not byte:
            return False
        said += byte
    return said == READY


def used() -> str | None:
    """How this run used a session opened ahead, for `-v`: None (it did not)."""
    if not _used:
        return None
    there = ", and qxub started there," if _used[0] else ""
    return f"the ssh session was opened at start-up{there} as qxub read its options"


def close_unused() -> None:
    """End a session opened ahead that no one took: its bash reads the end of its input and
    exits without having run anything."""
    import contextlib  # not before the session is opened: at start-up every ms counts

    while _ahead:
        _, process, _ = _ahead.pop()
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        with contextlib.suppress(OSError):
            process.terminate()


def remember(
    name: str | None,
    argv: Sequence[str],
    script_lines: Sequence[str],
    control_socket: Callable[[], str | None],
) -> None:
    """Keep `argv` (the command line of a waiting session to remote `name`) and the prelude
    of `script_lines` (if it has one) for the next `exec --remote` of it, when this run names
    it, with the master's control socket (asked only when the entry is new: it costs an
    `ssh -G`)."""
    if name is None or name not in _wanted:
        return
    _wanted.remove(name)
    prelude = script_lines.prelude if isinstance(script_lines, HandOver) else None
    store = load_store(_STORE)
    known = store.get(name)
    if isinstance(known, dict) and known.get("argv") == list(argv):
        if known.get("prelude") == prelude:
            return
        socket = known.get("socket")
    else:
        socket = control_socket()
    if not isinstance(socket, str):
        return
    store[name] = {"argv": list(argv), "socket": socket, "prelude": prelude}
    save_store(_STORE, store)


def _stdin_has_data() -> bool:
    """Data piped into qxub goes to the job through ssh's own stdin: not for a session
    opened ahead (see qxub.stdin.piped_fd for what counts as data)."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (AttributeError, OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISREG(mode)


def live_entry(found: object) -> tuple[list[str], dict[str, object]] | None:
    """A stored entry (a store's value: a command line `argv` and its master's control
    `socket`, with fields of its own) as (argv, the entry), while that master is up; None for
    anything else (nothing stored, a damaged store, the master gone)."""
    if not isinstance(found, dict):
        return None
    argv, socket = found.get("argv"), found.get("socket")
    if not isinstance(argv, list) or not all(isinstance(word, str) for word in argv):
        return None
    if not isinstance(socket, str) or not is_socket(socket):
        return None
    return argv, found


def is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def load_store(filename: str) -> dict[str, object]:
    """A store of sessions to open ahead (this one's, warm_push's), in the state folder."""
    import marshal

    try:
        with open(os.path.join(state_dir(), filename), "rb") as handle:
            found = marshal.load(handle)
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    return found if isinstance(found, dict) else {}


def save_store(filename: str, store: dict[str, object]) -> None:
    """Written whole under a temporary name, then renamed: two runs at once leave one whole
    file. A failure only costs the next run its head start."""
    import contextlib
    import marshal

    path = os.path.join(state_dir(), filename)
    temporary = f"{path}.{os.getpid()}.tmp"
    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "wb") as handle:
            marshal.dump(store, handle)
        os.replace(temporary, path)
    with contextlib.suppress(OSError):
        os.unlink(temporary)
