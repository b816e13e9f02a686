"""Fixtures (a pytest plugin, loaded by conftest.py) for remotes over the real sshd: a remote
`R` whose qxub is this installed qxub with its own state dirs, a project to stand in, and ssh
control sockets (ssh_control_dir.py).

`via` is the (transport, sync engine) pair a remote uses: "openssh" (OpenSSH and rsync), or
"paramiko" (paramiko and SFTP) in modules marked `both_transports`, which run every test
once with each (pytest_generate_tests below parametrizes them); `openssh_only` keeps a test
to the first.

`layout` is where things live: "plain", or "weird" for tests marked `weird_paths`, which run
once more with the project root, the remote's working_dir and the project's remote_path under
names a shell would split, expand or take for an option (WEIRD)."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from sshd_server import SshServer

VIAS = {"openssh": ("openssh", "rsync"), "paramiko": ("paramiko", "sftp")}
_via = {"now": "openssh"}

# Spaces, both quotes, $() and backticks, ;, a newline, a leading dash, non-ASCII.
WEIRD = "-we ird 'q\" $(echo x) `echo y`;z\nnl-é"
# remote_path may hold anything but a newline (qxub refuses one there).
WEIRD_REMOTE_PATH = "-mir ror 'q\" $(echo x);é"


@dataclass(frozen=True)
class Layout:
    """Where a test's project, remote home and mirror are: `above` is a folder between the
    test's tmp_path and both the project and the remote home; `remote_path` (or None) is
    the project's mirror relative to the remote's working_dir."""

    name: str
    above: str = ""
    remote_path: str | None = None

    def mirror(self, remote_home: Path, project: str = "proj") -> Path:
        """The mirror of the project folder named `project` (what qxub should make)."""
        return remote_home / "scratch" / (self.remote_path or project)


LAYOUTS = {
    "plain": Layout("plain"),
    "weird": Layout("weird", WEIRD, f"{WEIRD_REMOTE_PATH}/proj"),
}
_layout = {"now": LAYOUTS["plain"]}


def mirror(remote_home: Path, project: str = "proj") -> Path:
    """The mirror of this test's project (or of another project folder named `project`)."""
    return _layout["now"].mirror(remote_home, project)


@pytest.fixture
def via(request: pytest.FixtureRequest) -> Iterator[str]:
    """The pair this test runs with; `remote_settings` writes it into each remote."""
    _via["now"] = getattr(request, "param", "openssh")
    yield _via["now"]
    _via["now"] = "openssh"


@pytest.fixture
def layout(request: pytest.FixtureRequest) -> Iterator[Layout]:
    """The layout this test runs with; `remote_home`, `remote` and `write_config` use it."""
    _layout["now"] = LAYOUTS[getattr(request, "param", "plain")]
    yield _layout["now"]
    _layout["now"] = LAYOUTS["plain"]


@pytest.fixture
def remote_home(tmp_path: Path, layout: Layout) -> Path:
    """The remote side's own HOME-like dirs, separate from the laptop's."""
    path = tmp_path / layout.above / "remote"
    path.mkdir(parents=True)
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
    """The user's config with these remotes (and the layout's remote_path, if any)."""
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "qxub" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    remote_path = _layout["now"].remote_path
    placed = {"remote_path": remote_path} if remote_path else {}
    path.write_text(yaml.safe_dump({"remotes": remotes, **placed, **top}))
    return path


@pytest.fixture
def remote(
    via: str,
    layout: Layout,
    sshd: SshServer,
    remote_home: Path,
    shared_runtime_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> str:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(shared_runtime_dir))
    write_config({"R": remote_settings(sshd, remote_home)})
    project = tmp_path / layout.above / "proj"
    (project / ".git").mkdir(parents=True)
    monkeypatch.chdir(project)
    return "R"


@pytest.fixture
def fresh_masters(remote: str, control_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No master connection to reuse: the client must connect (and check keys) anew."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(control_dir))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_transports: run with OpenSSH+rsync and with paramiko+SFTP (remotes.py)"
    )
    config.addinivalue_line("markers", "openssh_only(reason): not run with paramiko+SFTP")
    config.addinivalue_line(
        "markers", "weird_paths: run again with hostile names for project, working_dir, remote_path"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    both = metafunc.definition.get_closest_marker("both_transports")
    if "via" in metafunc.fixturenames and both is not None:
        only = metafunc.definition.get_closest_marker("openssh_only")
        metafunc.parametrize("via", ["openssh"] if only else list(VIAS), indirect=True)
    weird = metafunc.definition.get_closest_marker("weird_paths")
    if "layout" in metafunc.fixturenames and weird is not None:
        metafunc.parametrize("layout", list(LAYOUTS), indirect=True)
