"""Shared fixtures. Every test runs with its own HOME and XDG dirs, so nothing touches the
real user's config or state."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Shared fixtures live in modules of their own, loaded as plugins: the real services
# (sshd, Slurm, OpenPBS), ssh control dirs, and remotes over the sshd (with their markers).
pytest_plugins = ["services", "ssh_control_dir", "remotes"]


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
    # PBS's clients work only inside its network namespace (pbs_server.py); a login shell puts
    # them on PATH (/etc/profile.d/pbs.sh), where qxub would take them for a usable PBS.
    path = os.environ.get("PATH", "").split(os.pathsep)
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in path if not p.startswith("/opt/pbs/")))
    return home
