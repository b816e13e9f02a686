"""The `qxub` entry point: the command group and the one error handler."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from qxub import __version__
from qxub.cli.outcome import finish

# Each command's module is imported only when that command runs, so `qxub --help` and every
# command stay quick. The short help is kept here; a test checks it against the command's own.
SHORT_HELP_LIMIT = 70
COMMANDS: dict[str, tuple[str, str]] = {
    "exec": (
        "qxub.cli.exec_cmd:exec_command",
        "Run COMMAND as a batch job, stream its output and exit with its...",
    ),
    "wait": (
        "qxub.cli.jobs_cmd:wait_command",
        "Follow a job submitted earlier and exit with its exit code.",
    ),
    "status": (
        "qxub.cli.jobs_cmd:status_command",
        "Show the state of jobs (default: the most recent ones).",
    ),
    "cancel": (
        "qxub.cli.jobs_cmd:cancel_command",
        "Cancel jobs by id.",
    ),
    "forward": (
        "qxub.cli.forward_cmd:forward_command",
        "Reach PORT of a running job at localhost:LOCAL, until it ends.",
    ),
    "node": (
        "qxub.cli.forward_cmd:node_command",
        "Print the node a running job runs on.",
    ),
    "jobs": (
        "qxub.cli.jobs_cmd:jobs_group",
        "Job folders: each job's record, script and logs, kept in jobs_dir.",
    ),
    "remote": (
        "qxub.cli.remote_cmd:remote_group",
        "Remotes: the machines `qxub exec --remote NAME` runs jobs on.",
    ),
    "platform": (
        "qxub.cli.platform_cmd:platform_group",
        "Cluster definitions: queues, limits and what jobs cost.",
    ),
    "config": (
        "qxub.cli.config_cmd:config_group",
        "Read and change qxub's configuration files.",
    ),
    "info": (
        "qxub.cli.info_cmd:info_command",
        "What qxub finds on this machine: version, platform, scheduler.",
    ),
    "completion": (
        "qxub.cli.completion:completion_command",
        "Print the shell completion script for SHELL (bash, zsh or fish).",
    ),
}


def load_command(name: str) -> click.Command:
    module, _, attr = COMMANDS[name][0].partition(":")
    command = getattr(importlib.import_module(module), attr)
    assert isinstance(command, click.Command)
    return command


class LazyGroup(click.Group):
    """A group whose commands are imported when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name) if cmd_name in COMMANDS else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short) in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qxub")
def cli() -> None:
    """Run HPC batch jobs as if they were local.

    \b
    qxub exec -- python3 train.py                  run it as a job here, stream its output
    qxub exec --mem 16GB --cpus 4 -- ...           ask for resources
    qxub exec --remote gadi --sync --pull out/ -- ...  on a cluster, from your laptop
    qxub status                                    recent jobs
    """


def run(command: Callable[..., Any], args: list[str] | None = None, prog: str = "qxub") -> NoReturn:
    """Run a click command with qxub's error handling (qxub.cli.outcome); never returns."""

    def call() -> object:
        try:
            return command.main(args=args, prog_name=prog, standalone_mode=False)  # type: ignore[attr-defined]
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            raise KeyboardInterrupt from None

    # Without standalone mode, click returns the code of ctx.exit() instead of exiting.
    finish(call)


def main() -> NoReturn:
    run(cli)


def qx_main() -> NoReturn:
    """`qx` is `qxub exec` (with `--version`)."""
    command = click.version_option(__version__, prog_name="qx")(load_command("exec"))
    run(command, prog="qx")
