"""`qxub _await`: the cluster's end of a session opened ahead (qxub.remote.warm).

The laptop opens the session of `qxub exec --remote NAME` at its start, from what the last
run to NAME sent first: the preamble (exports, conda), the mirror's folder in `ROOT_ENV`, and
`exec qxub _await`. So Python starts and imports the exec command there while the laptop
still imports, reads its config and works out the command. Then:

1. this says `READY` on stdout at once (the laptop reads it before anything else: a qxub too
   old to know `_await` never says it, and the laptop runs the whole script in a new session
   instead);
2. it imports what `qxub exec` needs to submit a job here (its words in plain form need no
   click: qxub.cli.exec_run);
3. it reads its stdin to the end: the payload (qxub.remote.handover), which the laptop writes
   only if it would have sent this very preamble; an empty stdin (the laptop did not take the
   session) ends it with nothing done;
4. it enters the mirror of where the user stands, as the shell script does (creating it, and
   saying so, if need be; exit 97 if it cannot), and runs `qxub <words>` there.
"""

from __future__ import annotations

import os
import sys

from qxub.remote.handover import EXIT_NO_DIR, READY, ROOT_ENV, parse

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from typing import NoReturn


def main() -> NoReturn:
    os.write(1, READY)
    # Imported while the laptop works out what to send: `exec` in plain words, and what it
    # runs here when it starts.
    import qxub.execute  # noqa: F401
    from qxub.cli import exec_run

    found = parse(sys.stdin.buffer.read())
    if found is None:
        sys.exit(0)
    sub, words = found
    _enter(os.environ.pop(ROOT_ENV, ""), sub)
    sys.argv[1:] = words
    if words[:1] == ["exec"]:
        exec_run.main(words[1:])  # ends here, unless the words are for click
    from qxub.cli.main import main as run_qxub

    run_qxub()


def _enter(root: str, sub: str) -> None:
    """cd into the mirror of where the user stands, creating it (and saying so) if need be,
    as qxub.remote.scripts.enter_mirror does in the shell; PWD follows, as a shell's cd."""
    where = root if sub == "." else f"{root}/{sub}"
    if not os.path.isdir(where):
        try:
            os.makedirs(where, exist_ok=True)
        except OSError as exc:
            print(f"qxub: cannot create {where}: {exc.strerror}", file=sys.stderr)
            sys.exit(EXIT_NO_DIR)
        import socket

        print(
            f"qxub: created {where} on {socket.gethostname()}; it is empty until the project"
            " is copied there",
            file=sys.stderr,
        )
    try:
        os.chdir(where)
    except OSError as exc:
        print(f"qxub: cannot enter {where}: {exc.strerror}", file=sys.stderr)
        sys.exit(EXIT_NO_DIR)
    os.environ["PWD"] = os.path.normpath(os.path.join(os.environ.get("PWD", "/"), where))
