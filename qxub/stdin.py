"""The job's stdin: what was piped into `qxub exec`, staged as a file beside the job's logs
before it is submitted (a batch job starts later, elsewhere, with no pipe to read).

Only data is taken: a pipe, a socket or a redirected file. A terminal is never read (the
job gets no stdin, as a batch job always has), nor is a device such as /dev/null, nor a
closed stdin (a CI runner may start qxub with none at all).
"""

from __future__ import annotations

import os
import select
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from typing import IO, Any

CHUNK = 1 << 20
# Said once when a pipe has not ended after this long: a pipe that is never closed (a loop's
# `while read`, a CI runner's open stdin) would otherwise hang qxub without a word.
SLOW_NOTICE = 2.0


def piped_fd(stream: IO[Any] | None = None) -> int | None:
    """The file descriptor of stdin (or `stream`) when it carries data for the job: a pipe,
    a socket or a regular file; None for a terminal, a device, a closed or an unreal stream."""
    stream = sys.stdin if stream is None else stream
    if stream is None:
        return None
    try:
        fd = stream.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError):
        return None
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISREG(mode):
        return fd
    return None


def stage(
    fd: int,
    dest: Path,
    status: Callable[[str], None],
    *,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Copy everything from `fd` to `dest` (created 0600); return the number of bytes."""
    started = clock()
    said = False
    total = 0
    out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        while True:
            if not said:
                left = SLOW_NOTICE - (clock() - started)
                ready, _, _ = select.select([fd], [], [], max(0.0, left))
                if not ready:
                    said = True
                    status(
                        "waiting for the end of stdin, which the job gets as its stdin "
                        "(if it needs none, run qxub with `< /dev/null`)"
                    )
                    continue
            data = os.read(fd, CHUNK)
            if not data:
                return total
            view = memoryview(data)
            while view:
                view = view[os.write(out, view) :]
            total += len(data)
    finally:
        os.close(out)
