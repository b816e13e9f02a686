"""Progress of a push or a pull on a terminal: files n/N, bytes x/Y, rate and time left,
redrawn on one line of stderr from the engine's counts (both engines report each file as it
is done)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from qxub.job.resources import format_duration, format_size_human
from qxub.sync.engine import Transfer


def progress_line(transfer: Transfer, total_files: int, total_bytes: int, verb: str) -> str:
    done = transfer.sent_bytes
    rate = done / transfer.elapsed if transfer.elapsed > 0 else 0.0
    line = (
        f"qxub: {verb} {len(transfer.sent)}/{total_files} files, "
        f"{format_size_human(done)}/{format_size_human(total_bytes)}"
    )
    if rate > 0:
        line += f", {format_size_human(rate)}/s"
        left = max(0, total_bytes - done) / rate
        line += f", {format_duration(left)} left"
    if transfer.deleted:
        line += f", deleted {len(transfer.deleted)}"
    return line


def meter(
    total_files: int, total_bytes: int, verb: str, out: TextIO | None = None
) -> Callable[[Transfer], None]:
    """A progress callback that redraws its line on `out` (stderr)."""
    stream = out or sys.stderr

    def show(transfer: Transfer) -> None:
        stream.write("\r\x1b[K" + progress_line(transfer, total_files, total_bytes, verb))
        stream.flush()

    return show


def clear(out: TextIO | None = None) -> None:
    stream = out or sys.stderr
    stream.write("\r\x1b[K")
    stream.flush()
