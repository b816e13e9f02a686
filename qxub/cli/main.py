"""The `qxub` entry point: the command group and the one error handler."""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

import click

from qxub import __version__
from qxub.cli.config_cmd import config_group
from qxub.cli.exec_cmd import exec_command
from qxub.cli.info_cmd import info_command
from qxub.cli.jobs_cmd import cancel_command, status_command, wait_command
from qxub.cli.platform_cmd import platform_group
from qxub.cli.remote_cmd import remote_group
from qxub.errors import QxubError
from qxub.state import state_home

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qxub")
def cli() -> None:
    """Run HPC batch jobs as if they were local.

    \b
    qxub exec -- python3 train.py         run it as a job, stream its output
    qxub exec --mem 16GB --cpus 4 -- ...  ask for resources
    qxub status                           recent jobs
    """


cli.add_command(exec_command)
cli.add_command(wait_command)
cli.add_command(status_command)
cli.add_command(cancel_command)
cli.add_command(config_group)
cli.add_command(platform_group)
cli.add_command(remote_group)
cli.add_command(info_command)


def _say_error(message: str, hint: str | None) -> None:
    click.echo(f"qxub: error: {message}", err=True)
    if hint:
        for line in hint.splitlines():
            click.echo(f"  {line}", err=True)


def _report_bug(exc: BaseException) -> int:
    log = state_home() / "crash.log"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as handle:
            handle.write(f"--- qxub {__version__} {time.ctime()} argv={sys.argv!r}\n")
            handle.write("".join(traceback.format_exception(exc)))
        where = f"the traceback is in {log}"
    except OSError:
        where = "the traceback could not be saved"
    _say_error(
        f"internal error: {type(exc).__name__}: {exc}",
        f"this is a bug in qxub; {where}. Please report it with that file.",
    )
    return EXIT_BUG


def run(command: Callable[..., Any], args: list[str] | None = None, prog: str = "qxub") -> NoReturn:
    """Run a click command with qxub's error handling; never returns."""
    try:
        code = command.main(args=args, prog_name=prog, standalone_mode=False)  # type: ignore[attr-defined]
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("qxub: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except QxubError as exc:
        _say_error(exc.message, exc.hint)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("qxub: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        sys.exit(EXIT_ERROR)
    except SystemExit:
        raise
    except Exception as exc:
        sys.exit(_report_bug(exc))
    # Without standalone mode, click returns the code of ctx.exit() instead of exiting.
    sys.exit(code if isinstance(code, int) else 0)


def main() -> NoReturn:
    run(cli)


def qx_main() -> NoReturn:
    """`qx` is `qxub exec`."""
    run(exec_command, prog="qx")
