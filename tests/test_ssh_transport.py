"""The OpenSSH transport against a real sshd on 127.0.0.1 (tests/sshd_server.py).

The server is this machine, so a test can check on the "remote" side by looking at local files.
What needs no server (argv, URLs, control dirs, reading ssh's stderr) is in test_ssh_argv.py.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from qxub.errors import CommandFailed
from qxub.remote.openssh import OpenSshTransport
from qxub.remote.target import SshError, SshTarget

import children
from sshd_server import SshServer, free_port

MakeTransport = Callable[[SshTarget], OpenSshTransport]

AWKWARD_WORDS = [
    "two words", "it's", 'say "hi"', "$(touch {canary})", "`touch {canary}`", "a;touch {canary}",
    "line one\nline two", "tab\there", "*", "~", "!!", "back\\slash", "", "-n", "héllo ✓",
    "${{HOME}}", "trailing newline\n",
]  # fmt: skip


@pytest.fixture
def make_transport(control_dir: Path) -> Iterator[MakeTransport]:
    """Build transports that share this test's control dir; their masters exit at the end."""
    made: list[OpenSshTransport] = []

    def make(target: SshTarget) -> OpenSshTransport:
        transport = OpenSshTransport(target, control_dir=control_dir, connect_timeout=5)
        made.append(transport)
        return transport

    yield make
    for transport in made:
        transport.exit_master()


def target_of(sshd: SshServer, config: Path | None = None) -> SshTarget:
    return SshTarget(sshd.host, sshd.user, sshd.port, str(config or sshd.ssh_config))


@pytest.fixture
def transport(sshd: SshServer, make_transport: MakeTransport) -> OpenSshTransport:
    return make_transport(target_of(sshd))


# --- running commands --------------------------------------------------------------------------


@pytest.mark.sshd
def test_run_returns_stdout_stderr_and_exit_code(transport: OpenSshTransport) -> None:
    result = transport.run(["echo out", "echo err >&2", "exit 3"], check=False)
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")


@pytest.mark.sshd
def test_failing_script_raises_command_failed_with_script_and_stderr(
    transport: OpenSshTransport,
) -> None:
    with pytest.raises(CommandFailed) as caught:
        transport.run(["echo 'no such thing' >&2", "exit 7"])
    assert not isinstance(caught.value, SshError)
    assert "exit code 7" in caught.value.message
    assert "no such thing" in caught.value.message
    assert "exit 7" in caught.value.message  # the script itself, readable, not base64


@pytest.mark.sshd
def test_awkward_words_survive_when_quoted_by_the_caller(
    transport: OpenSshTransport, tmp_path: Path
) -> None:
    canary = tmp_path / "canary"
    words = [word.format(canary=canary) for word in AWKWARD_WORDS]
    result = transport.run(["printf '%s\\0' " + " ".join(shlex.quote(w) for w in words)])
    assert result.stdout.split("\0")[:-1] == words
    assert not canary.exists()


@pytest.mark.sshd
def test_script_lines_run_as_one_bash_script(transport: OpenSshTransport) -> None:
    lines = [
        "set -eu",
        'greet() { echo "hello $1"; }',
        'if [ "$(echo 1)" = 1 ]; then',
        "  greet world",
        "fi",
        "cat <<'EOF'",
        "literal $HOME `id`",
        "EOF",
        'echo "$0 $BASH_VERSION" | cut -c1-4',
    ]
    assert transport.run(lines).stdout == "hello world\nliteral $HOME `id`\nbash\n"


@pytest.mark.sshd
def test_stdin_is_not_the_script(transport: OpenSshTransport) -> None:
    # With `bash -s` a reading command would swallow the rest of the script (or hang).
    result = transport.run(["cat", "echo after"], timeout=20)
    assert result.stdout == "after\n"


@pytest.mark.sshd
def test_remote_script_sees_an_sshd_environment(transport: OpenSshTransport) -> None:
    result = transport.run(['echo "$SSH_CONNECTION"', "tty || true"])
    connection, tty = result.stdout.splitlines()
    assert connection.split()[2:] == ["127.0.0.1", str(transport.target.port)]
    assert tty == "not a tty"


