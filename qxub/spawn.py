"""Starting a process before anything else is imported.

qxub.remote.warm opens an ssh session while Python is still starting; `subprocess` and what
it imports, and the fork that a Python `preexec_fn` needs, cost more (about 30 ms) than
posix_spawn does in all. So this starts it with `os` alone: pipes for stdin, stdout and
stderr, its own session (Ctrl-C at the terminal reaches qxub, not it), and on Linux under
`setpriv --pdeathsig TERM`, so that it ends with qxub as qxub.proc's `die_with_parent`
children do. The process has the shape of a `proc.Process` as a remote session uses it.
Every other process goes through qxub.proc.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False  # as typing's, without importing typing (3 ms at start-up)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import BinaryIO

SETPRIV = "/usr/bin/setpriv"  # util-linux: sets the parent-death signal, then execs


def can_spawn() -> bool:
    return hasattr(os, "posix_spawnp")


class Spawned:
    """A started process, its stdin, stdout and stderr pipes to this one (`quiet`: its
    stderr goes to /dev/null, for a process whose complaints no one reads)."""

    def __init__(self, argv: Sequence[str], *, quiet: bool = False) -> None:
        self.args = list(argv)
        command = self.args
        if sys.platform.startswith("linux") and os.access(SETPRIV, os.X_OK):
            command = [SETPRIV, "--pdeathsig", "TERM", "--", *command]
        ends = [os.pipe() for _ in range(3)]  # not inherited: only the dup2 copies are
        theirs = [ends[0][0], ends[1][1], ends[2][1]]
        actions: list[tuple[object, ...]] = [
            (os.POSIX_SPAWN_DUP2, fd, target) for target, fd in enumerate(theirs)
        ]
        if quiet:
            actions[2] = (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)
        try:
            self.pid = os.posix_spawnp(
                command[0], command, os.environ, file_actions=actions, setsid=True
            )
        except BaseException:
            for pair in ends:
                for fd in pair:
                    os.close(fd)
            raise
        for fd in theirs:
            os.close(fd)
        self.stdin: BinaryIO | None = os.fdopen(ends[0][1], "wb", buffering=0)
        self.stdout: BinaryIO | None = os.fdopen(ends[1][0], "rb")
        self.stderr: BinaryIO | None = os.fdopen(ends[2][0], "rb")
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is not None:
            return self.returncode
        if timeout is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
            return self.returncode
        deadline = time.monotonic() + timeout
        while (code := self.poll()) is None:
            if time.monotonic() >= deadline:
                import subprocess  # its exception, as a Popen's wait raises

                raise subprocess.TimeoutExpired(self.args, timeout)
            time.sleep(0.01)
        return code

    def wait_interruptibly(self) -> int:
        """waitpid returns the moment the process ends, and Ctrl-C interrupts it."""
        return self.wait()

    def send_signal(self, number: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, number)

    def terminate(self) -> None:
        import signal  # not at start-up: enum and signal cost 2 ms

        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        import signal

        self.send_signal(signal.SIGKILL)
