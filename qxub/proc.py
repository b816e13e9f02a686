"""Every local process qxub starts goes through here: argv lists only, never a shell string."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from qxub.errors import CommandFailed


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def _tail(text: str, lines: int = 10) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    timeout: float | None = None,
) -> Result:
    """Run `argv`, capture its output as text. With `check`, a failure raises CommandFailed
    naming the command, its exit code and the tail of its stderr."""
    argv = tuple(argv)
    try:
        proc = subprocess.run(
            argv,
            input=input,
            capture_output=True,
            text=True,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            timeout=timeout,
            check=False,
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
    result = Result(argv, proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise CommandFailed(describe_failure(result))
    return result


def describe_failure(result: Result) -> str:
    """One message with argv, exit code and what the command said."""
    said = _tail(result.stderr) or _tail(result.stdout) or "(no output)"
    return f"`{shlex.join(result.argv)}` failed with exit code {result.returncode}:\n{said}"
