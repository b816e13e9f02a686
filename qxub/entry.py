"""The programs `qxub` and `qx`: open the remote session of an `exec --remote` ahead
(qxub.remote.warm), start a full `remote push`'s listing of the mirror (qxub.remote.warm_list),
or look whether a `remote push` will need a session (qxub.remote.warm_push), then import the
CLI, which takes its time, and run it (a plain `remote push NAME` runs without it:
qxub.cli.push_run). On the cluster,
`qxub _await` is the other end of such a session (qxub.awaited)."""

from __future__ import annotations

import os
import sys

from qxub.remote import warm, warm_list, warm_push
from qxub.remote.handover import WORD

TYPE_CHECKING = False  # as typing's, without importing typing (10 ms before the session)
if TYPE_CHECKING:
    from typing import NoReturn


def main() -> NoReturn:
    try:
        _main()
    except SystemExit as done:
        _leave(done)
        raise


def _main() -> NoReturn:
    if sys.argv[1:2] == [WORD]:
        from qxub import awaited

        awaited.main()  # the cluster's end of a session opened ahead
    warm.open_ahead(sys.argv[1:])
    warm_list.open_ahead(sys.argv[1:])
    warm_push.open_ahead(sys.argv[1:])
    if warm_list.push_words(sys.argv[1:]) is not None:
        from qxub.cli import push_run  # `remote push NAME [-q] [-v] [--full]`: no click

        push_run.main(sys.argv[1:])
    from qxub.cli.main import main as run_qxub

    run_qxub()


def qx_main() -> NoReturn:
    """`qx` is `qxub exec`."""
    warm.open_ahead(["exec", *sys.argv[1:]])
    from qxub.cli.main import qx_main as run_qx

    try:
        run_qx()
    except SystemExit as done:
        _leave(done)
        raise


def _leave(done: SystemExit) -> None:
    """End the process now with `done`'s code (qxub.leaving), as Python would after its
    teardown. It returns (the caller exits the usual way) when a thread that is not a daemon
    still runs (Python waits for it), when `done` carries a message, or when a flush fails
    (a closed pipe: the usual way reports it)."""
    code = 0 if done.code is None else done.code
    if not isinstance(code, int):
        return
    threading = sys.modules.get("threading")
    if threading is not None:
        main_thread = threading.main_thread()
        if any(t is not main_thread and not t.daemon for t in threading.enumerate()):
            return
    from qxub.leaving import wind_up

    if wind_up():
        os._exit(code)
