"""The laptop's side of `qxub exec --remote`: push, run in the mirror, pull."""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qxub.errors import EXIT_INTERRUPTED
from qxub.execute import Streams
from qxub.mirroring.place import mirror_place
from qxub.project import find_project_root
from qxub.remote.config import Remote
from qxub.remote.executor import (
    EXIT_CONNECTION_LOST,
    RemoteQxubMissing,
    RemoteRun,
    RemoteVersionError,
)
from qxub.remote.reach import transport_for
from qxub.remote.scripts import exec_script, subdir

if TYPE_CHECKING:
    from qxub.options import ExecOptions


def remote_exec_script(
    remote: Remote, words: Sequence[str], cwd: Path, remote_path: str | None
) -> list[str]:
    place = mirror_place(remote, find_project_root(cwd), remote_path)
    return exec_script(remote, place.word, subdir(cwd), words)


def run_remote_exec(
    remote: Remote,
    words: Sequence[str],
    cwd: Path,
    remote_path: str | None,
    *,
    quiet: bool,
    verbose: int,
) -> int:
    """Run `qxub exec <words>` in the remote mirror of `cwd`; return the job's exit code."""
    streams = Streams.standard(quiet)
    script = remote_exec_script(remote, words, cwd, remote_path)
    if verbose:
        streams.status(f"on {remote.name} ({remote.url}): {shlex.join(['qxub', 'exec', *words])}")
    transport = transport_for(remote)
    try:
        return RemoteRun(remote, transport, script, streams).run()
    except (RemoteVersionError, RemoteQxubMissing):
        if not remote.auto_install:
            raise
    # The remote qxub stopped before doing anything: install this one (auto_install), again.
    from qxub.mirroring.install import install, record_command

    installed = install(remote, transport, streams.status)
    record_command(remote, installed.command)
    streams.status(f"qxub_command of {remote.name} is now {installed.command}")
    remote = dataclasses.replace(remote, qxub_command=(installed.command,))
    script = remote_exec_script(remote, words, cwd, remote_path)
    return RemoteRun(remote, transport, script, streams).run()


def run_remote_job(
    remote: Remote,
    options: ExecOptions,
    words: Sequence[str],
    cwd: Path,
    remote_path: str | None,
) -> int:
    """`qxub exec --remote`: push (with --sync, else the remote's sync.auto), run `qxub exec
    <words>` there, then pull --pull paths whatever the job's exit code."""
    sync = remote.sync_auto if options.sync is None else options.sync
    pulls, quiet, verbose = options.pull, options.silent, options.verbose
    streams = Streams.standard(quiet)
    if pulls:  # refuse a bad path before the job runs, not after
        from qxub.sync.pull import project_paths

        project_paths(pulls, find_project_root(cwd), cwd)
    if sync:
        from qxub.mirroring.push import push

        push(remote, cwd, remote_path, streams.status, verbose=max(0, verbose - 1))
    code = run_remote_exec(remote, words, cwd, remote_path, quiet=quiet, verbose=verbose)
    if pulls and code not in (EXIT_CONNECTION_LOST, EXIT_INTERRUPTED):
        from qxub.mirroring.pull import pull

        result = pull(remote, cwd, remote_path, pulls, streams.status, verbose=max(0, verbose - 1))
        if result.conflicts:
            streams.status("some files were not overwritten; see above")
    return code
