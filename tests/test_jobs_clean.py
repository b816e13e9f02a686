"""Where job folders live (`jobs_dir:` in the config and per remote) and `qxub jobs clean`:
old folders of ended jobs go, never one of a queued or running job, nor one whose state is
unknown. Real jobs on the local runner, on the real Slurm cluster and over a real sshd."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
import yaml

from helpers import assert_one_line_error, qxub
from remotes import remote_settings, write_config
from slurm_cluster import SlurmCluster
from sshd_server import SshServer

DAY = 86400.0


def _state_jobs() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "qxub" / "jobs"


def _submit(cwd: Path, *command: str, scheduler: str = "local") -> str:
    result = qxub("exec", "--scheduler", scheduler, "--terse", "--", *command, cwd=cwd, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _folder(job_id: str, base: Path | None = None) -> Path:
    return ((base or _state_jobs()) / "by-id" / job_id).resolve()


def _age(folder: Path, days: float) -> None:
    """Make a job folder look untouched for `days`."""
    when = time.time() - days * DAY
    for path in [*folder.iterdir(), folder]:
        os.utime(path, (when, when), follow_symlinks=False)


def _wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def _user_config(**top: object) -> None:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "qxub" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(top))


def test_clean_removes_old_ended_jobs_and_keeps_running_and_recent_ones(tmp_path: Path) -> None:
    ended = _submit(tmp_path, "true")
    running = _submit(tmp_path, "sleep", "120")
    recent = _submit(tmp_path, "true")
    for job in (ended, recent, running):
        _wait_for(_folder(job) / ("started" if job == running else "exit_code"))
    old_ended, old_running, fresh = _folder(ended), _folder(running), _folder(recent)
    _age(old_ended, 40)
    _age(old_running, 40)
    try:
        listed = qxub("jobs", "clean", "--dry-run", cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        assert f"would remove  {ended}" in listed.stdout
        assert f"kept          {running}" in listed.stdout and "running" in listed.stdout
        assert recent not in listed.stdout
        assert old_ended.exists(), "--dry-run removed something"

        cleaned = qxub("jobs", "clean", cwd=tmp_path)
        assert cleaned.returncode == 0, cleaned.stderr
        assert "1 job folder(s) removed, 1 old one(s) kept" in cleaned.stderr
        assert not old_ended.exists()
        assert old_running.exists() and fresh.exists()
        assert not (_state_jobs() / "by-id" / ended).is_symlink()
        gone = qxub("status", ended, cwd=tmp_path)
        assert_one_line_error(gone)
        assert qxub("status", running, cwd=tmp_path).returncode == 0
    finally:
        qxub("cancel", running, cwd=tmp_path)


def test_a_job_killed_without_exit_code_goes_unless_its_host_is_another(tmp_path: Path) -> None:
    # Killed with SIGKILL: no exit code file; the local runner sees its processes gone.
    killed, elsewhere = _submit(tmp_path, "sleep", "120"), _submit(tmp_path, "sleep", "120")
    for job in (killed, elsewhere):
        folder = _folder(job)
        _wait_for(folder / "started")
        os.killpg(int((folder / "pid").read_text()), signal.SIGKILL)
        _age(folder, 40)
    record = _folder(elsewhere) / "record.json"
    data = json.loads(record.read_text())
    record.write_text(json.dumps({**data, "host": "another-login-node"}))
    _age(_folder(elsewhere), 40)
    time.sleep(0.3)  # the killed jobs' processes are reaped
    result = qxub("jobs", "clean", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"removed       {killed}" in result.stdout
    assert f"kept          {elsewhere}" in result.stdout
    assert "a local job of another-login-node" in result.stdout
    assert _folder(elsewhere).exists()


def test_older_than_and_a_bad_age(tmp_path: Path) -> None:
    job = _submit(tmp_path, "true")
    _wait_for(_folder(job) / "exit_code")
    _age(_folder(job), 2)
    kept = qxub("jobs", "clean", "--older-than", "3d", cwd=tmp_path)
    assert job not in kept.stdout and _folder(job).exists()
    gone = qxub("jobs", "clean", "--older-than", "1d", cwd=tmp_path)
    assert f"removed       {job}" in gone.stdout
    assert_one_line_error(qxub("jobs", "clean", "--older-than", "soon", cwd=tmp_path))


def test_jobs_dir_in_the_config_moves_job_folders(tmp_path: Path) -> None:
    place = tmp_path / "big disk" / "jobs"
    _user_config(jobs_dir=str(place))
    result = qxub("exec", "--", "echo", "hi", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "hi\n"), result.stderr
    (job,) = [p.name for p in (place / "by-id").iterdir()]
    assert (place / "by-id" / job / "stdout").read_text() == "hi\n"
    assert not (_state_jobs() / "by-id").exists()
    assert job in qxub("status", cwd=tmp_path).stdout
    assert qxub("wait", job, cwd=tmp_path).stdout == "hi\n"
    _age(_folder(job, place), 40)
    assert f"removed       {job}" in qxub("jobs", "clean", cwd=tmp_path).stdout


def test_jobs_dir_must_be_absolute_and_the_users(tmp_path: Path) -> None:
    _user_config(jobs_dir="relative/jobs")
    result = qxub("status", cwd=tmp_path)
    assert_one_line_error(result)
    assert "jobs_dir" in result.stderr and "absolute" in result.stderr
    _user_config()
    (tmp_path / ".git").mkdir()
    (tmp_path / ".qxub.yaml").write_text(f"jobs_dir: {tmp_path / 'jobs'}\n")
    refused = qxub("exec", "--", "true", cwd=tmp_path)
    assert_one_line_error(refused)
    assert "setting of the user" in refused.stderr


@pytest.mark.sshd
def test_jobs_dir_of_a_remote(sshd: SshServer, remote_home: Path, remote: str) -> None:
    there = remote_home / "scratch-jobs"
    write_config({"R": remote_settings(sshd, remote_home, jobs_dir=str(there))})
    result = qxub("exec", "--remote", "R", "--terse", "--", "echo", "hi")
    assert result.returncode == 0, result.stderr
    job = result.stdout.strip()
    _wait_for(there / "by-id" / job / "exit_code")
    assert not (remote_home / "state" / "qxub" / "jobs").exists()
    waited = qxub("wait", "--remote", "R", job)
    assert (waited.returncode, waited.stdout) == (0, "hi\n"), waited.stderr
    _age(_folder(job, there), 40)
    listed = qxub("jobs", "clean", "--remote", "R", "--dry-run")
    assert f"would remove  {job}" in listed.stdout, listed.stderr
    assert qxub("jobs", "clean", "--remote", "R").returncode == 0
    assert not (there / "by-id" / job).is_symlink()


@pytest.mark.slurm
def test_clean_asks_slurm(slurm_env: SlurmCluster, tmp_path: Path) -> None:
    running = _submit(tmp_path, "sleep", "120", scheduler="slurm")
    ended = _submit(tmp_path, "true", scheduler="slurm")
    _wait_for(_folder(ended) / "exit_code")
    # SIGKILL to the job script itself: its EXIT trap never runs.
    killed = _submit(tmp_path, "sh", "-c", "kill -9 $PPID", scheduler="slurm")
    _wait_for(_folder(running) / "started")
    deadline = time.monotonic() + 60
    while "running" in (shown := qxub("status", killed, cwd=tmp_path).stdout) or (
        "queued" in shown
    ):
        assert time.monotonic() < deadline, "the killed job never ended"
        time.sleep(0.5)
    for job in (running, ended, killed):
        _age(_folder(job), 40)
    try:
        result = qxub("jobs", "clean", cwd=tmp_path, timeout=120)
        assert result.returncode == 0, result.stderr
        assert f"removed       {ended}" in result.stdout
        assert f"removed       {killed}" in result.stdout  # no exit code file: Slurm's word
        assert f"kept          {running}" in result.stdout
        assert _folder(running).exists()
    finally:
        qxub("cancel", running, cwd=tmp_path)
