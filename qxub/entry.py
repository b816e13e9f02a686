"""The programs `qxub` and `qx`: open the remote session of an `exec --remote` ahead
(qxub.remote.warm), start a full `remote push`'s listing of the mirror (qxub.remote.warm_list),
or look whether a `remote push` will need a session (qxub.remote.warm_push), then import the
CLI, which takes its time, and run it (a plain `remote push NAME` runs without it:
qxub.cli.push_run; nor does an `exec` in plain words: qxub.cli.exec_run). On the cluster,
`qxub _await` is the other end of such a session (qxub.awaited)."""

from __future__ import annotations

import sys

from qxub.remote import warm, warm_list, warm_push
from qxub.remote.handover import WORD

TYPE_CHECKING = False  # as typing's, without importing typing (10 ms before the session)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NoReturn


def main() -> NoReturn:
    _ending(_main)


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
    if sys.argv[1:2] == ["exec"]:
        from qxub.cli import exec_run  # `exec [OPTIONS] -- COMMAND` in plain words: no click

        exec_run.main(sys.argv[2:])
    from qxub.cli.main import main as run_qxub

    run_qxub()


def qx_main() -> NoReturn:
    """`qx` is `qxub exec`."""
    warm.open_ahead(["exec", *sys.argv[1:]])
    _ending(_qx_main)


def _qx_main() -> NoReturn:
    from qxub.cli import exec_run  # `qx [OPTIONS] -- COMMAND` in plain words: no click

    exec_run.main(sys.argv[1:])
    from qxub.cli.main import qx_main as run_qx

    run_qx()


def _ending(run: Callable[[], NoReturn]) -> NoReturn:
    """Run the program `run`, and end as it exits: at once where that is safe
    (qxub.leaving.end_at_once), else the usual way."""
    try:
        run()
    except SystemExit as done:
        from qxub.leaving import end_at_once

        end_at_once(done)
        raise
