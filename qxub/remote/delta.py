"""A small push in one remote command: the check of the mirror (its marker, and that no file
about to be replaced changed there since the last sync) and the files themselves, as a tar
stream on the command's stdin, unpacked into a staging folder inside the mirror and renamed
into place one by one (a file is replaced by rename, never written in place: hard-link
snapshots keep the old contents, and nothing half-written ever stands under a real name).

Permissions follow rsync's `-E` without `-p`: a new file gets its permission bits here less
the remote's umask; a file that replaces one there keeps that one's bits, with the execute
bits made to match (added where it can be read, or all removed). Modification times come
with their nanoseconds; links stay links."""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from qxub import proc
from qxub.errors import QxubError
from qxub.record import record
from qxub.remote import warm, warm_push
from qxub.remote.scripts import FIND_TZ
from qxub.remote.target import RsyncRoute

if TYPE_CHECKING:
    from qxub.spawn import Spawned

REFUSED = 99  # the check refused: nothing was written (the script says `qxub-guard: why`)
NOT_WRITTEN = 98  # something else stopped it before the first file was renamed into place
GUARD = "qxub-guard:"


@record(frozen=True)
class DeltaItem:
    """One path to put in place: `allowed` are the states (`kind size seconds`, as find
    prints them) the copy there may be in to be replaced (or it may be missing);
    `executable`: the execute bits here (regular files)."""

    path: str
    allowed: tuple[str, ...]
    executable: bool


def delta_push_script(
    path: str, marker: str, owner_prefix: str, items: Sequence[DeltaItem], stage: str
) -> list[str]:
    """The script: refuse (exit 99, `qxub-guard:` on stderr) unless the mirror at `path` is
    there with a marker starting with `owner_prefix` and every item is missing or in an
    allowed state; then unpack the rest of stdin (a tar stream of the items under the
    folder `stage`, new for this push and not there yet: the stream creates it, so no
    `mktemp` runs there) and rename each item into place. Exit 98 when nothing was put in
    place for another reason. The items themselves come first on stdin, as `delta_input`
    writes them."""
    refuse = 'echo "' + GUARD + ' {}" >&2; exit ' + str(REFUSED)
    stop = f"exit {NOT_WRITTEN}"
    s = shlex.quote(f"./{stage}")
    return [
        f"cd -- {shlex.quote(path)} 2>/dev/null || {{ {refuse.format('no mirror')}; }}",
        # The marker's start, read by bash itself (no process to start).
        f"__m=; IFS= read -r -d '' -n 4096 __m < {shlex.quote(marker)} 2>/dev/null",
        'case "$__m" in',
        f"  {shlex.quote(owner_prefix)}*) ;;",
        f"  *) {refuse.format('marker')};;",
        "esac",
        # The items, read from stdin by bash itself, a byte at a time from the pipe: the
        # tar stream after them is left whole for tar.
        "__n=0",
        f'while [ "$__n" -lt {len(items)} ]; do',
        "  { IFS= read -r -d '' __p && IFS= read -r -d '' __a && IFS= read -r -d '' __b"
        f" && IFS= read -r -d '' __x; }} || {stop}",
        f"  __g=$({FIND_TZ} find \"$__p\" -maxdepth 0 -printf '%y %s %Ts %m' 2>/dev/null)",
        "  __k=${__g% *}",
        '  [ -z "$__g" ] || [ "$__k" = "$__a" ] || [ "$__k" = "$__b" ] || '
        f"{{ {refuse.format('changed there')}; }}",
        "  __P[__n]=$__p; __X[__n]=$__x; __M[__n]=${__g:+${__g##* }}; __K[__n]=${__g%% *}",
        "  __n=$((__n + 1))",
        "done",
        f"__s={s}",
        f'{{ [ -e "$__s" ] || [ -L "$__s" ]; }} && {stop}',
        "trap 'rm -rf -- \"$__s\"' EXIT",
        "trap 'exit 1' HUP INT TERM PIPE",
        f"tar -x -f - --no-same-owner --no-same-permissions 2>/dev/null || {stop}",
        "__i=0",
        'while [ "$__i" -lt "$__n" ]; do',
        '  [ -e "$__s/${__P[__i]}" ] || [ -L "$__s/${__P[__i]}" ] || ' + stop,
        "  __i=$((__i + 1))",
        "done",
        # A failure before the first rename leaves the mirror as it was.
        f'__fail() {{ [ "$__i" = 0 ] && {stop}; exit 1; }}',
        "__i=0",
        'while [ "$__i" -lt "$__n" ]; do',
        '  __p=${__P[__i]}; __t="$__s/$__p"',
        # A file that replaces a file there keeps that one's permission bits (rsync -E).
        '  if [ "${__K[__i]}" = f ] && [ -f "$__t" ] && [ ! -L "$__t" ]; then',
        "    __m=$((8#${__M[__i]}))",
        '    if [ "${__X[__i]}" = 0 ]; then __m=$((__m & ~0111))',
        "    elif [ $((__m & 0111)) = 0 ]; then __m=$((__m | ((__m & 0444) >> 2))); fi",
        '    printf -v __o %o "$__m"',  # no subshell
        '    chmod "$__o" -- "$__t" || __fail',
        "  fi",
        '  case $__p in ./*/*) [ -d "${__p%/*}" ] || mkdir -p -- "${__p%/*}" || __fail;; esac',
        '  mv -f -T -- "$__t" "$__p" || __fail',
        "  __i=$((__i + 1))",
        "done",
        "exit 0",
    ]