@pytest.mark.sshd
def test_tty_mode_allocates_a_terminal(transport: OpenSshTransport) -> None:
    argv = transport.command_argv(["tty"], tty=True)
    assert "-tt" in argv and "-T" not in argv
    proc = children.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0 and proc.stdout.startswith("/dev/pts/")


@pytest.mark.sshd
def test_popen_streams_stdout_and_stderr_separately(transport: OpenSshTransport) -> None:
    proc = transport.popen(["echo first", "echo oops >&2", "sleep 2", "echo second"])
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"first\n"
    assert proc.poll() is None  # the line arrived while the script still ran
    out, err = proc.communicate(timeout=30)
    assert (out, err, proc.returncode) == (b"second\n", b"oops\n", 0)


@pytest.mark.sshd
def test_alias_from_the_config_file(sshd: SshServer, make_transport: MakeTransport) -> None:
    transport = make_transport(SshTarget("qxub-test", config_file=str(sshd.ssh_config)))
    assert transport.run(["whoami"]).stdout.strip() == sshd.user
    assert "-p" not in transport.base_argv() and "-l" not in transport.base_argv()


@pytest.mark.sshd
def test_url_of_the_fixture(sshd: SshServer, make_transport: MakeTransport) -> None:
    target = SshTarget.from_url(sshd.url, config_file=str(sshd.ssh_config))
    assert (target.host, target.user, target.port) == (sshd.host, sshd.user, sshd.port)
    assert make_transport(target).run(["echo ok"]).stdout == "ok\n"


@pytest.mark.sshd
def test_sshd_setenv_reaches_remote_commands(
    sshd: SshServer, make_transport: MakeTransport
) -> None:
    sshd.set_env({"QXUB_TEST_SETENV": "a value"})
    try:
        result = make_transport(target_of(sshd)).run(['echo "$QXUB_TEST_SETENV"'])
        assert result.stdout == "a value\n"
    finally:
        sshd.set_env({})


# --- the master connection ---------------------------------------------------------------------


@pytest.mark.sshd
def test_master_is_reused(sshd: SshServer, transport: OpenSshTransport) -> None:
    assert not transport.check_master()
    before = sshd.accepted_logins()
    transport.run(["true"])
    assert sshd.accepted_logins() == before + 1
    assert transport.check_master()
    pid = transport.master_pid()
    assert pid is not None
    for _ in range(3):
        transport.run(["true"])
    assert sshd.accepted_logins() == before + 1  # no new TCP connection, no new login
    assert transport.master_pid() == pid
    assert transport.exit_master()
    assert not transport.check_master()
    assert transport.master_pid() is None


@pytest.mark.sshd
def test_rsync_shares_the_master(
    sshd: SshServer, transport: OpenSshTransport, tmp_path: Path
) -> None:
    assert shutil.which("rsync"), "rsync is not installed: run scripts/setup-test-env"
    source = tmp_path / "src dir"
    source.mkdir()
    (source / "a file").write_text("hello")
    transport.run(["true"])
    before = sshd.accepted_logins()
    dest = tmp_path / "dest dir"
    argv = ["rsync", "-a", "-e", transport.rsync_rsh(), f"{source}/", f"{sshd.host}:{dest}/"]
    children.run(argv, check=True, capture_output=True, timeout=60)
    assert (dest / "a file").read_text() == "hello"
    assert sshd.accepted_logins() == before


@pytest.mark.sshd
def test_server_restart_recovers(sshd: SshServer, transport: OpenSshTransport) -> None:
    transport.run(["true"])
    old_master = transport.master_pid()
    sshd.stop()
    try:
        with pytest.raises(SshError) as caught:
            transport.run(["true"])
        assert caught.value.kind == "unreachable"
    finally:
        sshd.start()
    assert transport.run(["echo back"]).stdout == "back\n"
    assert transport.master_pid() not in (None, old_master)
    for _ in range(3):  # the next command right after a drop, while the old master dies
        sshd.stop()
        sshd.start()
        assert transport.run(["echo back"]).stdout == "back\n"


