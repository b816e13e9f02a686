"""`qxub remote push`'s work, apart from its options (qxub.cli.remote_cmd declares them with
click). The everyday `qxub remote push NAME [-q] [-v] [--full]` comes here from entry.py
without click: importing it, and the CLI's parsing, cost about a tenth of a push that sends
one file. Every other form (--dry-run, --force, no NAME, --help, anything unknown) goes
through click as before."""

from __future__ import annotations

import sys
from pathlib import Path

from qxub.cli.configured import cli_config, remote_path
from qxub.cli.outcome import finish, sayer
from qxub.remote import warm_list

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import NoReturn

# The words click counts for -v and reads as -q: the same meaning here.
_VERBOSE = {"-v": 1, "--verbose": 1, "-vv": 2, "-vvv": 3}
_QUIET = ("-q", "--quiet")


def run_push(
    name: str | None,
    *,
    dry_run: bool = False,
    verbose: int = 0,
    quiet: bool = False,
    full: bool = False,
    force: bool = False,
) -> int:
    """Push this project to the remote `name` (default: default_remote), saying the summary
    line unless `quiet`. Exit code 1 when a file that changed there was left as it is."""
    from qxub.mirroring.push import push, start_selection
    from qxub.remote.config import find_remote

    if not dry_run:
        start_selection(Path.cwd())  # git lists the project while the config is read
    config = cli_config()
    remote = find_remote(config, name)
    result = push(
        remote,
        Path.cwd(),
        remote_path(config),
        sayer(quiet),
        dry_run=dry_run,
        verbose=verbose,
        progress=sys.stderr.isatty() and not quiet,
        full=full,
        force=force,
    )
    return 1 if result.conflicts and not dry_run else 0


def main(args: Sequence[str]) -> NoReturn:
    """Run `qxub <args>`, a `remote push NAME` with only -q, -v and --full beside NAME
    (warm_list.push_words), and exit as every command does."""
    found = warm_list.push_words(args)
    assert found is not None
    name, full = found
    words = args[2:]
    verbose = sum(_VERBOSE.get(word, 0) for word in words)
    quiet = any(word in _QUIET for word in words)
    finish(lambda: run_push(name, verbose=verbose, quiet=quiet, full=full))
