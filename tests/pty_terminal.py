"""A real terminal for the tests: a program on a pty (Python's `pty` module), driven as a user
would drive it: type, read what it shows, resize the window, press Ctrl-C. Plain Python."""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

# An interactive bash without the user's start-up files, as the command of a session.
SHELL = ["--", "bash", "--norc", "--noprofile", "-i"]
START = 120.0  # seconds an interactive job may take to start (it may queue behind others)


class Terminal:
    """One program on a pty of its own, as in a terminal window of `rows` x `cols`."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | str | None = None,
        env: Mapping[str, str] | None = None,
        rows: int = 30,
        cols: int = 100,
    ) -> None:
        self.master, follower = os.openpty()
        self.resize(rows, cols)

        def become_terminal_owner() -> None:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGQUIT, signal.SIG_DFL)
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.process = subprocess.Popen(
            list(argv),
            stdin=follower,
            stdout=follower,
            stderr=follower,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            start_new_session=True,
            preexec_fn=become_terminal_owner,
        )
        os.close(follower)
        self.seen = b""  # everything shown so far
        self.mark = 0  # where the next expect starts looking

    def resize(self, rows: int, cols: int) -> None:
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def line(self, text: str) -> None:
        self.type(text + "\r")

    def ctrl_c(self) -> None:
        os.write(self.master, b"\x03")

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:
            return False
        self.seen += data
        return bool(data)

    def expect(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """Wait until `pattern` shows (after what the previous expect matched)."""
        deadline = time.monotonic() + timeout
        compiled = re.compile(pattern)
        while True:
            text = self.seen.decode(errors="replace")
            found = compiled.search(text, self.mark)
            if found:
                self.mark = found.end()
                return found
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(min(left, 0.2)):
                if not (found := compiled.search(self.seen.decode(errors="replace"), self.mark)):
                    raise AssertionError(f"{pattern!r} did not show; the screen said:\n{text}")
                self.mark = found.end()
                return found

    def wait(self, timeout: float = 30.0) -> int:
        """Read until the program ends; its exit code."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self._read(0.1)
        while self._read(0.05) and select.select([self.master], [], [], 0)[0]:
            pass
        return self.process.wait(timeout=max(0.1, deadline - time.monotonic()))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def play_session(term: Terminal, where: str | None = None) -> None:
    """What acceptance asks of an interactive shell, typed as a user would."""
    term.line("echo answer-$((6*7)); pwd")
    term.expect(r"answer-42", START)
    if where is not None:
        term.expect(r"[\r\n]" + re.escape(where) + r"\r\n")
    term.line("tput cols")
    term.expect(r"[\r\n]100\r\n")
    term.resize(30, 77)
    term.line("sleep 0.5; tput cols")
    term.expect(r"[\r\n]77\r\n", 10)
    term.line("echo sleeping-$((2+2)); sleep 100; echo slept")
    term.expect("sleeping-4")
    time.sleep(1.0)  # let bash hand the terminal to sleep: a Ctrl-C before lands in bash
    term.ctrl_c()
    term.line("echo still-$((1+1))")
    term.expect(r"still-2", 10)
    assert "slept" not in term.seen.decode(errors="replace")[term.mark :]
    term.line("exit 3")
