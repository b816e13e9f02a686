"""qxub.proc: the one way qxub starts a process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qxub import proc
from qxub.errors import CommandFailed


def test_run_bytes_keeps_the_bytes(tmp_path: Path) -> None:
    (tmp_path / "caf\xe9 \n.txt").write_text("x")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "."], check=True)
    result = proc.run_bytes(["git", "-C", str(tmp_path), "ls-files", "-z"])
    assert result.stdout == "caf\xe9 \n.txt".encode() + b"\0"


def test_a_failure_names_argv_code_and_stderr_tail() -> None:
    script = (
        "import sys; print('\\n'.join(f'line {i}' for i in range(30)), file=sys.stderr); "
        "sys.exit(3)"
    )
    for runner in (proc.run, proc.run_bytes):
        with pytest.raises(CommandFailed) as caught:
            runner([sys.executable, "-c", script])
        message = caught.value.message
        assert message.startswith(f"`{sys.executable} -c ")
        assert "failed with exit code 3:\n" in message
        assert message.endswith("\n".join(f"line {i}" for i in range(20, 30)))


def test_start_streams() -> None:
    process = proc.start([sys.executable, "-c", "print('hello')"])
    assert process.stdout is not None
    assert process.stdout.read() == b"hello\n"
    assert process.wait_interruptibly() == 0


def _parent_that_starts_a_sleeper(die_with_parent: bool) -> int:
    """A python that starts `sleep 60` through proc.start, prints its pid and ends at once."""
    code = (
        "import subprocess; from qxub import proc; d = subprocess.DEVNULL; "
        f"p = proc.start(['sleep', '60'], stdout=d, stderr=d, "
        f"new_session=True, die_with_parent={die_with_parent}); print(p.pid)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_a_helper_dies_with_qxub() -> None:
    pid = _parent_that_starts_a_sleeper(die_with_parent=True)
    assert _gone_within(pid, 5)


def test_a_detached_job_outlives_qxub() -> None:
    pid = _parent_that_starts_a_sleeper(die_with_parent=False)
    try:
        assert not _gone_within(pid, 0.5)
    finally:
        os.kill(pid, 15)