@pytest.mark.sshd
def test_stale_control_socket_does_not_wedge(
    transport: OpenSshTransport, control_dir: Path
) -> None:
    transport.run(["true"])
    pid = transport.master_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # the socket file stays behind, with no one listening
    time.sleep(0.1)
    assert list(control_dir.iterdir())
    assert transport.run(["echo fine"], timeout=30).stdout == "fine\n"
    assert transport.master_pid() not in (None, pid)


@pytest.mark.sshd
def test_dropped_connection_during_a_stream_is_reported(
    sshd: SshServer, transport: OpenSshTransport
) -> None:
    proc = transport.popen(["echo $$", "exec sleep 60"])
    assert proc.stdout is not None
    remote_pid = int(proc.stdout.readline())
    try:
        sshd.stop()
        _, err = proc.communicate(timeout=30)
    finally:
        sshd.start()
        with contextlib.suppress(ProcessLookupError):
            os.kill(remote_pid, signal.SIGKILL)  # the "remote" job outlives the connection
    assert proc.returncode == 255
    error = transport.connection_error(proc.returncode, err.decode())
    assert error is not None and error.kind == "closed"


@pytest.mark.sshd
def test_script_exiting_255_is_not_a_connection_failure(transport: OpenSshTransport) -> None:
    result = transport.run(["exit 255"], check=False)
    assert result.returncode == 255
    assert transport.connection_error(result.returncode, result.stderr) is None


# --- each failure gives its own error ----------------------------------------------------------


def failure_of(transport: OpenSshTransport) -> SshError:
    with pytest.raises(SshError) as caught:
        transport.run(["echo should not run"], check=False)
    return caught.value


@pytest.mark.sshd
def test_unreachable_port(sshd: SshServer, make_transport: MakeTransport) -> None:
    closed_port = free_port()
    error = failure_of(make_transport(SshTarget(sshd.host, sshd.user, closed_port)))
    assert error.kind == "unreachable"
    assert "Connection refused" in error.message and str(closed_port) in error.message


@pytest.mark.sshd
def test_changed_host_key(sshd: SshServer, make_transport: MakeTransport, tmp_path: Path) -> None:
    known_hosts = sshd.write_wrong_known_hosts(tmp_path / "known_hosts")
    config = sshd.write_client_config(tmp_path / "config", known_hosts=known_hosts)
    error = failure_of(make_transport(target_of(sshd, config)))
    assert error.kind == "changed_host_key"
    assert "CHANGED" in error.message
    assert error.hint is not None
    assert "admins" in error.hint
    assert f"ssh-keygen -f {known_hosts} -R '[127.0.0.1]:{sshd.port}'" in error.hint


@pytest.mark.sshd
def test_unknown_host_key(sshd: SshServer, make_transport: MakeTransport, tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    config = sshd.write_client_config(tmp_path / "config", known_hosts=known_hosts)
    error = failure_of(make_transport(target_of(sshd, config)))
    assert error.kind == "unknown_host_key"
    assert error.hint is not None
    assert f"ssh -F {config} -p {sshd.port} {sshd.user}@{sshd.host}" in error.hint


@pytest.mark.sshd
def test_authentication_failure(
    sshd: SshServer, make_transport: MakeTransport, tmp_path: Path
) -> None:
    stranger = sshd.make_stranger_key(tmp_path / "stranger")
    config = sshd.write_client_config(tmp_path / "config", identity_file=stranger)
    error = failure_of(make_transport(target_of(sshd, config)))
    assert error.kind == "auth"
    assert "Permission denied (publickey" in error.message
    assert error.hint is not None and "BatchMode" in error.hint


@pytest.mark.sshd
def test_unresolvable_host(sshd: SshServer, make_transport: MakeTransport) -> None:
    target = SshTarget("nonexistent.invalid", config_file=str(sshd.ssh_config))
    error = failure_of(make_transport(target))
    assert error.kind == "unresolved"
    assert "nonexistent.invalid" in error.message
