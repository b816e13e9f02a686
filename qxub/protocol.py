"""The framed stream by which a remote qxub tells the laptop's qxub everything (protocol 3).

The laptop sets QXUB_PROTOCOL=<protocol> and QXUB_CALLER_VERSION=<its qxub version> in the
remote command; a remote qxub of another version says hello and stops before doing anything
(versions must match, so what runs there is what was tested here). A qxub that sees it writes
START on its stdout, then only frames: one type byte, the payload's length (4 bytes, big
endian), the payload. Types: job stdout bytes (`o`), job stderr bytes (`e`), qxub's own
messages for stderr (`m`) and events (`v`, words separated by spaces): `hello <qxub version>
<protocol>`, `submitted <job id> <scheduler>`, `started`, `finished <exit code>` and
`continue-at <offset>` (the follow segment ended; follow again from that offset of the job's
output log). A job's bytes are always inside an `o` or `e` frame, so nothing a job prints can
be read as an event. The job's output log (qxub.job.capture) is made of the same `o`/`e`
frames, so a follower sends it on as it is.

Whatever the remote login shell prints before qxub starts comes before START (stdout) or on
stderr, and is shown as it is.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from typing import BinaryIO

    from _typeshed import ReadableBuffer

PROTOCOL = 3  # 1 and 2 were event lines mixed into the job's stderr; 3 is framed
ENV = "QXUB_PROTOCOL"
VERSION_ENV = "QXUB_CALLER_VERSION"
SEGMENT_ENV = "QXUB_FOLLOW_SEGMENT"  # seconds a remote follower streams before continue-at
DEFAULT_SEGMENT = 600.0
START = b"\x1eqxub-frames-3\n"
HEADER = 5  # type byte + 4-byte length
STDOUT, STDERR, MESSAGE, EVENT = b"o"[0], b"e"[0], b"m"[0], b"v"[0]
MAX_PAYLOAD = 1 << 20  # writers cut longer data; a longer length means a corrupt stream
# Versions 1 and 2 wrote event lines starting with this to stderr; seen only from an old qxub.
V1_MARKER = b"\x1e@qxub "


def frame(kind: int, payload: bytes) -> bytes:
    """One frame: type, length, payload."""
    return bytes((kind,)) + len(payload).to_bytes(4, "big") + payload


def enabled() -> bool:
    return ENV in os.environ


def requested_protocol() -> str | None:
    return os.environ.get(ENV)


def segment_span() -> float:
    """How long this remote follower streams before it hands over with continue-at."""
    try:
        return max(0.5, float(os.environ.get(SEGMENT_ENV, DEFAULT_SEGMENT)))
    except ValueError:
        return DEFAULT_SEGMENT


class FrameWriter:
    """Writes frames to the file descriptor the laptop reads, one whole frame per write."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, kind: int, payload: bytes) -> None:
        view = memoryview(payload)
        while True:
            part, view = view[:MAX_PAYLOAD], view[MAX_PAYLOAD:]
            self.write_raw(frame(kind, bytes(part)))
            if not view:
                return

    def write_raw(self, data: bytes | memoryview) -> None:
        """Bytes that are already whole frames (a job's output log)."""
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    def event(self, *words: str) -> None:
        self.write(EVENT, " ".join(words).encode())


class FrameStream(io.RawIOBase):
    """A writable binary stream whose every write becomes one frame of `kind`."""

    def __init__(self, writer: FrameWriter, kind: int) -> None:
        super().__init__()
        self.writer = writer
        self.kind = kind

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer, /) -> int:
        payload = bytes(data)
        if payload:
            self.writer.write(self.kind, payload)
        return len(payload)


_writer: FrameWriter | None = None


def writer() -> FrameWriter | None:
    """The frame writer, once `hello()` started the framed stream."""
    return _writer


def emit(*words: str) -> None:
    """Send one event, when a laptop asked for them."""
    if _writer is not None:
        _writer.event(*words)


def _text(kind: int, frames: FrameWriter) -> io.TextIOWrapper:
    stream = io.BufferedWriter(FrameStream(frames, kind))
    return io.TextIOWrapper(stream, encoding="utf-8", errors="replace", write_through=True)


def _start() -> FrameWriter:
    """Keep the real stdout for frames only: stray writes to fd 1 (a child process) go to
    stderr instead, and Python's own stdout and stderr become `o` and `m` frames."""
    global _writer
    fd = os.dup(1)
    os.dup2(2, 1)
    if os.isatty(fd):  # a forced tty: frames are binary, the terminal must not translate them
        import termios

        attrs = termios.tcgetattr(fd)
        attrs[1] &= ~termios.OPOST
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
    _writer = FrameWriter(fd)
    _writer.write_raw(START)
    sys.stdout = _text(STDOUT, _writer)
    sys.stderr = _text(MESSAGE, _writer)
    return _writer


