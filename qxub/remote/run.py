"""The laptop's side of `qxub exec --remote` and `qxub wait|status|cancel --remote`."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from qxub.execute import Streams
from qxub.remote.commands import exec_script, mirror_path, qxub_script
from qxub.remote.config import Remote
from qxub.remote.executor import RemoteRun
from qxub.remote.transport import transport_for


def run_remote_exec(
    remote: Remote, words: Sequence[str], cwd: Path, *, quiet: bool, verbose: int
) -> int:
    """Run `qxub exec <words>` in the remote mirror of `cwd`; return the job's exit code."""
    streams = Streams.standard(quiet)
    script = exec_script(remote, mirror_path(cwd), words)
    if verbose:
        streams.status(f"on {remote.name} ({remote.url}): {shlex.join(['qxub', 'exec', *words])}")
    return RemoteRun(remote, transport_for(remote), script, streams).run()


def run_remote_qxub(remote: Remote, words: Sequence[str], *, quiet: bool = False) -> int:
    """Run another qxub command (wait, status, cancel) on the remote, streamed."""
    streams = Streams.standard(quiet)
    return RemoteRun(remote, transport_for(remote), qxub_script(remote, words), streams).run()
