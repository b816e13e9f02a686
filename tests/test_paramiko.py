"""The paramiko transport against the real sshd on 127.0.0.1: the ssh config, host keys,
logins, proxies, and a channel that behaves like the Popen of an `ssh` command. The remote
and sync suites run over it too (remotes.py); these are what only it has."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qxub.remote.openssh import OpenSshTransport
from qxub.remote.paramiko import connect as paramiko_connect
from qxub.remote.paramiko.ssh_config import resolve
from qxub.remote.paramiko.transport import ParamikoTransport
from qxub.remote.target import SshError, SshTarget

import children
from helpers import assert_one_line_error, qxub
from remotes import write_config
from sshd_server import ALIAS, SshServer


@pytest.fixture(autouse=True)
def fresh_connections() -> Iterator[None]:
    """No connection cached by an earlier test: each test connects (and logs in) anew."""
    paramiko_connect._close_all()
    paramiko_connect._CONNECTIONS.clear()
    yield
    paramiko_connect._close_all()
    paramiko_connect._CONNECTIONS.clear()


def target_of(sshd: SshServer, config: Path | None = None, host: str | None = None) -> SshTarget:
    if host is not None:
        return SshTarget(host, config_file=str(config or sshd.ssh_config))
    return SshTarget(sshd.host, sshd.user, sshd.port, str(config or sshd.ssh_config))


def failure(target: SshTarget) -> SshError:
    with pytest.raises(SshError) as caught:
        ParamikoTransport(target).run(["true"])
    return caught.value


def test_importing_the_cli_does_not_import_paramiko() -> None:
    code = "import sys, qxub.cli.main; print('paramiko' in sys.modules)"
    found = children.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert found.stdout == "False\n", found.stderr


# --- running commands ------------------------------------------------------------------------


@pytest.mark.sshd
def test_popen_behaves_like_the_popen_of_ssh(sshd: SshServer) -> None:
    transport = ParamikoTransport(target_of(sshd))
    process = transport.popen(["echo out", "echo err >&2", "exit 3"])
    assert process.stdout is not None and process.stderr is not None
    assert (process.stdout.read(), process.stderr.read(), process.wait(10)) == (
        b"out\n",
        b"err\n",
        3,
    )
    slow = transport.popen(["sleep 30"])
    with pytest.raises(subprocess.TimeoutExpired):
        slow.wait(timeout=0.2)
    assert slow.poll() is None
    slow.terminate()
    assert slow.wait(5) < 0  # like a Popen killed by a signal
    result = transport.run(["echo hi", "exit 255"], check=False)
    assert result.returncode == 255 and result.stdout == "hi\n"
    assert transport.connection_error(255, "") is None  # the script's own 255


@pytest.mark.sshd
def test_a_tty_when_forced(sshd: SshServer) -> None:
    transport = ParamikoTransport(target_of(sshd), force_tty=True)
    process = transport.popen(["tty"])
    assert process.stdout is not None
    assert process.stdout.read().startswith(b"/dev/pts/") and process.wait(10) == 0
    assert ParamikoTransport(target_of(sshd)).run(["tty || true"]).stdout == "not a tty\n"


@pytest.mark.sshd
def test_one_connection_per_target_in_a_process(sshd: SshServer) -> None:
    before = sshd.accepted_logins()
    for _ in range(3):
        assert ParamikoTransport(target_of(sshd)).run(["echo ok"]).stdout == "ok\n"
    assert sshd.accepted_logins() == before + 1


@pytest.mark.sshd
def test_a_dropped_connection_is_reported_as_closed(sshd: SshServer) -> None:
    transport = ParamikoTransport(target_of(sshd))
    process = transport.popen(["sleep 30"])
    sshd.stop()
    sshd.start()
    assert process.wait(10) == 255
    error = transport.connection_error(255, "")
    assert error is not None and error.kind == "closed" and "was lost" in error.message
    assert transport.run(["echo back"]).stdout == "back\n"  # connects again


# --- the ssh config ----------------------------------------------------------------------------


@pytest.mark.sshd
def test_alias_and_include_from_the_config(sshd: SshServer, tmp_path: Path) -> None:
    main = tmp_path / "config"
    main.write_text(f"Include {sshd.ssh_config}\n")
    transport = ParamikoTransport(target_of(sshd, main, host=ALIAS))
    assert transport.run(["whoami"]).stdout.strip() == sshd.user
    settings = resolve(SshTarget(ALIAS, "someone", 2222, str(main)))
    assert (settings.hostname, settings.user, settings.port) == (sshd.host, "someone", 2222)


@pytest.mark.sshd
def test_proxy_command(sshd: SshServer, tmp_path: Path) -> None:
    relay = tmp_path / "relay.py"
    relay.write_text(
        "import os, socket, sys, threading\n"
        "s = socket.create_connection((sys.argv[1], int(sys.argv[2])))\n"
        "def up():\n"
        "    while data := os.read(0, 65536):\n"
        "        s.sendall(data)\n"
        "threading.Thread(target=up, daemon=True).start()\n"
        "while data := s.recv(65536):\n"
        "    os.write(1, data)\n"
    )
    config = tmp_path / "config"
    config.write_text(
        f"Host via-proxy\n    ProxyCommand {sys.executable} {relay} %h %p\n"
        + sshd.ssh_config.read_text().replace(f"Host {ALIAS}", f"Host {ALIAS} via-proxy")
    )
    transport = ParamikoTransport(target_of(sshd, config, host="via-proxy"))
    assert transport.run(["echo through"]).stdout == "through\n"


@pytest.mark.sshd
def test_proxy_jump(sshd: SshServer, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(
        f"Host jumped\n    HostName {sshd.host}\n    Port {sshd.port}\n    ProxyJump {ALIAS}\n"
        + sshd.ssh_config.read_text()
    )
    before = sshd.accepted_logins()
    transport = ParamikoTransport(target_of(sshd, config, host="jumped"))
    assert transport.run(["echo $SSH_CONNECTION"]).stdout.split()[0] == "127.0.0.1"
    assert sshd.accepted_logins() == before + 2  # the jump host, then the target through it


# --- host keys and logins ----------------------------------------------------------------------


@pytest.mark.sshd
def test_unknown_host_key_is_refused_as_with_openssh(sshd: SshServer, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    config = sshd.write_client_config(tmp_path / "config", known_hosts=empty)
    control = Path(os.environ["HOME"]) / "c"
    control.mkdir()
    with pytest.raises(SshError) as openssh:
        OpenSshTransport(target_of(sshd, config), control_dir=control).run(["true"])
    ours = failure(target_of(sshd, config))
    assert ours.kind == openssh.value.kind == "unknown_host_key"
    assert ours.message == openssh.value.message
    line = sshd.known_hosts_line(sshd.host_key).strip()
    assert line in ours.hint and str(empty) in ours.hint  # what to add, and where
    assert empty.read_text() == ""  # nothing accepted


@pytest.mark.sshd
def test_changed_host_key_is_refused(sshd: SshServer, tmp_path: Path) -> None:
    wrong = sshd.write_wrong_known_hosts(tmp_path / "known_hosts")
    error = failure(target_of(sshd, sshd.write_client_config(tmp_path / "c", known_hosts=wrong)))
    assert error.kind == "changed_host_key" and "CHANGED" in error.message


@pytest.mark.sshd
def test_hashed_known_hosts_entries(sshd: SshServer, tmp_path: Path) -> None:
    hashed = tmp_path / "known_hosts"
    shutil.copy(sshd.known_hosts, hashed)
    children.run(["ssh-keygen", "-q", "-H", "-f", str(hashed)], check=True, capture_output=True)
    assert hashed.read_text().startswith("|1|")
    config = sshd.write_client_config(tmp_path / "config", known_hosts=hashed)
    assert ParamikoTransport(target_of(sshd, config)).run(["echo ok"]).stdout == "ok\n"


@pytest.mark.sshd
def test_login_refused(sshd: SshServer, tmp_path: Path) -> None:
    stranger = sshd.make_stranger_key(tmp_path / "stranger")
    config = sshd.write_client_config(tmp_path / "config", identity_file=stranger)
    error = failure(target_of(sshd, config))
    assert error.kind == "auth" and "refused the login" in error.message
    assert "ssh-add" in (error.hint or "")


def test_unresolved_and_unreachable(sshd: SshServer, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("")
    assert failure(SshTarget("no-such-host.invalid", config_file=str(config))).kind == "unresolved"
    error = failure(SshTarget("127.0.0.1", port=1, config_file=str(config)))
    assert error.kind == "unreachable" and "127.0.0.1:1" in error.message


# --- a laptop without OpenSSH or rsync -----------------------------------------------------------


def bare_path(tmp_path: Path) -> str:
    """A PATH with a shell and core tools, but no ssh and no rsync."""
    folder = tmp_path / "bin"
    folder.mkdir()
    tools = ["python3", "bash", "sh", "env", "cat", "ls", "mkdir", "rm", "cp", "git", "uname"]
    for tool in tools:
        found = shutil.which(tool)
        if found:
            (folder / tool).symlink_to(found)
    (folder / "python3").unlink(missing_ok=True)
    (folder / "python3").symlink_to(sys.executable)
    return str(folder)


@pytest.mark.sshd
def test_exec_sync_and_pull_without_ssh_or_rsync(
    remote: str, sshd: SshServer, remote_home: Path, tmp_path: Path
) -> None:
    settings = {
        "url": sshd.url,
        "config": str(sshd.ssh_config),
        "working_dir": str(remote_home / "scratch"),
        "qxub_command": f"env XDG_STATE_HOME={remote_home / 'state'} {sys.executable} -m qxub",
    }
    write_config({"R": settings})  # no transport, no sync_engine: chosen by what is here
    env = {"PATH": bare_path(tmp_path)}
    assert shutil.which("ssh", path=env["PATH"]) is None
    assert shutil.which("rsync", path=env["PATH"]) is None
    (Path.cwd() / "in.txt").write_text("data\n")
    result = qxub(
        "exec", "--remote", "R", "--sync", "--pull", "out.txt", "--",
        "sh", "-c", "tr a-z A-Z < in.txt > out.txt", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (Path.cwd() / "out.txt").read_text() == "DATA\n"
    assert result.stderr.count("no ssh client on PATH: reaching R with paramiko") == 1
    test = qxub("remote", "test", "R", env=env)
    assert test.returncode == 0, test.stdout
    assert "paramiko (auto: no ssh client on PATH)" in test.stdout
    assert "rsync here   not found" in test.stdout
    assert "sync engine  sftp" in test.stdout


@pytest.mark.sshd
def test_unknown_host_key_without_ssh(
    remote: str, sshd: SshServer, remote_home: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    config = sshd.write_client_config(tmp_path / "config", known_hosts=empty)
    write_config({"R": {"url": sshd.url, "config": str(config)}})
    result = qxub("exec", "--remote", "R", "--", "true", env={"PATH": bare_path(tmp_path)})
    assert_one_line_error(result)
    assert "is not known yet (qxub never accepts one by itself)" in result.stderr
    assert empty.read_text() == ""
