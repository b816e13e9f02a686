"""The small line protocol by which a remote qxub tells the laptop's qxub what happened.

The laptop sets QXUB_PROTOCOL=<protocol> and QXUB_CALLER_VERSION=<its qxub version> in the remote
command; a remote qxub of another version says hello and stops before doing anything (protocol
2: versions must match, so what runs there is what was tested here). A qxub that sees it writes
event lines to stderr, each starting with MARKER; the laptop strips them from what the user
sees. Events: `hello <qxub version> <protocol>`, `submitted <job id> <scheduler>`,
`finished <exit code>`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import BinaryIO

PROTOCOL = 2
ENV = "QXUB_PROTOCOL"
VERSION_ENV = "QXUB_CALLER_VERSION"
MARKER = b"\x1e@qxub "


def enabled() -> bool:
    return ENV in os.environ


def requested_protocol() -> str | None:
    return os.environ.get(ENV)


def emit(*words: str, stream: BinaryIO | None = None) -> None:
    """Write one event line, when a laptop asked for them."""
    if not enabled():
        return
    out = stream or sys.stderr.buffer
    out.write(MARKER + " ".join(words).encode() + b"\n")
    out.flush()


def hello() -> None:
    """Announce this qxub to a laptop that asked; refuse a protocol this qxub does not speak."""
    if not enabled():
        return
    from qxub import __version__
    from qxub.errors import QxubError

    emit("hello", __version__, str(PROTOCOL))
    if requested_protocol() != str(PROTOCOL):
        raise QxubError(
            f"the qxub that called this one speaks protocol {requested_protocol()}, "
            f"this qxub {__version__} speaks protocol {PROTOCOL}",
            hint=f"install the same qxub version at both ends (this end: qxub {__version__})",
        )
    caller = os.environ.get(VERSION_ENV)
    if caller is not None and caller != __version__:
        raise QxubError(
            f"the qxub that called this one is version {caller}, this one is {__version__}",
            hint="install the same qxub version at both ends: `qxub remote install NAME` from"
            " the laptop",
        )


class EventFilter:
    """Passes a byte stream through, minus event lines, which go to `on_event` as words.

    Bytes go through as soon as they arrive; only a line that starts like MARKER is held
    until its end, so progress output without newlines is not delayed.
    """

    def __init__(
        self, sink: Callable[[bytes], None], on_event: Callable[[list[str]], None]
    ) -> None:
        self.sink = sink
        self.on_event = on_event
        self.pending = b""
        self.at_line_start = True

    def feed(self, data: bytes) -> None:
        self.pending += data
        while self.pending:
            if self.at_line_start:
                head = self.pending[: len(MARKER)]
                if MARKER.startswith(head) and len(head) < len(MARKER):
                    return  # could still become an event: wait for more bytes
                if head == MARKER:
                    end = self.pending.find(b"\n")
                    if end < 0:
                        return
                    line = self.pending[len(MARKER) : end].decode(errors="replace")
                    self.pending = self.pending[end + 1 :]
                    self.on_event(line.split())
                    continue
            end = self.pending.find(b"\n")
            if end < 0:
                self.sink(self.pending)
                self.pending = b""
                self.at_line_start = False
                return
            self.sink(self.pending[: end + 1])
            self.pending = self.pending[end + 1 :]
            self.at_line_start = True

    def close(self) -> None:
        if self.pending:
            self.sink(self.pending)
            self.pending = b""
