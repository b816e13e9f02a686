"""`qxub exec --interactive` on a real terminal (tests/terminal.py, a pty) against the local
runner, the real Slurm of tests/slurm_cluster.py and the real OpenPBS (`qsub -I` inside its
namespace): type a command and read its output, resize the window (`tput cols`), Ctrl-C a
`sleep` without ending the shell, and leave with `exit 3`: qxub exits 3."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import children
import helpers
from pbs_server import PbsServer, PbsUserDir
from ports import fetch, free_port, read_until, refused, serve_command
from pty_terminal import SHELL, START, Terminal, play_session
from slurm_cluster import SlurmCluster

QXUB = [sys.executable, "-m", "qxub"]


def test_local_runner(tmp_path: Path) -> None:
    with Terminal(
        [*QXUB, "exec", "--scheduler", "local", "--interactive", *SHELL], cwd=tmp_path
    ) as term:
        play_session(term, str(tmp_path))
        assert term.wait() == 3


def test_the_users_shell_by_default_with_context(tmp_path: Path) -> None:
    env = {**os.environ, "SHELL": shutil.which("bash") or "/bin/bash"}
    argv = [*QXUB, "exec", "--scheduler", "local", "--interactive", "--var", "GREETING=hi there"]
    with Terminal(argv, cwd=tmp_path, env=env) as term:
        term.line('echo "[$GREETING]" $((2+3)); [ -t 0 ] && echo has-a-tty')
        term.expect(r"\[hi there\] 5")
        term.expect("has-a-tty")
        term.line("exit")
        assert term.wait() == 0


def test_options_that_need_no_terminal_are_refused(tmp_path: Path) -> None:
    with Terminal([*QXUB, "exec", "--interactive", "--detach", "--", "true"], cwd=tmp_path) as t:
        t.expect("--detach does not go with --interactive")
        assert t.wait() == 2


@pytest.mark.slurm
def test_slurm(slurm_env: SlurmCluster, tmp_path: Path) -> None:
    argv = [*QXUB, "exec", "--scheduler", "slurm", "--interactive", *SHELL]
    with Terminal(argv, cwd=tmp_path) as term:
        play_session(term, str(tmp_path))
        assert term.wait(60) == 3


@pytest.mark.pbs
def test_pbs(pbs_server: PbsServer, pbs_user_dir: PbsUserDir) -> None:
    argv = pbs_server.argv(*QXUB, "exec", "--scheduler", "pbs", "--interactive", *SHELL)
    with Terminal(argv, cwd=pbs_user_dir.work, env=pbs_user_dir.env) as term:
        term.expect(r"qsub: job \S+ ready", START)
        play_session(term, str(pbs_user_dir.work))
        assert term.wait(60) == 3


@pytest.mark.slurm
def test_slurm_says_why_a_request_waits_and_ctrl_c_cancels_it(
    slurm_env: SlurmCluster, tmp_path: Path
) -> None:
    blocker = slurm_env.run(
        "sbatch", "--parsable", "--exclusive", "--output=/dev/null", "--wrap", "sleep 300"
    )
    blocker_id = blocker.stdout.strip()
    try:
        argv = [*QXUB, "exec", "--scheduler", "slurm", "--interactive", "-l", "exclusive="]
        with Terminal([*argv, *SHELL], cwd=tmp_path) as term:
            found = term.expect(r"job (\d+) waits in the queue: (\w+) \(Ctrl-C cancels", START)
            job_id = found.group(1)
            assert found.group(2) in ("Resources", "Priority")
            term.ctrl_c()
            term.expect(f"cancelling the request \\(job {job_id}\\)")
            assert term.wait(60) == 130
        state = slurm_env.run("squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T", check=False)
        assert state.stdout.strip() in ("CANCELLED", ""), state.stdout
    finally:
        slurm_env.run("scancel", blocker_id, check=False)


def test_forward_on_this_machine_and_qxub_forward(tmp_path: Path) -> None:
    """Without --remote: a relay in qxub to the local runner's job, for a followed job and,
    with `qxub forward`, for a detached one."""
    local, port = free_port(), free_port()
    (tmp_path / "hello.txt").write_text("hello here\n")
    process = children.popen(
        [
            *QXUB,
            "exec",
            "--scheduler",
            "local",
            "--forward",
            f"{local}:{port}",
            *serve_command(port),
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        read_until(process, rf"forwarding http://localhost:{local}/ to port {port} .*ready")
        assert fetch(local, "/hello.txt") == "hello here\n"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
        assert refused(local)
    finally:
        if process.poll() is None:
            process.kill()
    local, port = free_port(), free_port()  # the first job's server may linger a moment
    started = helpers.qxub(
        "exec", "--scheduler", "local", "--terse", *serve_command(port), cwd=tmp_path
    )
    job_id = started.stdout.strip()
    try:
        forward = children.popen(
            [*QXUB, "forward", job_id, f"{local}:{port}"], stderr=subprocess.PIPE, text=True
        )
        read_until(forward, r"ready")
        assert fetch(local, "/hello.txt") == "hello here\n"
        helpers.qxub("cancel", job_id)
        read_until(forward, rf"job {job_id} has ended; forwarding stopped", 30)
        assert forward.wait(timeout=10) == 0
        assert refused(local)
    finally:
        helpers.qxub("cancel", job_id)


@pytest.mark.pbs
def test_pbs_says_why_a_request_waits_and_ctrl_c_cancels_it(
    pbs_server: PbsServer, pbs_user_dir: PbsUserDir
) -> None:
    where = pbs_user_dir
    blocker = pbs_server.run(
        "qsub", "-l", "ncpus=2", "--", "/bin/sleep", "60", cwd=where.work, env=where.env
    )
    assert blocker.returncode == 0, blocker.stderr
    try:
        argv = pbs_server.argv(*QXUB, "exec", "--scheduler", "pbs", "--interactive", "--cpus", "2")
        with Terminal([*argv, *SHELL], cwd=where.work, env=where.env) as term:
            found = term.expect(r"job (\S+) waits in the queue(: [^\r]*)? \(Ctrl-C cancels", START)
            job_id = found.group(1)
            term.ctrl_c()
            term.expect(f"cancelling the request \\(job {re.escape(job_id)}\\)")
            assert term.wait(60) == 130
        deadline = time.monotonic() + 30  # a deleted job is F a few seconds later
        while True:
            shown = pbs_server.run("qstat", "-x", "-f", "-F", "json", job_id, env=where.env)
            state = json.loads(shown.stdout)["Jobs"][job_id]["job_state"]
            if state == "F" or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert state == "F", shown.stdout
    finally:
        pbs_server.run("qdel", blocker.stdout.strip(), env=where.env)
