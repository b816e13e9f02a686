"""A remote command on a paramiko channel, shaped like the `subprocess.Popen[bytes]` of an
`ssh` command: stdout and stderr pipes, poll/wait/terminate/kill and a returncode.

Like `ssh`, it ends with 255 when no exit status came (the connection broke, or the remote
command was killed by a signal), and terminate/kill close the session: the remote command
loses its pipes, as when a local ssh is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

NO_STATUS = 255


def send_stdin(channel: Any, fd: int | None) -> None:
    """Send everything from `fd` to the remote command's stdin, then its end (in a thread, as
    the command's output is read meanwhile); with no `fd`, the end at once."""
    if fd is None:
        channel.shutdown_write()
        return

    def pump() -> None:
        try:
            while data := os.read(fd, 1 << 16):
                channel.sendall(data)
            channel.shutdown_write()
        except (OSError, EOFError):
            pass  # the session closed: its end says why

    threading.Thread(target=pump, daemon=True).start()


class ChannelPipe:
    """One output stream of a channel (stdout or stderr), read as a file is."""

    def __init__(self, recv: Callable[[int], bytes]) -> None:
        self._recv = recv

    def read1(self, size: int = -1, /) -> bytes:
        """What has arrived, up to `size` bytes; waits for some; b"" at the end."""
        return self._recv(size if size > 0 else 65536)

    def read(self, size: int = -1, /) -> bytes:
        """`size` bytes (fewer only at the end), or everything until the end."""
        parts: list[bytes] = []
        wanted = size
        while wanted != 0:
            data = self._recv(wanted if wanted > 0 else 65536)
            if not data:
                break
            parts.append(data)
            if wanted > 0:
                wanted -= len(data)
        return b"".join(parts)


class ChannelProcess:
    """A running remote command; `channel` is a paramiko Channel after exec_command."""

    def __init__(
        self,
        channel: Any,
        args: Sequence[str],
        *,
        on_no_status: Callable[[], None] | None = None,
    ) -> None:
        self.channel = channel
        self.args = list(args)
        self.stdin = None
        self.stdout = ChannelPipe(channel.recv)
        self.stderr = ChannelPipe(channel.recv_stderr)
        self.returncode: int | None = None
        self._killed_by: int | None = None
        self._on_no_status = on_no_status
        self._lock = threading.Lock()

    def poll(self) -> int | None:
        if self.returncode is None and self.channel.exit_status_ready():
            self._finish()
        return self.returncode

    def _finish(self) -> None:
        with self._lock:
            if self.returncode is not None:
                return
            status = int(self.channel.exit_status)
            if status >= 0:
                self.returncode = status
            elif self._killed_by is not None:
                self.returncode = -self._killed_by
            else:
                self.returncode = NO_STATUS
                if self._on_no_status is not None:
                    self._on_no_status()

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            code = self.poll()
            if code is not None:
                return code
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
            # In slices: a bare wait would not let Ctrl-C in.
            self.channel.status_event.wait(0.2 if left is None else min(left, 0.2))

    def wait_interruptibly(self) -> int:
        """Wait on the channel's lock in short steps, so that Ctrl-C gets in."""
        while True:
            try:
                return self.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue

    def send_signal(self, sig: int) -> None:
        """Close the session, as killing the local `ssh` would."""
        if self.returncode is not None:
            return
        self._killed_by = sig
        self.channel.close()

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(self, timeout: float | None = None) -> tuple[bytes, bytes]:
        """Everything the command writes, both streams read at once (a full window on one
        would stall the other); raises TimeoutExpired after `timeout` seconds."""
        out: list[bytes] = []
        err: list[bytes] = []
        readers = [
            threading.Thread(target=lambda: out.append(self.stdout.read()), daemon=True),
            threading.Thread(target=lambda: err.append(self.stderr.read()), daemon=True),
        ]
        deadline = None if timeout is None else time.monotonic() + timeout
        for reader in readers:
            reader.start()
        self.wait(timeout)
        for reader in readers:
            reader.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if reader.is_alive():
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
        return b"".join(out), b"".join(err)
