"""Where a command's output goes: the job's bytes and qxub's own status lines (stderr), and
what happens when the reader of that output goes away. Light on purpose: the laptop's side of
`exec --remote` writes through it without importing anything about jobs."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable

from qxub.errors import EXIT_BROKEN_PIPE
from qxub.pipes import silence_stdout
from qxub.record import record

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from typing import BinaryIO, TextIO


@record(frozen=True)
class Streams:
    """Where output goes: the job's stdout/stderr as bytes, qxub's own text."""

    out: BinaryIO
    err: BinaryIO
    text_out: TextIO
    status: Callable[[str], None]

    @classmethod
    def standard(cls, quiet: bool) -> Streams:
        from qxub import protocol  # light: stdlib only

        framed = protocol.job_streams()
        if framed is not None:  # a remote qxub: everything goes to the laptop as frames
            out, err, say = framed
            return cls(out, err, sys.stdout, (lambda message: None) if quiet else say)

        def status(message: str) -> None:
            if not quiet:
                print(f"qxub: {message}", file=sys.stderr, flush=True)

        return cls(sys.stdout.buffer, sys.stderr.buffer, sys.stdout, status)


def reader_gone(job_id: str, remote: str | None = None) -> int:
    """What reads the job's output went away (`| head`): say, even with --quiet, that the job
    goes on and how to stop it, and exit as a local command that lost its reader (141)."""
    silence_stdout()
    where = f" on {remote}" if remote else ""
    on = f"--remote {remote} " if remote else ""
    with contextlib.suppress(OSError, ValueError):
        print(
            f"qxub: output closed by its reader; job {job_id} goes on{where} "
            f"(`qxub cancel {on}{job_id}` stops it, `qxub wait {on}{job_id}` shows it)",
            file=sys.stderr,
            flush=True,
        )
    return EXIT_BROKEN_PIPE
