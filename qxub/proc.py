"""Every local process qxub starts goes through here: argv lists only, never a shell string.

`run` waits and captures (as text, or as bytes with `run_bytes`); `start` hands back a running
process to stream. Helpers that must not outlive qxub (the ssh clients of a run, rsync) are
started with `die_with_parent`: on Linux the kernel sends them SIGTERM when qxub ends, however
it ends (PR_SET_PDEATHSIG); elsewhere that is a no-op and they end when their pipes close.
"""

from __future__ import annotations

import functools
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

from qxub.errors import CommandFailed
from qxub.record import record

PR_SET_PDEATHSIG = 1  # linux/prctl.h


@record(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


@record(frozen=True)
class BytesResult:
    """A finished command's output as bytes (names from `git ls-files -z` need no unquoting)."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes

    def as_text(self) -> Result:
        return Result(
            self.argv,
            self.returncode,
            self.stdout.decode(errors="replace"),
            self.stderr.decode(errors="replace"),
        )


def _tail(text: str, lines: int = 10) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's prctl on Linux (looked up once, when first needed), else None."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl: Callable[..., int] = ctypes.CDLL(None).prctl  # libc is in the process already
    except (OSError, AttributeError):
        return None
    return prctl


def _preexec(die_with_parent: bool) -> Callable[[], None] | None:
    """What the child runs before exec: for `die_with_parent`, ask for SIGTERM when the
    parent ends. That signal comes when the *thread* that started the child ends, not the
    process: only a start from the main thread (which lives as long as qxub) asks for it."""
    if not die_with_parent or threading.current_thread() is not threading.main_thread():
        return None
    prctl = _prctl()
    if prctl is None:
        return None

    def die_with_parent_() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return die_with_parent_


def _run(
    argv: tuple[str, ...],
    *,
    input: str | bytes | None,
    text: bool,
    env: Mapping[str, str] | None,
    cwd: str | None,
    timeout: float | None,
    die_with_parent: bool,
) -> subprocess.CompletedProcess[Any]:
    try:
        return subprocess.run(
            argv,
            input=input,
            capture_output=True,
            text=text,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            timeout=timeout,
            check=False,
            preexec_fn=_preexec(die_with_parent),
        )
    except FileNotFoundError as exc:
        raise CommandFailed(
            f"{argv[0]}: command not found",
            hint=f"install {argv[0]} or put it on PATH",
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise CommandFailed(
            f"`{shlex.join(argv)}` did not finish within {timeout:g}s",
            hint="the service behind it may be hung or unreachable; try again",
        ) from exc


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    timeout: float | None = None,
    die_with_parent: bool = False,
) -> Result:
    """Run `argv`, capture its output as text. With `check`, a failure raises CommandFailed
    naming the command, its exit code and the tail of its stderr."""
    argv = tuple(argv)
    done = _run(
        argv,
        input=input,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
        die_with_parent=die_with_parent,
    )
    result = Result(argv, done.returncode, done.stdout, done.stderr)
    if check and done.returncode != 0:
        raise CommandFailed(describe_failure(result))
    return result


def run_bytes(
    argv: Sequence[str],
    *,
    check: bool = True,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    timeout: float | None = None,
    die_with_parent: bool = False,
) -> BytesResult:
    """`run`, with the output kept as bytes."""
    argv = tuple(argv)
    done = _run(
        argv,
        input=input,
        text=False,
        env=env,
        cwd=cwd,
        timeout=timeout,
        die_with_parent=die_with_parent,
    )
    result = BytesResult(argv, done.returncode, done.stdout, done.stderr)
    if check and done.returncode != 0:
        raise CommandFailed(describe_failure(result.as_text()))
    return result


class Process(subprocess.Popen[bytes]):
    """A started process (a `subprocess.Popen`), with the one wait a streaming reader needs."""

    def wait_interruptibly(self) -> int:
        """Wait for the end. waitpid returns the moment the process ends, and Ctrl-C still
        interrupts it (PEP 475 runs the handler, which raises); a wait with a timeout would
        poll, adding up to 50 ms."""
        return self.wait()


Stream = int | IO[Any] | None


def start(
    argv: Sequence[str],
    *,
    stdin: Stream = subprocess.DEVNULL,
    stdout: Stream = subprocess.PIPE,
    stderr: Stream = subprocess.PIPE,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    new_session: bool = False,
    die_with_parent: bool = False,
    unbuffered: bool = False,
) -> Process:
    """Start `argv` and return at once. `new_session`: Ctrl-C at the terminal reaches qxub,
    not it (and a detached job outlives qxub's session); `die_with_parent`: it ends with qxub.
    A missing program raises FileNotFoundError (OSError): the caller says what to install."""
    return Process(
        list(argv),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        start_new_session=new_session,
        preexec_fn=_preexec(die_with_parent),
        bufsize=0 if unbuffered else -1,
    )


def start_on_terminal(
    argv: Sequence[str],
    terminal: int,
    *,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Process:
    """Start `argv` in a session of its own whose controlling terminal is `terminal` (the
    follower end of a pty): stdin, stdout and stderr are that terminal, so Ctrl-C typed into
    it reaches the program's foreground process group, and a window size set on it reaches
    the program as SIGWINCH."""
    import fcntl
    import termios

    def take_terminal() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    return Process(
        list(argv),
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        start_new_session=True,
        preexec_fn=take_terminal,
    )


def describe_failure(result: Result) -> str:
    """One message with argv, exit code and what the command said."""
    said = _tail(result.stderr) or _tail(result.stdout) or "(no output)"
    return f"`{shlex.join(result.argv)}` failed with exit code {result.returncode}:\n{said}"
