"""`qxub exec [OPTIONS] -- COMMAND [ARGS]...`"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NoReturn

import click

from qxub import protocol
from qxub.cli.configured import cli_config, options_as_typed, with_config_defaults
from qxub.cli.exec_options import SectionedCommand, exec_options, forwarded_words
from qxub.errors import UsageError
from qxub.leaving import end_now
from qxub.remote.handover import ABSENT_ENV

EXEC_CONTEXT = {
    # Everything after the command's first word belongs to the command, dashes included.
    "allow_interspersed_args": False,
    "help_option_names": ["-h", "--help"],
}


@click.command(
    "exec",
    cls=SectionedCommand,
    context_settings=EXEC_CONTEXT,
    epilog="Everything after `--` is the command, passed on word for word.",
)
@exec_options
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def exec_command(ctx: click.Context, /, **_: Any) -> None:
    """Run COMMAND as a batch job, stream its output and exit with its exit code."""
    protocol.hello()
    options = options_as_typed(ctx)
    config = cli_config(options.config_file)
    if not options.command and not options.interactive:
        raise UsageError(
            "no command given", hint="put the command after `--`, e.g. qxub exec -- python3 run.py"
        )
    if options.remote:
        from qxub.mirroring.run import run_remote_job
        from qxub.remote.config import find_remote

        remote = find_remote(config, options.remote)
        # Forwarded: what was typed here, then the remote's defaults (never this config's).
        words = [*forwarded_words(ctx, remote.defaults), "--", *options.command]
        found = config.lookup("remote_path")
        remote_path = str(found[0]) if found else None
        leave_now(run_remote_job(remote, options, words, Path.cwd(), remote_path))
    options = with_config_defaults(ctx, options, config)
    if options.interactive:
        from qxub.interactive.run import run_interactive

        ctx.exit(run_interactive(options, Path.cwd()))
    from qxub.execute import run_exec

    ctx.exit(run_exec(options, _standing(options.dry)))


def _standing(dry: bool) -> Path:
    """Where the job is run from: here, or for a --dry run sent by a laptop to a mirror
    folder that does not exist yet, that folder (the remote script did not make it)."""
    absent = os.environ.pop(ABSENT_ENV, None)
    if absent and dry:
        return Path(os.path.abspath(absent))
    return Path.cwd()


def leave_now(code: int) -> NoReturn:
    """End the laptop's side of a remote run at once (qxub.leaving), whatever threads still
    run: one may be blocked reading the terminal for the job's stdin."""
    end_now(code)
