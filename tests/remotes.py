"""Fixtures for remotes over the real sshd: a remote `R` whose qxub is this installed qxub
with its own state dirs, a project to stand in, and private ssh control sockets.

`via` is the (transport, sync engine) pair a remote uses: "openssh" (OpenSSH and rsync), or
"paramiko" (paramiko and SFTP) in modules marked `both_transports`, which run every test
once with each (conftest.py parametrizes them); `openssh_only` keeps a test to the first."""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sshd_server import SshServer


@pytest.fixture(scope="session")
def control_dir() -> Iterator[str]:
    """A short private runtime dir for this session's ssh control sockets."""
    path = tempfile.mkdtemp(prefix="qx", dir="/tmp")
    yield path
    for sock in Path(path, "qxub").glob("*"):
        os.system(f"ssh -o ControlPath={shlex.quote(str(sock))} -O exit x >/dev/null 2>&1")


VIAS = {"openssh": ("openssh", "rsync"), "paramiko": ("paramiko", "sftp")}
_via = {"now": "openssh"}


@pytest.fixture
def via(request: pytest.FixtureRequest) -> Iterator[str]:
    """The pair this test runs with; `remote_settings` writes it into each remote."""
    _via["now"] = getattr(request, "param", "openssh")
    yield _via["now"]
    _via["now"] = "openssh"


@pytest.fixture
def remote_home(tmp_path: Path) -> Path:
    """The remote side's own HOME-like dirs, separate from the laptop's."""
    path = tmp_path / "remote"
    path.mkdir()
    return path


def remote_settings(sshd: SshServer, remote_home: Path, **extra: object) -> dict[str, object]:
    command = shlex.join(
        [
            "env",
            f"XDG_STATE_HOME={remote_home / 'state'}",
            f"XDG_CONFIG_HOME={remote_home / 'config'}",
            sys.executable,
            "-m",
            "qxub",
        ]
    )
    transport, engine = VIAS[_via["now"]]
    return {
        "url": sshd.url,
        "config": str(sshd.ssh_config),
        "working_dir": str(remote_home / "scratch"),
        "qxub_command": command,
        "transport": transport,
        "sync_engine": engine,
        **extra,
    }


def write_config(remotes: dict[str, object], **top: object) -> Path:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "qxub" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"remotes": remotes, **top}))
    return path


@pytest.fixture
def remote(
    via: str,
    sshd: SshServer,
    remote_home: Path,
    control_dir: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> str:
    monkeypatch.setenv("XDG_RUNTIME_DIR", control_dir)
    write_config({"R": remote_settings(sshd, remote_home)})
    project = tmp_path / "proj"
    (project / ".git").mkdir(parents=True)
    monkeypatch.chdir(project)
    return "R"


@pytest.fixture
def fresh_masters(remote: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No master connection to reuse: the client must connect (and check keys) anew."""
    path = tempfile.mkdtemp(prefix="qx", dir="/tmp")
    monkeypatch.setenv("XDG_RUNTIME_DIR", path)
    yield
    for sock in Path(path, "qxub").glob("*"):
        os.system(f"ssh -o ControlPath={shlex.quote(str(sock))} -O exit x >/dev/null 2>&1")
