"""Fixtures (a pytest plugin, loaded by conftest.py) for the real services the tests run
against: an OpenSSH server (sshd_server.py), a single-node Slurm (slurm_cluster.py) and the
machine's OpenPBS (pbs_server.py). Those modules are plain Python, which the benchmarks import
without pytest."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from pbs_server import PbsServer, PbsUnavailable, PbsUserDir, find_server, make_user_dir
from slurm_cluster import SETUP_HINT, SlurmCluster, missing_binaries, start_cluster
from sshd_server import SETUP_SCRIPT, SshServer, missing_tools


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    """A real sshd on 127.0.0.1 for the whole session (see SshServer for its interface)."""
    missing = missing_tools()
    if missing:
        # No skip: a test that quietly does not run hides a missing install step.
        message = f"OpenSSH is not installed (missing: {', '.join(missing)}); run `{SETUP_SCRIPT}`"
        pytest.fail(message, pytrace=False)
    server = SshServer(tmp_path_factory.mktemp("sshd"))
    for attempt in range(3):
        try:
            server.start()
            break
        except RuntimeError:
            if attempt == 2 or "Address already in use" not in server.log_text():
                raise
            # Lost the race for the free port: try another one.
            server = SshServer(tmp_path_factory.mktemp("sshd"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    """A running single-node Slurm for the whole session."""
    missing = missing_binaries()
    if missing:
        message = f"Slurm is not installed here ({', '.join(missing)} not on PATH): {SETUP_HINT}"
        pytest.fail(message, pytrace=False)
    cluster = start_cluster(tmp_path_factory.mktemp("slurm"))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def slurm_env(slurm_cluster: SlurmCluster, monkeypatch: pytest.MonkeyPatch) -> SlurmCluster:
    """Point this test's environment (SLURM_CONF) at the session's cluster."""
    for name in list(os.environ):
        if name.startswith(("SLURM_", "SBATCH_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SLURM_CONF", str(slurm_cluster.conf))
    return slurm_cluster


@pytest.fixture(scope="session")
def pbs_server() -> Iterator[PbsServer]:
    """The machine's OpenPBS (left running at the end: it is shared, see pbs_server.py)."""
    try:
        server = find_server()
    except PbsUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        if server.pythonpath is not None:
            shutil.rmtree(server.pythonpath, ignore_errors=True)


@pytest.fixture
def pbs_user_dir(pbs_server: PbsServer) -> Iterator[PbsUserDir]:
    """A directory the submitting user owns, with qxub's state and config pointed there."""
    made = make_user_dir(pbs_server)
    try:
        yield made
    finally:
        shutil.rmtree(made.root, ignore_errors=True)
