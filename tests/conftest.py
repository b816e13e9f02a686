"""Shared fixtures. Every test runs with its own HOME and XDG dirs, so nothing touches the
real user's config or state."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from remotes import VIAS, control_dir, fresh_masters, remote, remote_home, via  # noqa: F401

# Fixtures that start real services live in their own modules; import them here.
from slurm_cluster import slurm_cluster, slurm_env  # noqa: F401
from sshd_server import sshd  # noqa: F401


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HOME and XDG config/state/cache dirs for each test."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(home / "etc-xdg"))
    for name in list(os.environ):
        if name.startswith("QXUB_"):
            monkeypatch.delenv(name)
    return home


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_transports: run with OpenSSH+rsync and with paramiko+SFTP (remotes.py)"
    )
    config.addinivalue_line("markers", "openssh_only(reason): not run with paramiko+SFTP")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    both = metafunc.definition.get_closest_marker("both_transports")
    if "via" in metafunc.fixturenames and both is not None:
        only = metafunc.definition.get_closest_marker("openssh_only")
        metafunc.parametrize("via", ["openssh"] if only else list(VIAS), indirect=True)
