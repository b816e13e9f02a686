"""The ssh session of `qxub exec --remote` opened at start-up (qxub.remote.warm), against a
real sshd: it is used when the run starts the same command line, and it never runs anything
the run itself would not have run."""

from __future__ import annotations

import marshal
import os
import shutil
from pathlib import Path

import pytest
from test_follow import _kill_master
from test_ssh_transport import MakeTransport, make_transport, target_of  # noqa: F401

from qxub.remote import handover
from qxub.remote.openssh import OpenSshTransport
from qxub.remote.warm import remote_named, script_input

import children
from helpers import QXUB, qxub
from remotes import mirror, remote_settings, write_config
from sshd_server import SshServer

OPENED_AHEAD = "the ssh session was opened at start-up"
STARTED_AHEAD = "the ssh session was opened at start-up, and qxub started there"


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
    assert STARTED_AHEAD in second.stderr  # and the remote qxub, from the first's prelude


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


def _prelude(remote: str) -> tuple[str, ...] | None:
    found = marshal.loads(_store().read_bytes())[remote].get("prelude")
    assert found is None or isinstance(found, tuple)
    return found


@pytest.mark.parametrize(
    ("sub", "words"),
    [
        (".", ["exec", "--", "true"]),
        ("a b/c", ["exec", "--mem", "1GB", "--", "sh", "-c", "echo 'x\ny' \"$@\"", "-", "$HOME"]),
        ("\udcff", ["exec", "--", "printf", "%s", "caf\udce9", ""]),
    ],
)
def test_the_words_handed_over_are_read_back_whole(sub: str, words: list[str]) -> None:
    assert handover.parse(handover.payload(sub, words)) == (sub, words)


@pytest.mark.parametrize("data", [b"", b"qxub-await 1\0.", b"other\0.\0exec\0", b"\n"])
def test_anything_but_a_payload_runs_nothing(data: bytes) -> None:
    assert handover.parse(data) is None


@pytest.mark.sshd
def test_the_remote_qxub_started_ahead_runs_the_words(remote: str, remote_home: Path) -> None:
    """The third run finds the session opened ahead with the remote qxub started in it: it
    hands over where to stand and the words (metacharacters, a newline, a non-UTF-8 byte),
    and everything is as if the whole script had run there (the mirror's folder created and
    entered, PWD set, the job's exit code)."""
    sub = Path.cwd() / "a b" / "$(touch x)"
    sub.mkdir(parents=True)
    for _ in range(2):
        assert qxub("exec", "--remote", remote, "--", "true", cwd=sub).returncode == 0
    assert _prelude(remote) is not None
    there = mirror(remote_home) / "a b" / "$(touch x)"
    shutil.rmtree(there)
    word = b"caf\xe9 $HOME `id` 'q'\nline"
    script = 'printf "%s|" "$1" "$PWD" "$(pwd -P)" "$QXUB_AWAIT_ROOT"; exit 7'
    argv = [*QXUB, "exec", "--remote", remote, "-v", "--", "sh", "-c", script, "-", word]
    result = children.run(argv, cwd=sub, capture_output=True, check=False, timeout=60)
    said = result.stderr.decode(errors="replace")
    assert result.returncode == 7, said
    assert STARTED_AHEAD in said
    assert f"created {there} on " in said
    assert result.stdout == b"|".join([word, os.fsencode(there), os.fsencode(there), b"", b""])
    assert not (there / "x").exists()


@pytest.mark.sshd
def test_a_changed_preamble_is_not_handed_over(
    remote: str, sshd: SshServer, remote_home: Path
) -> None:
    """The prelude sent ahead is the last run's: when this run's differs (here the follow
    segment), that session is closed unused and the run starts its own."""
    for _ in range(2):
        assert qxub("exec", "--remote", remote, "--", "true").returncode == 0
    old = _prelude(remote)
    assert old is not None
    write_config({"R": remote_settings(sshd, remote_home, follow_segment="7m")})
    result = qxub(
        "exec", "--remote", remote, "--quiet", "--", "sh", "-c", "echo $QXUB_FOLLOW_SEGMENT"
    )
    assert (result.returncode, result.stdout) == (0, "420\n"), result.stderr
    assert result.stderr == ""
    assert _prelude(remote) not in (None, old)


@pytest.mark.sshd
def test_a_remote_qxub_that_does_not_await_gets_the_whole_script(
    remote: str, sshd: SshServer, remote_home: Path, tmp_path: Path
) -> None:
    """A remote qxub that does not know `_await` (an older build of the same version) never
    says it awaits: the run closes that session and sends the whole script in a new one."""
    wrapper = tmp_path / "old-qxub"
    command = remote_settings(sshd, remote_home)["qxub_command"]
    wrapper.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = _await ]; then echo "Error: No such command \'_await\'." >&2; exit 2; fi\n'
        f'exec {command} "$@"\n'
    )
    wrapper.chmod(0o755)
    write_config({"R": remote_settings(sshd, remote_home, qxub_command=str(wrapper))})
    for expected in ("one", "two", "three"):
        result = qxub("exec", "--remote", remote, "-v", "--", "echo", expected)
        assert (result.returncode, result.stdout) == (0, f"{expected}\n"), result.stderr
        assert "_await" not in result.stderr
        assert STARTED_AHEAD not in result.stderr
    assert _prelude(remote) is not None
