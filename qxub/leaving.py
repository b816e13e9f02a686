"""Ending the process at once, once what Python's teardown does that counts is done: the
atexit functions run (sessions and listings opened ahead end there, weakref finalizers remove
temporary folders) and stdout and stderr are flushed. The teardown itself, freeing every
module and object, does nothing a process that ends needs, and costs 10-15 ms at the end of
a push of 14,000 files or of an `exec --remote`."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from typing import NoReturn


def wind_up() -> bool:
    """Run the atexit functions (which forgets them: an exit the usual way after this does
    not run them again), then flush stdout and stderr; whether the flushes went through (not
    with a closed pipe)."""
    import atexit

    atexit._run_exitfuncs()
    flushed = True
    for stream in (sys.stdout, sys.stderr):
        if stream is None:
            continue
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe, or a closed stream
            flushed = False
    return flushed


def end_at_once(done: SystemExit) -> None:
    """End the process now with `done`'s code, as Python would after its teardown. Returns
    (the caller exits the usual way) when a thread that is not a daemon still runs (Python
    waits for it), when `done` carries a message, or when a flush fails (a closed pipe: the
    usual way reports it)."""
    code = 0 if done.code is None else done.code
    if not isinstance(code, int):
        return
    threading = sys.modules.get("threading")
    if threading is not None:
        main_thread = threading.main_thread()
        if any(t is not main_thread and not t.daemon for t in threading.enumerate()):
            return
    if wind_up():
        os._exit(code)


def end_now(code: int) -> NoReturn:
    """`wind_up`, then end with `code`, whatever threads still run and whether or not the
    flushes went through."""
    wind_up()
    os._exit(code)
