"""The ssh session of `qxub exec --remote` opened at start-up (qxub.remote.warm), against a
real sshd: it is used when the run starts the same command line, and it never runs anything
the run itself would not have run."""

from __future__ import annotations

import marshal
import os
from pathlib import Path

import pytest
from test_follow import _kill_master
from test_ssh_transport import MakeTransport, make_transport, target_of  # noqa: F401

from qxub.remote.openssh import OpenSshTransport
from qxub.remote.warm import remote_named, script_input

from helpers import qxub
from remotes import mirror
from sshd_server import SshServer

OPENED_AHEAD = "the ssh session was opened at start-up"


def _store() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "qxub" / "warm-ssh.marshal"


@pytest.mark.parametrize(
    ("words", "name"),
    [
        (["exec", "--remote", "gadi", "--", "true"], "gadi"),
        (["exec", "--mem", "4GB", "--remote=gadi", "-v", "--", "x", "--remote", "y"], "gadi"),
        (["exec", "--remote", "gadi", "--", "--remote", "other"], "gadi"),
        (["exec", "--", "--remote", "gadi"], None),  # the command's own words
        (["exec", "--remote", "gadi", "python3", "x.py"], None),  # no `--`: no guess
        (["exec", "--remote", "gadi", "--dry", "--", "true"], None),  # submits nothing
        (["exec", "--remote", "gadi", "--help", "--"], None),
        (["exec", "--remote", "gadi", "--interactive", "--"], None),  # a terminal
        (["status", "--remote", "gadi", "--"], None),
        ([], None),
    ],
)
def test_which_runs_open_a_session_ahead(words: list[str], name: str | None) -> None:
    assert remote_named(words) == name


@pytest.mark.sshd
def test_a_script_that_reads_stdin_does_not_read_its_own_lines(
    sshd: SshServer,
    make_transport: MakeTransport,  # noqa: F811
) -> None:
    """The script travels on the stdin of `bash -s`; a command in it that reads stdin gets
    the end of input, not the lines after it."""
    transport: OpenSshTransport = make_transport(target_of(sshd))
    process = transport.popen(["echo before", "cat", "echo after; exit 3"])
    out, err = process.communicate(timeout=30)
    assert (process.returncode, out) == (3, b"before\nafter\n"), err
    assert script_input(["a"]) == b"{\na\n}\n"


@pytest.mark.sshd
def test_the_next_run_uses_the_session_opened_ahead(remote: str) -> None:
    first = qxub("exec", "--remote", remote, "-v", "--", "echo", "one")
    assert (first.returncode, first.stdout) == (0, "one\n"), first.stderr
    assert OPENED_AHEAD not in first.stderr  # nothing known yet
    assert remote in marshal.loads(_store().read_bytes())
    second = qxub("exec", "--remote", remote, "-v", "--", "sh", "-c", "echo two; exit 4")
    assert (second.returncode, second.stdout) == (4, "two\n"), second.stderr
    assert OPENED_AHEAD in second.stderr


@pytest.mark.sshd
def test_a_refused_run_runs_nothing_there(remote: str, remote_home: Path) -> None:
    assert qxub("exec", "--remote", remote, "--", "true").returncode == 0
    done = mirror(remote_home) / "done.txt"
    for bad in (["--mem", "lots"], ["--no-such-option"], ["--pull", "../outside"]):
        result = qxub("exec", "--remote", remote, *bad, "--", "touch", "done.txt")
        assert result.returncode not in (0, 3), result.stderr
        assert not done.exists(), bad
    assert qxub("exec", "--remote", remote, "--", "touch", "done.txt").returncode == 0
    assert done.exists()


@pytest.mark.sshd
@pytest.mark.usefixtures("fresh_masters")
def test_no_session_ahead_without_a_master_connection(remote: str, sshd: SshServer) -> None:
    """Opening a session ahead would open a connection: only while a master is up."""
    assert qxub("exec", "--remote", remote, "--", "true").returncode == 0
    _kill_master(sshd)
    result = qxub("exec", "--remote", remote, "-v", "--", "echo", "back")
    assert (result.returncode, result.stdout) == (0, "back\n"), result.stderr
    assert OPENED_AHEAD not in result.stderr


@pytest.mark.sshd
def test_a_changed_remote_is_not_reached_through_the_old_session(
    remote: str, sshd: SshServer
) -> None:
    """The stored command line is only a guess: a run whose own differs starts its own."""
    assert qxub("exec", "--remote", remote, "--", "true").returncode == 0
    store = marshal.loads(_store().read_bytes())
    store[remote]["argv"] = [*store[remote]["argv"][:-1], "echo stale session"]
    _store().write_bytes(marshal.dumps(store))
    result = qxub("exec", "--remote", remote, "-v", "--", "echo", "fresh")
    assert (result.returncode, result.stdout) == (0, "fresh\n"), result.stderr
    assert OPENED_AHEAD not in result.stderr
