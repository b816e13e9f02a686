"""A remote's `sync_url`: transfers go through that host (a data mover), jobs through `url`."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from helpers import qxub
from remotes import remote_settings, write_config
from sshd_server import ALIAS, SshServer

pytestmark = [pytest.mark.sshd, pytest.mark.both_transports]


def test_push_and_pull_go_through_sync_url(remote: str, sshd: SshServer, remote_home: Path) -> None:
    # The alias reaches the same server under another name: a stand-in data mover.
    write_config({"R": remote_settings(sshd, remote_home, sync_url=f"ssh://{ALIAS}")})
    root = Path.cwd()
    (root / "a.py").write_text("a")
    pushed = qxub("remote", "push", "R")
    assert pushed.returncode == 0, pushed.stderr
    assert (remote_home / "scratch" / "proj" / "a.py").read_text() == "a"
    result = qxub(
        "exec", "--remote", "R", "--pull", "out.txt", "--", "sh", "-c", "echo o > out.txt"
    )
    assert result.returncode == 0, result.stderr
    assert (root / "out.txt").read_text() == "o\n"


def test_an_unreachable_data_mover_fails_the_push_not_the_job_host(
    remote: str, sshd: SshServer, remote_home: Path, fresh_masters: None, via: str
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    write_config({"R": remote_settings(sshd, remote_home, sync_url=f"ssh://127.0.0.1:{port}")})
    (Path.cwd() / "a.py").write_text("a")
    result = qxub("remote", "push", "R")
    assert result.returncode == 1
    said = "rsync failed" if via == "openssh" else f"cannot connect to {sshd.user}@127.0.0.1:{port}"
    assert said in result.stderr and "Traceback" not in result.stderr
    assert not (remote_home / "scratch" / "proj" / "a.py").exists()


@pytest.mark.openssh_only("the data mover is reached with OpenSSH")
def test_remote_test_checks_the_data_mover(remote: str, sshd: SshServer, remote_home: Path) -> None:
    write_config({"R": remote_settings(sshd, remote_home, sync_url=f"ssh://{ALIAS}")})
    result = qxub("remote", "test", "R")
    assert result.returncode == 0, result.stdout
    assert "data mover" in result.stdout and "rsync found" in result.stdout
