"""How a push says what it did: its result, the conflicts with their fixes, the summary."""

from __future__ import annotations

import os
from collections.abc import Callable

from qxub.job.resources import format_duration, format_size_human
from qxub.record import field, record
from qxub.sync.engine import Transfer
from qxub.sync.entries import show

Say = Callable[[str], None]


@record
class PushResult:
    transfer: Transfer = field(default_factory=Transfer)
    selected: int = 0
    conflicts: list[str] = field(default_factory=list)  # changed there: not sent, not deleted
    changed_there: list[str] = field(default_factory=list)  # changed there only: to pull
    streamed: bool = False  # a first push sent as one tar stream (mirroring/stream.py)


def show_str(rel: str) -> str:
    return show(os.fsencode(rel))


def say_conflicts(name: str, conflicts: list[str], say: Say) -> None:
    for rel in conflicts:
        say(
            f"not sent: {show_str(rel)} changed on {name} since the last sync (a job wrote it?);"
            " it is left as it is there"
        )
    if conflicts:
        shown = show_str(conflicts[0]) if len(conflicts) == 1 else "PATH..."
        say(
            f"{len(conflicts)} conflict(s): bring the copy there home with "
            f"`qxub remote pull {name} {shown}` (add --keep-local to keep yours), "
            f"or overwrite it with `qxub remote push {name} --force`"
        )


def files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def push_summary(name: str, path: str, selected: int, transfer: Transfer) -> str:
    took = format_duration(transfer.elapsed)
    if not transfer.sent and not transfer.deleted:
        return f"{name}:{path} is up to date ({files(selected)}) [{took}]"
    size = format_size_human(transfer.sent_bytes)
    deleted = f", deleted {len(transfer.deleted)}" if transfer.deleted else ""
    return f"pushed {files(len(transfer.sent))} ({size}){deleted} to {name}:{path} [{took}]"
