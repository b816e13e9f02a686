"""One session with a remote qxub: start its script, read its frames (qxub.protocol) to the
user's streams as they come, and learn its events. qxub.remote.executor strings sessions
together into a whole follow."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence

from qxub import protocol
from qxub.pipes import silence_stdout
from qxub.record import field, record

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from typing import BinaryIO

    from qxub.remote.running import Pipe, RemoteProcess
    from qxub.remote.transport import Transport
    from qxub.streams import Streams


@record
class Heard:
    """What one session said, beyond the job's bytes."""

    hello: list[str] | None = None
    job_id: str | None = None
    scheduler: str | None = None
    started: bool = False
    following_from: int | None = None  # the session streams the output log from here
    shown: int = 0  # bytes of the output log passed on since then
    finished: int | None = None
    continue_at: int | None = None
    held: bytearray = field(default_factory=bytearray)  # the login shell's words before qxub
    tail: bytearray = field(default_factory=bytearray)  # the last of stderr, for ssh errors
    submitted: threading.Event = field(default_factory=threading.Event)

    @property
    def log_offset(self) -> int | None:
        """Where the output log has been shown up to, when this session streamed it."""
        if self.following_from is None:
            return None
        return self.following_from + self.shown


class Session:
    """One started remote script whose stdout is a framed stream."""

    def __init__(
        self,
        transport: Transport,
        script: Sequence[str],
        streams: Streams,
        *,
        tty: bool | None,
        stdin_fd: int | None = None,
        on_started: Callable[[], None],
        show_message: Callable[[bytes], bool],
        on_submitted: Callable[[str], None] | None = None,
    ) -> None:
        self.streams = streams
        self.heard = Heard()
        self.on_started = on_started
        self.on_submitted = on_submitted
        self.show_message = show_message
        self.lock = threading.Lock()
        self.reader_gone = False  # the reader of our output went away (`| head`)
        # Set when the remote says `finished` (nothing follows it) or its stream ends: then
        # the job's end is known while ssh still ends the session (`wait_finished`).
        self.settled = threading.Event()
        self.process: RemoteProcess = transport.popen(script, tty=tty, stdin_fd=stdin_fd)
        decoder = protocol.FrameDecoder(self._on_frame, self._on_preamble)
        self.readers = [
            _reader(self.process.stdout, decoder.feed, self.settled),
            _reader(self.process.stderr, self._on_stderr),
        ]

    # --- what arrives -------------------------------------------------------------------------
    def _on_frame(self, kind: int, payload: bytes | bytearray | memoryview) -> None:
        heard = self.heard
        if kind in (protocol.STDOUT, protocol.STDERR):
            stream = self.streams.out if kind == protocol.STDOUT else self.streams.err
            other = self.streams.err if kind == protocol.STDOUT else self.streams.out
            if not self._write(stream, payload, other):
                return
            if heard.following_from is not None:
                heard.shown += protocol.HEADER + len(payload)
        elif kind == protocol.MESSAGE:
            message = bytes(payload)
            if self.show_message(message):
                self._write(self.streams.err, message, self.streams.out)
        elif kind == protocol.EVENT:
            self._on_event(bytes(payload).decode(errors="replace").split())

    def _write(
        self, stream: BinaryIO, data: bytes | bytearray | memoryview, other: BinaryIO | None = None
    ) -> bool:
        """Write to the user's stream; False once its reader has gone (`| head`), which
        stops this session (the job goes on)."""
        if self.reader_gone:
            return False
        try:
            if other is not None:
                other.flush()  # what came first goes out first
            stream.write(data)
            stream.flush()
        except BrokenPipeError:
            self.reader_gone = True
            silence_stdout()
            self.process.terminate()
            return False
        return True

    def _on_event(self, words: list[str]) -> None:
        if not words:
            return
        heard, kind, args = self.heard, words[0], words[1:]
        if kind == "hello":
            heard.hello = args
            with self.lock:
                self._show_held()
        elif kind == "submitted" and args:
            heard.job_id = args[0]
            heard.scheduler = args[1] if len(args) > 1 else None
            heard.submitted.set()
            if self.on_submitted is not None:
                self.on_submitted(args[0])
        elif kind == "following" and args:
            with contextlib.suppress(ValueError):
                heard.following_from = int(args[0])
        elif kind == "started":
            heard.started = True
            self.on_started()
        elif kind == "finished" and args:
            with contextlib.suppress(ValueError):
                heard.finished = int(args[0])
                self.settled.set()
        elif kind == "continue-at" and args:
            with contextlib.suppress(ValueError):
                heard.continue_at = int(args[0])

    def _on_preamble(self, data: bytes) -> None:
        with self.lock:
            self.heard.held += data

    def _on_stderr(self, data: bytes) -> None:
        with self.lock:
            heard = self.heard
            heard.tail = (heard.tail + data)[-4096:]
            if heard.hello is None:
                heard.held += data
                return
            self._write(self.streams.err, data)

    def _show_held(self) -> None:
        if self.heard.held:
            self.streams.err.write(bytes(self.heard.held))
            self.streams.err.flush()
            self.heard.held.clear()

    def show_held(self) -> None:
        """What the login shell said before qxub (when it never started: why)."""
        with self.lock:
            self._show_held()

    # --- its end ------------------------------------------------------------------------------
    def wait_finished(self) -> bool:
        """Wait until the remote said `finished` or its stream ended (Ctrl-C interrupts);
        whether it said `finished`. The job is then over and all its output shown, while ssh
        takes some milliseconds more to end the session (`wait`)."""
        self.settled.wait()
        return self.heard.finished is not None

    def wait(self) -> int:
        """The session's exit status, once all it sent was read (Ctrl-C interrupts)."""
        returncode = self.process.wait_interruptibly()
        self.join()
        return returncode

    def join(self, timeout: float | None = None) -> None:
        for reader in self.readers:
            reader.join(timeout)

    def stop(self) -> None:
        import subprocess  # not at start-up: see qxub.remote.running

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.join(timeout=2)

    def stderr_tail(self) -> str:
        return bytes(self.heard.tail).decode(errors="replace")


# What the reader of a session's stdout asks the pipe to hold. A pipe holds 64 KiB by default,
# and ssh stops each time it is full until this reader has read: 100 MB of job output took
# about 10% longer that way. Linux lets any process widen a pipe to 1 MiB (its
# pipe-max-size); elsewhere it stays as it is.
PIPE_SIZE = 1 << 20
READ_SIZE = 1 << 16  # larger reads cost more in fresh memory than they save in calls


def _widen(pipe: Pipe) -> None:
    try:
        import fcntl

        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_SIZE)  # type: ignore[attr-defined]
    except (ImportError, AttributeError, OSError, ValueError):
        pass  # not Linux, not a pipe, or a smaller limit: the default size


def _reader(
    pipe: Pipe | None, feed: Callable[[bytes], None], ended: threading.Event | None = None
) -> threading.Thread:
    """A thread that feeds what comes on `pipe` to `feed`, and sets `ended` at its end."""
    assert pipe is not None
    _widen(pipe)

    def pump() -> None:
        read = getattr(pipe, "read1", pipe.read)
        try:
            while True:
                try:
                    data = read(READ_SIZE)
                except (OSError, ValueError):
                    break
                if not data:
                    break
                feed(data)
        finally:
            if ended is not None:
                ended.set()

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread
