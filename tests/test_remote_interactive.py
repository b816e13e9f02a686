"""Interactive work over the real sshd, with the OpenSSH and the paramiko transport: `exec
--interactive --remote` on a terminal (tests/pty_terminal.py), `qxub remote shell`, and
`--forward` / `qxub forward` to an HTTP server that the job starts."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import children
from ports import fetch, free_port, read_until, refused, serve_command
from pty_terminal import SHELL, Terminal, play_session
from remotes import mirror

pytestmark = [pytest.mark.sshd, pytest.mark.both_transports]

QXUB = [sys.executable, "-m", "qxub"]


def test_interactive_shell_in_the_mirror(remote: str, remote_home: Path) -> None:
    sub = Path.cwd() / "analysis"
    sub.mkdir()
    with Terminal([*QXUB, "exec", "--remote", remote, "--interactive", *SHELL], cwd=sub) as term:
        play_session(term, str(mirror(remote_home) / "analysis"))
        assert term.wait() == 3


def test_remote_shell(remote: str, remote_home: Path) -> None:
    sub = Path.cwd() / "data"
    sub.mkdir()
    env = {**os.environ, "SHELL": "/bin/bash"}
    with Terminal([*QXUB, "remote", "shell", remote], cwd=sub, env=env) as term:
        term.line("pwd; [ -t 0 ] && echo tty-$((40+2))")
        term.expect(re.escape(str(mirror(remote_home) / "data")) + r"\r\n", 30)
        term.expect("tty-42")
        term.line("exit 4")
        assert term.wait() == 4


def test_forward_serves_the_mirror_and_ends_with_ctrl_c(remote: str) -> None:
    Path("hello.txt").write_text("hello from the job\n")
    local, port = free_port(), free_port()
    process = children.popen(
        [
            *QXUB,
            *("exec", "--remote", remote, "--sync", "--forward", f"{local}:{port}"),
            *serve_command(port),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        read_until(process, r"submitted")
        submitted = time.monotonic()
        read_until(process, rf"forwarding http://localhost:{local}/ .*ready")
        assert fetch(local, "/hello.txt") == "hello from the job\n"
        assert time.monotonic() - submitted < 2.0, "the tunnel took too long"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
        assert refused(local), "the tunnel outlived qxub"
    finally:
        if process.poll() is None:
            process.kill()


def test_qxub_forward_reopens_a_tunnel_to_a_detached_job(remote: str, via: str) -> None:
    local, port = free_port(), free_port()
    started = children.run(
        [*QXUB, "exec", "--remote", remote, "--terse", *serve_command(port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 0, started.stderr
    job_id = started.stdout.strip()
    try:
        forward = children.popen(
            [*QXUB, "forward", "--remote", remote, job_id, f"{local}:{port}"],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            read_until(forward, rf"http://localhost:{local}/ .*ready")
            assert "Directory listing" in fetch(local)
            if via == "openssh":  # the master goes (the laptop slept): the tunnel comes back
                from qxub.cli.configured import cli_config
                from qxub.remote.config import find_remote
                from qxub.remote.reach import transport_for

                assert transport_for(find_remote(cli_config(), remote)).exit_master()
                read_until(forward, rf"http://localhost:{local}/ .*ready", 30)
                assert "Directory listing" in fetch(local)
            forward.send_signal(signal.SIGINT)
            assert forward.wait(timeout=30) == 130
            assert refused(local)
        finally:
            if forward.poll() is None:
                forward.kill()
    finally:
        children.run([*QXUB, "cancel", "--remote", remote, job_id], capture_output=True, timeout=60)


def test_a_busy_local_port_names_a_free_one(remote: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        result = children.run(
            [*QXUB, "exec", "--remote", remote, "--forward", f"{taken}:80", "--", "true"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"local port {taken} is already in use" in result.stderr
    assert re.search(r"port \d+ is free: --forward \d+:PORT", result.stderr)


def test_a_forward_reopens_after_the_connection_drops(remote: str, tmp_path: Path) -> None:
    """What a follow that re-attaches over a new connection asks of the forwards: `heal`,
    which leaves a tunnel in place alone and reopens one whose connection went."""
    from qxub.cli.configured import cli_config
    from qxub.remote.config import find_remote
    from qxub.remote.forwarding import Forwarder, PortSpec
    from qxub.remote.openssh import OpenSshTransport
    from qxub.remote.paramiko.transport import ParamikoTransport
    from qxub.remote.reach import transport_for

    port, local = free_port(), free_port()
    server = children.popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    transport = transport_for(find_remote(cli_config(), remote))
    said: list[str] = []
    forwarder = Forwarder(transport, [PortSpec(local, port)], lambda: "127.0.0.1", said.append)
    try:
        assert forwarder.ready.wait(30), said
        assert "Directory listing" in fetch(local)
        forwarder.heal()
        assert forwarder.ready.is_set() and len(said) == 1, said  # in place: left alone
        if isinstance(transport, OpenSshTransport):
            assert transport.exit_master()  # the connection goes, and its forward with it
            assert refused(local)
            opened = 2
        else:
            # The relay listens here and opens each channel on the connection of the moment.
            assert isinstance(transport, ParamikoTransport)
            transport.connection().close()
            opened = 1
        forwarder.heal()  # what a follow does when it re-attaches
        assert forwarder.ready.wait(30), said
        assert "Directory listing" in fetch(local)
        assert len([line for line in said if "ready" in line]) == opened, said
    finally:
        forwarder.close()
        server.kill()
        server.wait()
    assert refused(local)
