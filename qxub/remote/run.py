"""`qxub status|cancel --remote`: another qxub command run on the remote, streamed."""

from __future__ import annotations

from collections.abc import Sequence

from qxub.remote.config import Remote
from qxub.remote.executor import RemoteRun
from qxub.remote.reach import transport_for
from qxub.remote.scripts import qxub_script
from qxub.streams import Streams


def run_remote_qxub(remote: Remote, words: Sequence[str], *, quiet: bool = False) -> int:
    """Run another qxub command (status, cancel) on the remote, streamed."""
    streams = Streams.standard(quiet)
    script = qxub_script(remote, words)
    return RemoteRun(remote, transport_for(remote), script, streams, expect_follow=False).run()
