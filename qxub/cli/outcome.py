"""How a command ends, the one error handler of every command: its exit code; or one line
(and a hint) for a QxubError; `qxub: interrupted` for Ctrl-C; quietly for a reader that went
away (`| head`); a bug's traceback saved, and where. Free of click, so that the push that
needs no click (qxub.cli.push_run) ends as the others do (qxub.cli.main adds click's own)."""

from __future__ import annotations

import sys

from qxub import __version__
from qxub.errors import EXIT_BROKEN_PIPE, EXIT_BUG, EXIT_INTERRUPTED, QxubError

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NoReturn


def to_stderr(line: str) -> None:
    """One line on stderr, flushed (as click.echo(err=True) writes it)."""
    stream = sys.stderr
    if stream is None:
        return
    stream.write(line + "\n")
    stream.flush()


def say_error(message: str, hint: str | None) -> None:
    to_stderr(f"qxub: error: {message}")
    if hint:
        for line in hint.splitlines():
            to_stderr(f"  {line}")


def sayer(quiet: bool) -> Callable[[str], None]:
    """What a command says as it goes (`qxub: ...` on stderr), nothing when `quiet`."""

    def say(message: str) -> None:
        if not quiet:
            to_stderr(f"qxub: {message}")

    return say


def report_bug(exc: BaseException) -> int:
    import time
    import traceback

    from qxub.state import state_home  # only when something broke

    log = state_home() / "crash.log"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as handle:
            handle.write(f"--- qxub {__version__} {time.ctime()} argv={sys.argv!r}\n")
            handle.write("".join(traceback.format_exception(exc)))
        where = f"the traceback is in {log}"
    except OSError:
        where = "the traceback could not be saved"
    say_error(
        f"internal error: {type(exc).__name__}: {exc}",
        f"this is a bug in qxub; {where}. Please report it with that file.",
    )
    return EXIT_BUG


def finish(call: Callable[[], object]) -> NoReturn:
    """Run the command `call`, then exit: with the code it returns (an int; else 0), or as
    the error it raised says."""
    try:
        code = call()
    except QxubError as exc:
        say_error(exc.message, exc.hint)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        to_stderr("qxub: interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        from qxub.pipes import silence_stdout

        silence_stdout()  # else the flush at exit fails once more, with a message
        sys.exit(EXIT_BROKEN_PIPE)
    except SystemExit:
        raise
    except Exception as exc:
        sys.exit(report_bug(exc))
    sys.exit(code if isinstance(code, int) else 0)
