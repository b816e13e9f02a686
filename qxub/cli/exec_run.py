"""`qxub exec --remote NAME [OPTIONS] -- COMMAND` on the laptop, without click: what
exec_command does for `--remote` (qxub.cli.exec_cmd), for the words qxub.cli.exec_words
parses; every other form of `qxub exec` goes through click."""

from __future__ import annotations

from qxub.cli.exec_words import forwarded, parse, typed_words
from qxub.options import ExecOptions

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, NoReturn


def main(args: Sequence[str]) -> None:
    """Run `qxub exec <args>` when it is an `exec --remote` this parse takes; else return
    (click parses it)."""
    parsed = parse(args)
    if parsed is None or not parsed[0].get("remote"):
        return
    values, typed = parsed
    from qxub.cli.outcome import finish

    finish(lambda: _run_remote(values, typed))


def _run_remote(values: dict[str, Any], typed: Sequence[str]) -> NoReturn:
    """What exec_command does for `--remote` (qxub.cli.exec_cmd)."""
    from pathlib import Path

    from qxub import protocol
    from qxub.cli.configured import cli_config, remote_path
    from qxub.leaving import end_now
    from qxub.mirroring.run import run_remote_job
    from qxub.remote.config import find_remote

    protocol.hello()
    as_typed = tuple(typed_words(values, typed, frozenset({"config_file"})))
    options = ExecOptions(**values, typed=as_typed)
    config = cli_config(options.config_file)
    remote = find_remote(config, options.remote)
    words = [*forwarded(values, typed, remote.defaults), "--", *options.command]
    end_now(run_remote_job(remote, options, words, Path.cwd(), remote_path(config)))
