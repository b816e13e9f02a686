"""Ports for the forwarding tests: a free one, an HTTP fetch through a tunnel, whether
anything still listens, and reading qxub's status lines until one says something. Plain
Python."""

from __future__ import annotations

import re
import socket
import subprocess
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch(port: int, path: str = "/") -> str:
    with urllib.request.urlopen(f"http://localhost:{port}{path}", timeout=5) as answer:
        return str(answer.read().decode())


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return True
    return False


def serve_command(port: int) -> list[str]:
    return ["--", "python3", "-m", "http.server", "--bind", "127.0.0.1", str(port)]


def read_until(process: subprocess.Popen[str], pattern: str, timeout: float = 60) -> str:
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    said = ""
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        assert line, f"qxub ended before saying {pattern!r}; it said:\n{said}"
        said += line
        if re.search(pattern, line):
            return line
    raise AssertionError(f"no {pattern!r} within {timeout}s:\n{said}")
