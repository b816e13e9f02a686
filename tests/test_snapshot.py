"""Per-job code snapshots over the real sshd, with both engine pairs (issue 12): a job
submitted with --snapshot runs the code as it was at submission, whatever is pushed while it
queues or runs; its outputs come back from its run folder (`--pull`, `qxub wait --pull`,
`qxub remote pull --job`); `qxub jobs clean` removes a finished job's run folder and keeps a
running one's; without snapshots, a push into a mirror that a job uses says so, once."""

from __future__ import annotations

import os
import shlex
import signal
import time
from pathlib import Path

import pytest

from helpers import assert_one_line_error, qxub, qxub_popen
from remotes import mirror, remote_settings, write_config
from sshd_server import SshServer

pytestmark = [pytest.mark.sshd, pytest.mark.both_transports]


def runs(remote_home: Path) -> Path:
    """Where the project's run folders are: beside its mirror."""
    there = mirror(remote_home)
    return there.with_name(there.name + ".runs")


def gated_job(gate: Path, command: str) -> list[str]:
    """A job that waits for `gate` to exist (the test's push is done by then), then runs
    `command` in the folder it was started in."""
    wait = f"while [ ! -e {shlex.quote(str(gate))} ]; do sleep 0.05; done"
    return ["--", "sh", "-c", f"{wait}; {command}"]