def delta_input(items: Sequence[DeltaItem], stream: bytes) -> bytes:
    """What the script reads on its stdin: each item as four NUL-ended fields (its path as
    `./PATH`, the two allowed states, `1` or `0` for its execute bits), then `stream`."""
    raw = bytearray()
    for item in items:
        fields = [f"./{item.path}", *item.allowed[:2], *([""] * (2 - len(item.allowed[:2])))]
        fields.append("1" if item.executable else "0")
        for field in fields:
            raw += os.fsencode(field) + b"\0"
    return bytes(raw) + stream


def session_argv(route: RsyncRoute) -> list[str]:
    """The ssh command line of a small push: a session whose bash reads its script on stdin
    (qxub.remote.warm), where rsync would run (`route`: the remote's master connection, or
    its data mover's). The same every time, so that the next push can open it ahead."""
    assert route.rsh is not None and route.prefix.endswith(":")
    return [*shlex.split(route.rsh), "-T", route.prefix[:-1], warm.WARM_COMMAND]


def session_input(script_lines: Sequence[str], stream: bytes) -> bytes:
    """What the session reads: the script, whole before any of it runs (warm.script_input),
    then `stream` (`delta_input`'s), which bash leaves on its stdin for the script. Should the
    script ever end without `exit`, bash exits rather than read the stream as commands."""
    script = warm.script_input(script_lines)
    return script[: -len(b"\n")] + b"; exit 1\n" + stream


def run_delta_push(
    route: RsyncRoute,
    script_lines: Sequence[str],
    stream: bytes,
    *,
    timeout: float,
    meanwhile: Callable[[], object] = lambda: None,
) -> tuple[int, str]:
    """Run the script in a session of `session_argv(route)` (the one opened ahead by
    qxub.remote.warm_push when it runs exactly that, else a new one), with `stream`
    (`delta_input`'s) after it on its stdin; it dies with qxub. `meanwhile` runs here while
    the remote side starts. Its exit code and stderr."""
    argv = session_argv(route)
    data = session_input(script_lines, stream)
    process = warm_push.take(argv)
    if process is not None:
        return _exchange(process, data, timeout, meanwhile)
    try:
        started = proc.start(
            argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, die_with_parent=True
        )
    except FileNotFoundError:
        raise QxubError(
            f"{argv[0]}: command not found", hint="install OpenSSH, or set sync_engine: sftp"
        ) from None
    try:
        meanwhile()
        _, err = started.communicate(data, timeout=timeout)
    except BaseException:
        started.kill()
        started.wait()
        raise
    return started.returncode, err.decode(errors="replace")


def _exchange(
    process: Spawned, data: bytes, timeout: float, meanwhile: Callable[[], object]
) -> tuple[int, str]:
    """`communicate` for a session opened ahead: `data` written (then stdin closed), stdout
    drained and stderr read, each in a thread; a TimeoutExpired after `timeout` seconds."""
    import threading
    import time

    said: list[bytes] = []

    def write() -> None:
        assert process.stdin is not None
        with contextlib.suppress(OSError):  # ssh ended: its exit code says why
            process.stdin.write(data)
        with contextlib.suppress(OSError):
            process.stdin.close()

    def drain() -> None:
        assert process.stdout is not None
        with contextlib.suppress(OSError, ValueError):
            while process.stdout.read(65536):
                pass

    def read_stderr() -> None:
        assert process.stderr is not None
        with contextlib.suppress(OSError, ValueError):
            said.append(process.stderr.read())

    helpers = [threading.Thread(target=call, daemon=True) for call in (write, drain, read_stderr)]
    deadline = time.monotonic() + timeout
    try:
        for helper in helpers:
            helper.start()
        meanwhile()
        for helper in helpers:
            helper.join(max(0.0, deadline - time.monotonic()))
            if helper.is_alive():
                raise subprocess.TimeoutExpired(process.args, timeout)
        code = process.wait(max(0.0, deadline - time.monotonic()))
    except BaseException:
        process.kill()
        process.wait()
        raise
    return code, b"".join(said).decode(errors="replace")
