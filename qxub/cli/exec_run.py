"""`qxub exec [OPTIONS] -- COMMAND` without click, for the words qxub.cli.exec_words parses
(every other form goes through click: qxub.cli.exec_cmd), and what `qxub exec` does once its
options are read, whichever read them (`run_command`): on the laptop (`--remote`), on a login
node, and as the remote end of a laptop's run (qxub.awaited)."""

from __future__ import annotations

import os
from pathlib import Path

from qxub.cli.exec_words import forwarded, parse, typed_words
from qxub.options import ExecOptions

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Sequence
    from typing import Any


def main(args: Sequence[str]) -> None:
    """Run `qxub exec <args>` when this parse takes them; else return (click parses them)."""
    parsed = parse(args)
    if parsed is None:
        return
    values, typed = parsed
    from qxub.cli.outcome import finish

    finish(lambda: _run(values, typed))


def _run(values: dict[str, Any], typed: Sequence[str]) -> int:
    """What exec_command does (qxub.cli.exec_cmd), for options read by exec_words."""
    from qxub import protocol

    protocol.hello()
    as_typed = tuple(typed_words(values, typed, frozenset({"config_file"})))
    options = ExecOptions(**values, typed=as_typed)
    return run_command(options, typed, lambda defaults: forwarded(values, typed, defaults))


def run_command(
    options: ExecOptions,
    typed: Collection[str],
    forward: Callable[[Iterable[tuple[str, Any]]], list[str]],
) -> int:
    """`qxub exec` with its options read (as typed: no config defaults yet; `typed`, the
    names of those typed), after the protocol's hello: run the job on a remote (`forward`
    gives the words sent there, from that remote's `defaults:`), or here."""
    from qxub.cli.configured import cli_config, remote_path, with_config_defaults
    from qxub.errors import UsageError

    config = cli_config(options.config_file)
    if not options.command and not options.interactive:
        raise UsageError(
            "no command given", hint="put the command after `--`, e.g. qxub exec -- python3 run.py"
        )
    if options.remote:
        from qxub.leaving import end_now
        from qxub.mirroring.run import run_remote_job
        from qxub.remote.config import find_remote

        remote = find_remote(config, options.remote)
        # Forwarded: what was typed here, then the remote's defaults (never this config's).
        words = [*forward(remote.defaults), "--", *options.command]
        # Ends at once, whatever threads still run: one may be blocked reading the terminal
        # for the job's stdin.
        end_now(run_remote_job(remote, options, words, Path.cwd(), remote_path(config)))
    options = with_config_defaults(typed, options, config)
    if options.interactive:
        from qxub.interactive.run import run_interactive

        return run_interactive(options, Path.cwd())
    from qxub.execute import run_exec

    return run_exec(options, _standing(options.dry))


def _standing(dry: bool) -> Path:
    """Where the job is run from: here, or for a --dry run sent by a laptop to a mirror
    folder that does not exist yet, that folder (the remote script did not make it)."""
    from qxub.remote.handover import ABSENT_ENV

    absent = os.environ.pop(ABSENT_ENV, None)
    if absent and dry:
        return Path(os.path.abspath(absent))
    return Path.cwd()
