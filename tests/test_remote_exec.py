"""`qxub exec --remote` over a real OpenSSH server on 127.0.0.1 (tests/sshd_server.py), with
the installed qxub as the remote qxub; every test runs with the OpenSSH transport and again
with the paramiko one (remotes.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import children
from helpers import assert_one_line_error, qxub, qxub_popen
from remotes import VIAS, mirror, remote_settings, write_config
from sshd_server import SshServer

pytestmark = [pytest.mark.sshd, pytest.mark.both_transports]


@pytest.mark.weird_paths
def test_words_survive_ssh_unchanged(remote: str) -> None:
    words = ["a b", "$HOME", "it's", "", ";id", "new\nline", "`id`", "*"]
    result = qxub(
        "exec", "--remote", remote, "--", "python3", "-c", "import sys; print(sys.argv[1:])", *words
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == repr(words) + "\n"
    assert "\x1e" not in result.stderr, "protocol lines leaked"


@pytest.mark.weird_paths
def test_exit_code_and_streams(remote: str) -> None:
    result = qxub("exec", "--remote", remote, "--", "sh", "-c", "echo out; echo err >&2; exit 7")
    assert result.returncode == 7
    assert result.stdout == "out\n"
    assert "err\n" in result.stderr


@pytest.mark.weird_paths
def test_runs_in_the_mirror_of_the_current_directory(remote: str, remote_home: Path) -> None:
    sub = Path.cwd() / "analysis" / "deep"
    sub.mkdir(parents=True)
    result = qxub("exec", "--remote", remote, "--", "pwd", cwd=sub)
    assert result.stdout == f"{mirror(remote_home) / 'analysis' / 'deep'}\n", result.stderr


def test_output_arrives_while_the_job_runs(remote: str) -> None:
    proc = qxub_popen(
        "exec",
        "--remote",
        remote,
        "--quiet",
        "--",
        "sh",
        "-c",
        "for i in 1 2 3 4; do echo $i; sleep 0.4; done",
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "1\n"
    first = time.monotonic()
    rest = proc.stdout.read()
    assert proc.wait(timeout=30) == 0
    assert rest == "2\n3\n4\n"
    assert time.monotonic() - first > 0.8


@pytest.mark.usefixtures("fresh_masters")
def test_a_run_logs_in_once(remote: str, sshd: SshServer) -> None:
    (Path.cwd() / "a.txt").write_text("a\n")
    before = sshd.accepted_logins()
    result = qxub(
        "exec", "--remote", remote, "--sync", "--pull", "b.txt", "--", "cp", "a.txt", "b.txt"
    )
    assert result.returncode == 0, result.stderr
    assert (Path.cwd() / "b.txt").read_text() == "a\n"
    assert sshd.accepted_logins() == before + 1  # push, job and pull share one connection


@pytest.mark.openssh_only("paramiko's connection lasts as long as one qxub process")
def test_second_run_reuses_the_master_connection(remote: str, sshd: SshServer) -> None:
    assert qxub("exec", "--remote", remote, "--", "true").returncode == 0
    before = sshd.accepted_logins()
    assert qxub("exec", "--remote", remote, "--", "true").returncode == 0
    assert qxub("status", "--remote", remote).returncode == 0
    assert sshd.accepted_logins() == before


def _wait_for_job_id(proc: subprocess.Popen[str]) -> str:
    assert proc.stderr is not None
    line = ""
    while "started" not in line:
        line = proc.stderr.readline()
        assert line, "qxub ended before the job started"
    return line.split()[2]


@pytest.mark.weird_paths
def test_ctrl_c_cancels_the_remote_job(remote: str) -> None:
    proc = qxub_popen("exec", "--remote", remote, "--", "sleep", "60")
    job_id = _wait_for_job_id(proc)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    status = qxub("status", "--remote", remote, job_id)
    assert "cancelled" in status.stdout, status.stdout + status.stderr


def test_a_dropped_connection_is_followed_again(remote: str, sshd: SshServer, via: str) -> None:
    proc = qxub_popen("exec", "--remote", remote, "--", "sh", "-c", "sleep 3; echo done; exit 3")
    job_id = _wait_for_job_id(proc)
    if via == "openssh":
        # Drop every connection to the server: the master and the session riding on it.
        control_path = f"ControlPath={os.environ['XDG_RUNTIME_DIR']}/qxub/%C"
        argv = ["ssh", "-F", str(sshd.ssh_config), "-o", control_path, "-O", "exit"]
        children.run([*argv, "-p", str(sshd.port), sshd.host], capture_output=True, check=False)
    else:
        sshd.stop()  # kills the server's side of every connection, as a server going away
        sshd.start()
    assert proc.wait(timeout=30) == 3  # the job's own code, not the connection's
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read() == "done\n"
    said = proc.stderr.read()
    assert said.count(f"lost the follow of job {job_id} on {remote}") == 1, said


def test_terse_then_wait(remote: str) -> None:
    submitted = qxub("exec", "--remote", remote, "--terse", "--", "sh", "-c", "exit 5")
    job_id = submitted.stdout.strip()
    assert job_id.endswith(".local")
    assert qxub("wait", "--remote", remote, job_id).returncode == 5


def test_remote_defaults_apply_unless_typed(
    sshd: SshServer, remote_home: Path, remote: str
) -> None:
    write_config({"R": remote_settings(sshd, remote_home, defaults={"var": ["WHO=remote"]})})
    show = ["--", "sh", "-c", 'echo "$WHO"']
    assert qxub("exec", "--remote", remote, *show).stdout == "remote\n"
    assert qxub("exec", "--remote", remote, "--var", "WHO=typed", *show).stdout == "typed\n"


def test_remote_list_show_test_explain(remote: str, sshd: SshServer, via: str) -> None:
    transport, engine = VIAS[via]
    listing = qxub("remote", "list")
    assert "R " in listing.stdout and sshd.url in listing.stdout and "local" in listing.stdout
    show = qxub("remote", "show", remote).stdout
    assert "working_dir" in show
    assert f"transport       {transport} (set by transport:" in show
    assert f"sync_engine     {engine} (set by sync_engine:" in show
    test = qxub("remote", "test", remote)
    assert test.returncode == 0, test.stdout + test.stderr
    for what in ("resolve", "connect", "login", "qxub there", "working dir", "rsync there"):
        assert what in test.stdout
    assert f"transport    {transport}" in test.stdout
    assert f"sync engine  {engine}" in test.stdout
    explain = qxub("remote", "explain", remote, "--mem", "4GB", "--", "python3", "a b")
    assert explain.returncode == 0, explain.stderr
    assert "exec --mem=4GB -- python3 'a b'" in explain.stdout
    assert ("ssh " if via == "openssh" else "with paramiko") in explain.stdout
    assert "proj" in explain.stdout


def test_unknown_remote_suggests_close_names(remote: str) -> None:
    result = qxub("exec", "--remote", "r", "--", "true")
    assert_one_line_error(result)
    assert "R" in result.stderr and "local" in result.stderr


def test_unreachable_port(sshd: SshServer, remote_home: Path, remote: str) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = remote_settings(sshd, remote_home, url=f"ssh://{sshd.user}@127.0.0.1:{port}")
    write_config({"B": settings})
    result = qxub("exec", "--remote", "B", "--", "true")
    assert_one_line_error(result)
    assert str(port) in result.stderr
    test = qxub("remote", "test", "B")
    assert test.returncode == 1 and "FAIL" in test.stdout


@pytest.mark.usefixtures("fresh_masters")
def test_wrong_host_key(sshd: SshServer, remote_home: Path, remote: str, tmp_path: Path) -> None:
    wrong = sshd.write_wrong_known_hosts(tmp_path / "wrong_known_hosts")
    config = sshd.write_client_config(tmp_path / "ssh_config_wrong", known_hosts=wrong)
    write_config({"B": {**remote_settings(sshd, remote_home), "config": str(config)}})
    result = qxub("exec", "--remote", "B", "--", "true")
    assert_one_line_error(result)
    assert "host key of" in result.stderr and "has CHANGED" in result.stderr


@pytest.mark.usefixtures("fresh_masters")
def test_unknown_host_key(sshd: SshServer, remote_home: Path, remote: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    config = sshd.write_client_config(tmp_path / "ssh_config_empty", known_hosts=empty)
    write_config({"B": {**remote_settings(sshd, remote_home), "config": str(config)}})
    result = qxub("exec", "--remote", "B", "--", "true")
    assert_one_line_error(result)
    assert "is not known yet (qxub never accepts one by itself)" in result.stderr
    assert empty.read_text() == ""


def test_remote_without_qxub(sshd: SshServer, remote_home: Path, remote: str) -> None:
    write_config({"B": remote_settings(sshd, remote_home, qxub_command="/nonexistent/qxub")})
    result = qxub("exec", "--remote", "B", "--", "true")
    assert_one_line_error(result)
    assert "not installed" in result.stderr and "qxub remote install B" in result.stderr


def test_protocol_mismatch_names_versions(
    sshd: SshServer, remote_home: Path, remote: str, tmp_path: Path
) -> None:
    old = tmp_path / "old-qxub"
    old.write_text("#!/bin/sh\nprintf '\\036@qxub hello 0.0.1 0\\n' >&2\nexit 2\n")
    old.chmod(0o755)
    write_config({"B": remote_settings(sshd, remote_home, qxub_command=str(old))})
    result = qxub("exec", "--remote", "B", "--", "true")
    assert_one_line_error(result)
    assert "0.0.1" in result.stderr and "protocol" in result.stderr


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"url": "http://host"}, ["remotes.B.url", "ssh://"]),
        ({"url": "ssh://"}, ["remotes.B.url"]),
        ({"url": "ssh://host:99999"}, ["remotes.B.url"]),
        ({"url": "ssh://host", "colour": "red"}, ["remotes.B.colour", "unknown key"]),
        ({"url": "ssh://host", "working_dir": "relative"}, ["remotes.B.working_dir"]),
        ({"url": "ssh://host", "transport": "putty"}, ["remotes.B.transport", "paramiko"]),
        ({"url": "ssh://host", "sync_engine": "scp"}, ["remotes.B.sync_engine", "sftp"]),
        ({"url": "ssh://host", "working_dir": "/x/{{nobody}}"}, ["{{nobody}}"]),
        ({"url": "ssh://host", "defaults": {"mem": "lots"}}, ["remotes.B.defaults.mem"]),
        ({"working_dir": "/x"}, ["remotes.B.url", "missing"]),
    ],
)
def test_bad_remote_config_names_file_and_key(
    settings: dict[str, object], words: list[str]
) -> None:
    path = write_config({"B": settings})
    result = qxub("remote", "list")
    assert result.returncode == 1
    assert str(path) in result.stderr
    for word in words:
        assert word in result.stderr
    assert "Traceback" not in result.stderr