def submit(*options: str, gate: Path, command: str, cwd: Path | None = None) -> str:
    result = qxub("exec", "--remote", "R", "--terse", *options, *gated_job(gate, command), cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.mark.weird_paths
def test_a_snapshot_job_runs_the_code_as_submitted(
    remote: str, remote_home: Path, tmp_path: Path
) -> None:
    project = Path.cwd()
    sub = project / "analysis"
    sub.mkdir()
    (sub / "code.txt").write_text("v1\n")
    (project / "gone.txt").write_text("pushed, then deleted here\n")
    assert qxub("remote", "push", remote).returncode == 0
    gate = tmp_path / "gate"
    job = submit(
        "--snapshot",
        gate=gate,
        command="cat code.txt ../gone.txt > out.txt; pwd > where.txt",
        cwd=sub,
    )
    # Edited (same size, same second) and pushed while the job waits; a file deleted too.
    (sub / "code.txt").write_text("v2\n")
    (project / "gone.txt").unlink()
    pushed = qxub("remote", "push", remote)
    assert pushed.returncode == 0, pushed.stderr
    assert "--snapshot" not in pushed.stderr  # no job runs in the mirror itself
    assert (mirror(remote_home) / "analysis" / "code.txt").read_text() == "v2\n"
    assert not (mirror(remote_home) / "gone.txt").exists()
    gate.touch()
    waited = qxub(
        "wait", "--remote", remote, job, "--pull", "out.txt", "--pull", "where.txt", cwd=sub
    )
    assert waited.returncode == 0, waited.stderr
    assert (sub / "out.txt").read_text() == "v1\npushed, then deleted here\n"
    (run,) = [p for p in runs(remote_home).iterdir() if p.is_dir()]
    assert (sub / "where.txt").read_text() == f"{run / 'analysis'}\n"
    assert (run / "analysis" / "code.txt").read_text() == "v1\n"
    assert (runs(remote_home) / f"{run.name}.job").read_text() == f"{job}\n"
    # The job's output is in its run folder, not in the mirror; the next push leaves the
    # run folder alone, and a full push never sees it.
    assert not (mirror(remote_home) / "analysis" / "out.txt").exists()
    assert qxub("remote", "push", remote, "--full").returncode == 0
    assert (run / "gone.txt").exists()
    assert (run / "analysis" / "out.txt").exists()


def test_exec_pull_brings_the_outputs_from_the_run_folder(
    remote: str, remote_home: Path, tmp_path: Path
) -> None:
    project = Path.cwd()
    (project / "code.txt").write_text("v1\n")
    gate = tmp_path / "gate"
    proc = qxub_popen(
        "exec",
        "--remote",
        remote,
        "--sync",
        "--snapshot",
        "--pull",
        "results/",
        *gated_job(gate, "mkdir -p results && cat code.txt > results/out.txt"),
    )
    wait_for(runs(remote_home))  # the copy is taken before the job is submitted
    deadline = time.monotonic() + 60
    while not list(runs(remote_home).glob("*.job")):
        assert time.monotonic() < deadline, "the job was never submitted"
        time.sleep(0.05)
    (project / "code.txt").write_text("v2, longer\n")
    assert qxub("remote", "push", remote).returncode == 0
    gate.touch()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert (project / "results" / "out.txt").read_text() == "v1\n"
    # Pulled with the three-way rule: an edit here is never overwritten by a later pull.
    (project / "results" / "out.txt").write_text("my edit\n")
    job = next(runs(remote_home).glob("*.job")).read_text().strip()
    again = qxub("remote", "pull", remote, "--job", job, "results/")
    assert again.returncode == 0, again.stderr
    assert (project / "results" / "out.txt").read_text() == "my edit\n"


def test_remote_pull_job_reads_that_jobs_run_folder(
    remote: str, remote_home: Path, tmp_path: Path
) -> None:
    project = Path.cwd()
    (project / "code.txt").write_text("first\n")
    assert qxub("remote", "push", remote).returncode == 0
    gate = tmp_path / "gate"
    gate.touch()
    first = submit("--snapshot", gate=gate, command="cat code.txt > out.txt")
    assert qxub("wait", "--remote", remote, first).returncode == 0
    (project / "code.txt").write_text("second\n")
    assert qxub("remote", "push", remote).returncode == 0
    second = submit("--snapshot", gate=gate, command="cat code.txt > out.txt")
    assert qxub("wait", "--remote", remote, second).returncode == 0
    got = qxub("remote", "pull", remote, "--job", first, "out.txt")
    assert got.returncode == 0, got.stderr
    assert (project / "out.txt").read_text() == "first\n"
    assert (project / "out.txt").unlink() is None
    got = qxub("remote", "pull", remote, "--job", second, "out.txt")
    assert got.returncode == 0, got.stderr
    assert (project / "out.txt").read_text() == "second\n"
    unknown = qxub("remote", "pull", remote, "--job", "12345.nowhere", "out.txt")
    assert_one_line_error(unknown)
    assert "12345.nowhere has no run folder" in unknown.stderr
    assert "pull without --job" in unknown.stderr


def test_jobs_clean_removes_a_finished_jobs_run_folder_and_keeps_a_running_ones(
    remote: str, remote_home: Path, tmp_path: Path
) -> None:
    (Path.cwd() / "code.txt").write_text("v1\n")
    assert qxub("remote", "push", remote).returncode == 0
    done_gate, running_gate = tmp_path / "done", tmp_path / "running"
    done_gate.touch()
    ended = submit("--snapshot", gate=done_gate, command="cat code.txt > out.txt")
    assert qxub("wait", "--remote", remote, ended).returncode == 0
    running = submit("--snapshot", gate=running_gate, command="true")
    folders = {p.read_text().strip(): p.with_suffix("") for p in runs(remote_home).glob("*.job")}
    assert set(folders) == {ended, running}
    jobs = remote_home / "state" / "qxub" / "jobs" / "by-id"
    wait_for(jobs / running)
    long_ago = time.time() - 40 * 86400
    for job in (ended, running):
        folder = (jobs / job).resolve()
        for path in [*folder.iterdir(), folder]:
            os.utime(path, (long_ago, long_ago), follow_symlinks=False)
    listed = qxub("jobs", "clean", "--remote", remote, "--dry-run")
    assert f"and its run folder {folders[ended]}" in listed.stdout, listed.stdout
    assert folders[ended].is_dir()
    cleaned = qxub("jobs", "clean", "--remote", remote)
    assert cleaned.returncode == 0, cleaned.stderr
    assert not folders[ended].exists()
    assert not folders[ended].with_name(folders[ended].name + ".job").exists()
    assert folders[running].is_dir()
    assert (mirror(remote_home) / "code.txt").read_text() == "v1\n"  # the mirror stays
    running_gate.touch()
    assert qxub("wait", "--remote", remote, running).returncode == 0


def test_a_push_into_a_mirror_a_job_uses_says_so_once(
    remote: str, remote_home: Path, tmp_path: Path
) -> None:
    project = Path.cwd()
    (project / "code.txt").write_text("v1\n")
    assert qxub("remote", "push", remote).returncode == 0
    gate = tmp_path / "gate"
    first = submit("--no-snapshot", gate=gate, command="cat code.txt")
    second = submit(gate=gate, command="cat code.txt")
    snapshot = submit("--snapshot", gate=gate, command="cat code.txt")
    (project / "code.txt").write_text("v2\n")
    pushed = qxub("remote", "push", remote)
    assert pushed.returncode == 0, pushed.stderr
    said = [line for line in pushed.stderr.splitlines() if "in this mirror" in line]
    assert len(said) == 1, pushed.stderr
    assert f"jobs {first}, {second} on {remote} run in this mirror" in said[0]
    assert snapshot not in said[0]
    assert "use --snapshot to give each job its own copy" in said[0]
    (project / "code.txt").write_text("v3\n")
    again = qxub("remote", "push", remote)
    assert again.returncode == 0, again.stderr
    assert "in this mirror" not in again.stderr  # said once
    gate.touch()
    waited = qxub("wait", "--remote", remote, first)
    assert (waited.returncode, waited.stdout) == (0, "v3\n"), waited.stderr
    assert qxub("wait", "--remote", remote, snapshot).stdout == "v1\n"
    # A new job in the mirror is named by the next push; the ended ones are not.
    third = submit(gate=gate, command="cat code.txt")
    assert qxub("wait", "--remote", remote, third).returncode == 0
    fourth = submit(gate=tmp_path / "never", command="true")
    (project / "code.txt").write_text("v4\n")
    pushed = qxub("remote", "push", remote)
    said = [line for line in pushed.stderr.splitlines() if "in this mirror" in line]
    assert said == [
        f"qxub: job {fourth} on {remote} runs in this mirror and will see this push (submitted "
        "without --snapshot, not seen to end here); use --snapshot to give each job its own copy"
    ], pushed.stderr
    assert qxub("cancel", "--remote", remote, fourth).returncode == 0


def test_a_job_followed_to_its_end_or_cancelled_is_not_named_by_the_next_push(
    remote: str, tmp_path: Path
) -> None:
    project = Path.cwd()
    (project / "code.txt").write_text("v1\n")
    assert qxub("remote", "push", remote).returncode == 0
    followed = qxub("exec", "--remote", remote, "--no-snapshot", "--", "cat", "code.txt")
    assert (followed.returncode, followed.stdout) == (0, "v1\n"), followed.stderr
    proc = qxub_popen("exec", "--remote", remote, "--no-snapshot", "--", "sleep", "60")
    assert proc.stderr is not None
    while "started" not in (line := proc.stderr.readline()):
        assert line, "qxub ended before the job started"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    (project / "code.txt").write_text("v2\n")
    pushed = qxub("remote", "push", remote)
    assert pushed.returncode == 0, pushed.stderr
    assert "in this mirror" not in pushed.stderr


def test_sync_snapshot_on_the_remote_is_the_default(
    sshd: SshServer, remote: str, remote_home: Path, tmp_path: Path
) -> None:
    write_config({"R": remote_settings(sshd, remote_home, sync={"snapshot": True})})
    (Path.cwd() / "code.txt").write_text("v1\n")
    gate = tmp_path / "gate"
    gate.touch()
    result = qxub("exec", "--remote", remote, "--sync", "--", "pwd")
    assert result.returncode == 0, result.stderr
    (run,) = [p for p in runs(remote_home).iterdir() if p.is_dir()]
    assert result.stdout == f"{run}\n"
    plain = qxub("exec", "--remote", remote, "--no-snapshot", "--", "pwd")
    assert plain.stdout == f"{mirror(remote_home)}\n", plain.stderr
    dry = qxub("exec", "--remote", remote, "--dry", "--", "pwd")
    assert dry.returncode == 0, dry.stderr
    assert len([p for p in runs(remote_home).iterdir() if p.is_dir()]) == 1  # --dry copies nothing
    write_config({"R": remote_settings(sshd, remote_home, sync={"snapshot": "yes"})})
    bad = qxub("exec", "--remote", remote, "--", "true")
    assert_one_line_error(bad)
    assert "sync.snapshot" in bad.stderr and "true or false" in bad.stderr


def test_snapshot_goes_with_remote(tmp_path: Path) -> None:
    for option in ("--snapshot", "--no-snapshot"):
        refused = qxub("exec", option, "--", "true", cwd=tmp_path)
        assert_one_line_error(refused)
        assert "go with --remote" in refused.stderr
        assert "qxub exec --remote" in refused.stderr


def test_explain_and_show_tell_where_a_snapshot_job_runs(
    sshd: SshServer, remote: str, remote_home: Path
) -> None:
    plain = qxub("remote", "explain", remote, "--", "pwd")
    assert plain.returncode == 0, plain.stderr
    assert ".runs/" not in plain.stdout and "cp -al" not in plain.stdout
    copied = qxub("remote", "explain", remote, "--snapshot", "--", "pwd")
    assert copied.returncode == 0, copied.stderr
    runs_in = next(line for line in copied.stdout.splitlines() if line.startswith("runs in:"))
    assert ".runs/" in runs_in
    assert "cp -al" in copied.stdout
    write_config({"R": remote_settings(sshd, remote_home, sync={"snapshot": True})})
    assert "sync.snapshot   True" in qxub("remote", "show", remote).stdout
    assert "cp -al" in qxub("remote", "explain", remote, "--", "pwd").stdout
    assert "cp -al" not in qxub("remote", "explain", remote, "--no-snapshot", "--", "pwd").stdout


def test_another_projects_mirror_is_never_filled_with_copies(
    remote: str, remote_home: Path
) -> None:
    assert qxub("remote", "push", remote).returncode == 0
    other = runs(remote_home)  # the mirror of a project whose folder is named `proj.runs`
    other.mkdir()
    (other / ".qxub-mirror").write_text('{"project": "/elsewhere/proj.runs", "host": "h"}\n')
    refused = qxub("exec", "--remote", remote, "--snapshot", "--", "true")
    assert refused.returncode == 1, refused.stderr
    assert "is the mirror of another project" in refused.stderr
    assert "nothing was submitted" in refused.stderr and "--no-snapshot" in refused.stderr
    assert sorted(p.name for p in other.iterdir()) == [".qxub-mirror"]
