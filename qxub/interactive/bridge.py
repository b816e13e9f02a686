"""A program on a pty of its own, bridged to this terminal: keystrokes go in as typed (the
local terminal is raw, so Ctrl-C is a byte that the program's terminal turns into SIGINT for
its foreground program), output comes out as written, and a window resize here is set on the
program's terminal (which sends it SIGWINCH)."""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from types import FrameType

from qxub import proc
from qxub.record import field, record
from qxub.terminal import raw_terminal, set_window_size, window_size, write_all

CTRL_C = b"\x03"


@record
class Watch:
    """What the caller sees of a bridged session: `output` gets each chunk the program
    writes, `keys` each chunk typed and returns what to pass on (b"" swallows it), `resized`
    each new window size."""

    output: Callable[[bytes], None] = lambda data: None
    keys: Callable[[bytes], bytes] = lambda data: data
    resized: Callable[[int, int], None] = lambda rows, cols: None
    notes: list[str] = field(default_factory=list)


class Bridge:
    """One program on a pty, bridged to stdin/stdout of this process."""

    def __init__(self, watch: Watch | None = None) -> None:
        self.watch = watch or Watch()
        self.stdin = sys.stdin.fileno()
        self.stdout = sys.stdout.fileno()
        self.master = -1
        self.raw = False
        self.process: proc.Process | None = None

    def say(self, message: str) -> None:
        """A status line for the user, whatever the terminal's mode."""
        end = "\r\n" if self.raw else "\n"
        os.write(sys.stderr.fileno(), f"qxub: {message}{end}".encode())

    def run(
        self, argv: Sequence[str], *, cwd: str | None = None, env: Mapping[str, str] | None = None
    ) -> int:
        """Run `argv` on a new pty until it ends; return its exit code (128+N for signal N)."""
        master, follower = os.openpty()
        self.master = master
        size = window_size(self.stdin) or window_size(self.stdout)
        if size:
            set_window_size(follower, *size)
        try:
            self.process = proc.start_on_terminal(argv, follower, cwd=cwd, env=env)
        except FileNotFoundError:
            os.close(master)
            raise
        finally:
            os.close(follower)
        old_winch = signal.signal(signal.SIGWINCH, self._on_winch)
        # Ctrl-C reaches qxub only when sent from elsewhere (the terminal is raw): pass it on.
        old_int = signal.signal(signal.SIGINT, self._on_sigint)
        try:
            with raw_terminal(self.stdin) as self.raw:
                self._pump()
        finally:
            signal.signal(signal.SIGWINCH, old_winch)
            signal.signal(signal.SIGINT, old_int)
            os.close(master)
        code = self.process.wait()
        return 128 - code if code < 0 else code

    def stop(self) -> None:
        """End the program (a request cancelled before it started)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def _on_winch(self, signum: int, frame: FrameType | None) -> None:
        size = window_size(self.stdin) or window_size(self.stdout)
        if size and self.master >= 0:
            set_window_size(self.master, *size)
            self.watch.resized(*size)

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self._send(self.watch.keys(CTRL_C))

    def _send(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            os.write(self.master, data)

    def _pump(self) -> None:
        assert self.process is not None
        inputs = [self.master, self.stdin]
        while True:
            try:
                ready, _, _ = select.select(inputs, [], [], 0.2)
            except InterruptedError:
                continue
            if self.master in ready and not self._copy_out():
                return
            if self.stdin in ready:
                data = _read(self.stdin)
                if data:
                    self._send(self.watch.keys(data))
                else:
                    inputs.remove(self.stdin)  # stdin ended: the program goes on
            if not ready and self.process.poll() is not None:
                # Ended, but something it left behind holds the terminal open: drain and go.
                while select.select([self.master], [], [], 0)[0] and self._copy_out():
                    pass
                return

    def _copy_out(self) -> bool:
        data = _read(self.master)
        if not data:
            return False
        write_all(self.stdout, data)
        self.watch.output(data)
        return True


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError as exc:
        if exc.errno == errno.EIO:  # the pty's other end closed: the program ended
            return b""
        raise
