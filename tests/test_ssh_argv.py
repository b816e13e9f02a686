"""The OpenSSH transport with no server: the argv it builds, ssh:// URLs, its control socket
directory, and how it classifies failures from stderr that ssh really prints (written down
here). The tests against a real sshd are in test_ssh_transport.py."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from qxub.errors import ConfigError, QxubError
from qxub.remote.openssh import (
    MAX_CONTROL_DIR_LEN,
    OpenSshTransport,
    classify_ssh_failure,
    default_control_dir,
    ensure_private_dir,
)
from qxub.remote.scripts import remote_command
from qxub.remote.target import SshTarget


def test_base_argv() -> None:
    target = SshTarget("gadi.nci.org.au", "jr9959", 2222, "~/cfg")
    argv = OpenSshTransport(target, control_dir=Path("/tmp/qxub-0"), persist="5m").base_argv()
    assert argv[:3] == ["ssh", "-F", os.path.expanduser("~/cfg")]
    assert argv[-5:] == ["-p", "2222", "-l", "jr9959", "gadi.nci.org.au"]
    options = dict(argv[i + 1].split("=", 1) for i, arg in enumerate(argv) if arg == "-o")
    expected = {"BatchMode": "yes", "ControlMaster": "auto", "ControlPath": "/tmp/qxub-0/%C"}
    assert options.items() >= {**expected, "ControlPersist": "5m"}.items()


def test_rsync_rsh_has_no_host_and_no_stdin_redirect() -> None:
    transport = OpenSshTransport(SshTarget("gadi", port=22), control_dir=Path("/tmp/x y"))
    words = shlex.split(transport.rsync_rsh())
    assert "gadi" not in words and "-n" not in words and "-T" not in words
    assert "ControlPath=/tmp/x y/%C" in words


def test_remote_command_is_safe_for_any_login_shell() -> None:
    command = remote_command(["echo 'a\nb'", "exit 0"])
    assert "\n" not in command
    inner = shlex.split(command)
    assert inner[:3] == ["bash", "--norc", "-c"]


def test_force_tty_overrides_the_caller() -> None:
    target = SshTarget("gadi")
    assert OpenSshTransport(target, control_dir=Path("/tmp/q"), force_tty=True).resolve_tty(False)
    assert not OpenSshTransport(target, control_dir=Path("/tmp/q")).resolve_tty(None)
    assert OpenSshTransport(target, control_dir=Path("/tmp/q")).resolve_tty(True)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ssh://jr9959@gadi.nci.org.au", SshTarget("gadi.nci.org.au", "jr9959")),
        ("ssh://gadi", SshTarget("gadi")),
        ("ssh://u@127.0.0.1:2222/", SshTarget("127.0.0.1", "u", 2222)),
        ("ssh://u@[::1]:22", SshTarget("::1", "u", 22)),
    ],
)
def test_from_url(url: str, expected: SshTarget) -> None:
    assert SshTarget.from_url(url) == expected


@pytest.mark.parametrize(
    "url", ["gadi", "http://gadi", "ssh://gadi/scratch", "ssh://gadi:x", "ssh://-oProxyCommand=x"]
)
def test_from_url_rejects(url: str) -> None:
    with pytest.raises(ConfigError):
        SshTarget.from_url(url)


def test_control_dir_too_long() -> None:
    with pytest.raises(QxubError, match="too long"):
        OpenSshTransport(SshTarget("gadi"), control_dir=Path("/tmp/" + "x" * MAX_CONTROL_DIR_LEN))


def test_default_control_dir_is_private(monkeypatch: pytest.MonkeyPatch, control_dir: Path) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(control_dir))
    path = default_control_dir()
    assert path == control_dir / "qxub"
    assert path.stat().st_mode & 0o777 == 0o700


def test_private_dir_rejects_others_and_tightens_ours(control_dir: Path) -> None:
    loose = control_dir / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    assert ensure_private_dir(loose).stat().st_mode & 0o777 == 0o700
    link = control_dir / "link"
    link.symlink_to(loose)
    with pytest.raises(QxubError, match="not a directory"):
        ensure_private_dir(link)
    if os.getuid() != 0:
        return  # only root can give a directory away
    foreign = control_dir / "foreign"
    foreign.mkdir()
    os.chown(foreign, 4242, 4242)
    with pytest.raises(QxubError, match="another user"):
        ensure_private_dir(foreign)


@pytest.mark.parametrize(
    ("stderr", "kind"),
    [
        ("ssh: connect to host gadi port 22: Connection timed out", "unreachable"),
        ("ssh: connect to host gadi port 22: No route to host", "unreachable"),
        ("Connection timed out during banner exchange\nConnection to 10.0.0.1 port 22 timed out",
         "unreachable"),
        ("Control socket connect(/tmp/q/ab): Connection refused\n"
         "jr9959@gadi: Permission denied (publickey,password).", "auth"),
        ("/home/u/cfg: line 3: Bad configuration option: foo", "config"),
        ("kex_exchange_identification: Connection closed by remote host", "closed"),
        ("Timeout, server gadi not responding.", "closed"),
    ],
)  # fmt: skip
def test_classify_what_ssh_prints(stderr: str, kind: str) -> None:
    error = classify_ssh_failure(stderr, SshTarget("gadi", "jr9959"))
    assert error is not None and error.kind == kind


def test_classify_unknown_message() -> None:
    assert classify_ssh_failure("something else entirely", SshTarget("gadi")) is None
