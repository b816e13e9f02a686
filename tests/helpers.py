"""Helpers for running the real `qxub` command in tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import children

QXUB = [sys.executable, "-m", "qxub"]


def qxub(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run qxub to completion, capturing stdout and stderr separately; its stdin is `input`,
    else /dev/null (children.py)."""
    return children.run(
        [*QXUB, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
        check=False,
    )


def imported(
    *args: str, cwd: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run qxub with `-X importtime`: its result (stderr without those lines) and the names
    of the modules it imported."""
    argv = [sys.executable, "-X", "importtime", *QXUB[1:], *args]
    done = children.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    said, modules = [], set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:"):
            modules.add(line.rpartition("|")[2].strip())
        else:
            said.append(line)
    done.stderr = "".join(f"{line}\n" for line in said)
    return done, modules


def qxub_popen(*args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    return children.popen(
        [*QXUB, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> None:
    """A user error: exit 1 or 2, a short message on stderr, never a traceback."""
    print(result.stderr)  # shown by pytest -rP: the message a user would read
    assert result.returncode in (1, 2), (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    assert result.stderr.strip(), "no error message"
    assert len(result.stderr.strip().splitlines()) <= 4, result.stderr
