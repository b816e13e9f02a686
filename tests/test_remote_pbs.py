"""laptop -> real sshd -> remote qxub -> real OpenPBS: `qxub exec --remote` to a PBS cluster.

The sshd (tests/sshd_server.py) logs in as root in the main network namespace, where PBS's
clients cannot reach the server; the remote's `qxub_command` enters PBS's namespace as the
submitting user (`in-pbs-ns -u pbsuser -- ...`), as a login node's qxub would just run.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import qxub
from pbs_server import PbsServer, PbsUserDir
from remotes import remote_settings, write_config
from sshd_server import SshServer

pytestmark = [pytest.mark.pbs, pytest.mark.sshd]


@pytest.fixture
def pbs_remote(
    pbs_server: PbsServer,
    pbs_user_dir: PbsUserDir,
    sshd: SshServer,
    control_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[str]:
    """A remote `pbs` whose qxub submits to the real PBS, and a project to stand in."""
    # qxub's state dirs reach the remote qxub through sshd's SetEnv: `env VAR=... python`
    # would not do, as only in-pbs-ns's own exec may reach a Python under a root-only home.
    sshd.set_env(
        {k: pbs_user_dir.env[k] for k in ("XDG_STATE_HOME", "XDG_CONFIG_HOME")} | pbs_server.env
    )
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(control_dir))
    command = shlex.join(pbs_server.argv(sys.executable, "-m", "qxub"))
    settings = remote_settings(
        sshd, tmp_path, qxub_command=command, working_dir=str(pbs_user_dir.work)
    )
    write_config({"pbs": settings})
    project = tmp_path / "proj"
    (project / ".git").mkdir(parents=True)
    monkeypatch.chdir(project)
    try:
        yield "pbs"
    finally:
        sshd.set_env({})


def test_exec_over_ssh_on_pbs(pbs_remote: str, pbs_server: PbsServer) -> None:
    script = 'echo "$PBS_JOBID in $PWD"; echo err >&2; exit 3'
    result = qxub("exec", "--remote", pbs_remote, "--", "sh", "-c", script, timeout=180)
    assert result.returncode == 3, result.stderr
    assert "submitted to pbs" in result.stderr
    assert "err\n" in result.stderr
    job_id = result.stderr.split("qxub: job ", 1)[1].split()[0]
    assert result.stdout.startswith(f"{job_id} in ")
    assert result.stdout.rstrip().endswith("/proj")
    assert pbs_server.wait_finished(job_id)["Exit_status"] == 3
    status = qxub("status", "--remote", pbs_remote, job_id, timeout=60)
    assert status.returncode == 0, status.stderr
    assert "pbs" in status.stdout and " 3 " in status.stdout, status.stdout
