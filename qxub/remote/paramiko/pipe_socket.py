"""A local command's stdin and stdout as the socket paramiko reads and writes: a ProxyCommand,
or `ssh -s host sftp` for SFTP over an OpenSSH connection."""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
from collections.abc import Sequence

from qxub import proc


class CommandSocket:
    """send/recv/settimeout/close over a child process. recv returns b"" once the command
    has closed its output (paramiko's own ProxyCommand spins there instead)."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.argv = list(argv)
        self.process = proc.start(
            self.argv,
            stdin=subprocess.PIPE,
            unbuffered=True,
            new_session=True,  # Ctrl-C at the terminal is qxub's to handle, not its
            die_with_parent=True,
        )
        self.timeout: float | None = None
        self._closed = False
        self._errors: list[bytes] = []

    def send(self, data: bytes) -> int:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(data)
        except (BrokenPipeError, ValueError) as exc:
            raise OSError(f"{self.argv[0]} ended") from exc
        return len(data)

    def sendall(self, data: bytes) -> None:
        self.send(data)

    def recv(self, size: int) -> bytes:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], self.timeout)
        if not ready:
            raise TimeoutError()
        try:
            return os.read(self.process.stdout.fileno(), size)
        except (OSError, ValueError):
            return b""

    def get_name(self) -> str:
        """For paramiko's log lines."""
        return self.argv[0]

    def recv_ready(self) -> bool:
        """Is there something to read now (paramiko's pipelined writes ask)?"""
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 0)
        return bool(ready)

    def setblocking(self, blocking: bool) -> None:
        self.timeout = None if blocking else 0.0

    def settimeout(self, timeout: float | None) -> None:
        self.timeout = timeout

    def gettimeout(self) -> float | None:
        return self.timeout

    @property
    def closed(self) -> bool:
        return self._closed or self.process.poll() is not None

    def stderr_text(self) -> str:
        """What the command said on stderr, once it has ended (empty while it runs)."""
        if self.process.poll() is None or self.process.stderr is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._errors.append(self.process.stderr.read())
        return b"".join(self._errors).decode(errors="replace")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for pipe in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
