"""`qxub exec [OPTIONS] -- COMMAND [ARGS]...`"""

from __future__ import annotations

from functools import partial
from typing import Any

import click

from qxub import protocol
from qxub.cli.configured import options_as_typed
from qxub.cli.exec_options import SectionedCommand, exec_options, forwarded_words, typed_names
from qxub.cli.exec_run import run_command

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
    ctx.exit(run_command(options, typed_names(ctx), partial(forwarded_words, ctx)))