def hello() -> None:
    """Start the framed stream for a laptop that asked; refuse a protocol this qxub does not
    speak (after saying which it speaks, so the laptop can name both)."""
    if not enabled() or _writer is not None:
        return
    from qxub import __version__
    from qxub.errors import QxubError

    frames = _start()
    frames.event("hello", __version__, str(PROTOCOL))
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


def job_streams() -> tuple[BinaryIO, BinaryIO, Callable[[str], None]] | None:
    """Where a job's stdout and stderr and qxub's status lines go in a framed run."""
    if _writer is None:
        return None
    frames = _writer

    def status(message: str) -> None:
        frames.write(MESSAGE, f"qxub: {message}\n".encode())

    out = io.BufferedWriter(FrameStream(frames, STDOUT), buffer_size=65536)
    err = io.BufferedWriter(FrameStream(frames, STDERR), buffer_size=65536)
    return out, err, status


class FrameDecoder:
    """Reads a framed stream fed in pieces of any size; linear in the input.

    Bytes before START go to `on_preamble` (what the login shell printed); then each whole
    frame goes to `on_frame(kind, payload)`. `started` tells whether START was seen."""

    def __init__(
        self,
        on_frame: Callable[[int, bytes | bytearray | memoryview], None],
        on_preamble: Callable[[bytes], None] | None = None,
        *,
        started: bool = False,
    ) -> None:
        self.on_frame = on_frame
        self.on_preamble = on_preamble or (lambda data: None)
        self.started = started
        self.buffer = bytearray()  # before START: what may hold it; then a cut frame's header
        self._frame: bytearray | None = None  # the payload of a frame cut between pieces
        self._filled = 0  # how much of it came so far
        self.corrupt = False

    def feed(self, data: bytes) -> None:
        """Decode `data`, the next piece of the stream. A frame's payload is a bytes-like
        object (a memoryview of `data`, or a bytearray of its own), valid during the
        `on_frame` call only: a consumer that keeps it copies it. A frame whole in one piece
        is not copied here; one cut between pieces is copied once, into a bytearray of its
        size."""
        if not self.started:
            buffer = self.buffer
            buffer += data
            at = buffer.find(START)
            if at < 0:
                keep = len(START) - 1  # the start of START may be in this piece
                if len(buffer) > keep:
                    self.on_preamble(bytes(buffer[:-keep]))
                    del buffer[:-keep]
                return
            if at:
                self.on_preamble(bytes(buffer[:at]))
            data = bytes(buffer[at + len(START) :])
            buffer.clear()
            self.started = True
        view = memoryview(data)
        size = len(view)
        pos = self._go_on_cut_frame(view) if self.buffer or self._frame is not None else 0
        while size - pos >= HEADER:
            length = int.from_bytes(view[pos + 1 : pos + HEADER], "big")
            if length > MAX_PAYLOAD:
                self.corrupt = True
                return
            end = pos + HEADER + length
            if end > size:
                break
            self.on_frame(view[pos], view[pos + HEADER : end])
            pos = end
        if pos < size:  # the start of a frame cut here: its header, or more
            self.buffer += view[pos : pos + HEADER]
            self._go_on_cut_frame(view[pos + HEADER :])

    def _go_on_cut_frame(self, view: memoryview) -> int:
        """Take from `view` what it holds of the frame begun in an earlier piece (its header
        in `buffer`, then its payload in `_frame`), passing the frame on once whole; how many
        bytes of `view` that took."""
        buffer, pos = self.buffer, 0
        if self._frame is None:
            pos = min(HEADER - len(buffer), len(view))
            buffer += view[:pos]
            if len(buffer) < HEADER:
                return pos
            length = int.from_bytes(buffer[1:HEADER], "big")
            if length > MAX_PAYLOAD:
                self.corrupt = True
                buffer.clear()
                return len(view)
            self._frame, self._filled = bytearray(length), 0
        frame, filled = self._frame, self._filled
        take = min(len(frame) - filled, len(view) - pos)
        frame[filled : filled + take] = view[pos : pos + take]
        self._filled = filled + take
        if self._filled == len(frame):
            kind = buffer[0]
            buffer.clear()
            self._frame = None
            self.on_frame(kind, frame)
        return pos + take

    def pending(self) -> int:
        """Bytes of an unfinished frame (or of a possible START) held back."""
        return len(self.buffer) + (self._filled if self._frame is not None else 0)


def whole_frames(data: bytes | memoryview) -> int:
    """How many leading bytes of `data` (read from a frame log at a frame boundary) are
    whole frames."""
    pos, size = 0, len(data)
    while size - pos >= HEADER:
        end = pos + HEADER + int.from_bytes(data[pos + 1 : pos + HEADER], "big")
        if end > size:
            break
        pos = end
    return pos
