"""The laptop's side of `qxub exec --remote` stays light: it imports nothing about jobs,
schedulers or platforms: the remote qxub does that work."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import children

pytestmark = pytest.mark.sshd

# Writes the names of the modules loaded, at exit, then runs qxub as `python -m qxub` would.
WRAPPER = """
import atexit, runpy, sys
out = sys.argv.pop(1)
def write():
    with open(out, "w") as handle:
        handle.write("\\n".join(sorted(sys.modules)))
atexit.register(write)
sys.argv[0] = "qxub"
runpy.run_module("qxub", run_name="__main__", alter_sys=True)
"""

HEAVY = (
    "qxub.execute",
    "qxub.jobs",
    "qxub.monitor",
    "qxub.job.spec",
    "qxub.job.script",
    "qxub.job.build",
    "qxub.placement",
    "qxub.platforms",
    "qxub.schedulers.base",
    "qxub.schedulers.registry",
    "qxub.sync.rsync",
    "qxub.sync.push",
    "paramiko",
    "traceback",
    "secrets",
)


def test_the_laptop_path_of_exec_remote_imports_no_job_machinery(
    remote: str, tmp_path: Path
) -> None:
    loaded = tmp_path / "modules.txt"
    result = children.run(
        [
            sys.executable,
            "-c",
            WRAPPER,
            str(loaded),
            "exec",
            "--remote",
            remote,
            "--",
            "echo",
            "hi",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (0, "hi\n"), result.stderr
    modules = set(loaded.read_text().split())
    assert "qxub.remote.executor" in modules  # the wrapper saw the run
    heavy = sorted(m for m in modules if m.startswith(HEAVY))
    assert heavy == [], f"the laptop path imported {heavy}"


def test_a_config_read_before_is_not_parsed_again(remote: str, tmp_path: Path) -> None:
    """What the YAML files said is kept (qxub.yaml_cache): the next run with the same files
    neither imports the parser nor the modules of other transports and of --forward."""
    loaded = tmp_path / "modules.txt"
    argv = [sys.executable, "-c", WRAPPER, str(loaded), "exec", "--remote", remote, "--", "true"]
    for _ in range(2):
        result = children.run(argv, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
    modules = set(loaded.read_text().split())
    assert "qxub.remote.executor" in modules  # the wrapper saw the run
    unneeded = {"yaml", "qxub.remote.local", "qxub.remote.forwarding", "socket"} & modules
    assert not unneeded, f"the second run imported {sorted(unneeded)}"


def test_a_one_file_push_imports_no_module_it_does_without(remote: str, tmp_path: Path) -> None:
    """A push that sends one file writes its tar stream, finds its tools and hands git the
    built-in ignores without tarfile, shutil or tempfile (about 10 ms of imports)."""
    project = Path.cwd()
    (project / "run.py").write_text("print('v1')\n")
    (project / "cache.pyc").write_text("built-in ignore\n")
    first = children.run([sys.executable, "-m", "qxub", "remote", "push", remote], timeout=60)
    assert first.returncode == 0
    (project / "run.py").write_text("print('v2')\n")
    loaded = tmp_path / "modules.txt"
    argv = [sys.executable, "-c", WRAPPER, str(loaded), "remote", "push", remote, "-v"]
    result = children.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "sent run.py" in result.stderr and "cache.pyc" not in result.stderr
    modules = set(loaded.read_text().split())
    assert "qxub.mirroring.small_push" in modules  # the wrapper saw the small push
    assert {"tarfile", "shutil", "tempfile"} & modules == set()
