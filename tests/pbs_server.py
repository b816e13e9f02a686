"""A real OpenPBS server for the tests: the one ../shared/openpbs builds into /opt/pbs and starts
inside the network namespace `qxubpbs` (its README says how and why). Plain Python, no pytest.

`scripts/setup-test-env` builds and starts it (as root). `find_server` checks that it answers,
starts it again when it is installed but stopped (after a reboot), and otherwise says what is
wrong and how to fix it; the fixtures in services.py fail (never skip) with that message.

PBS refuses root's jobs and its clients work only inside the namespace, so every qxub and PBS
command of these tests runs through `in-pbs-ns -u pbsuser -- ...`; `make_user_dir` makes a
directory that user owns, for the working directory and qxub's own state (pytest's tmp dirs are
private to root). Only in-pbs-ns's own exec may start a Python that lives under a root-only home
(as a pyenv one does): give such a Python its variables in the environment, never through
`env VAR=... python`.

The server is shared by everyone on the machine and left running at the end: it is a system
service (/opt/pbs, /var/spool/pbs), and other test runs may be using it.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import children

SETUP_HINT = "run scripts/setup-test-env as root: it builds and starts OpenPBS"
USER = os.environ.get("OPENPBS_TEST_USER") or "pbsuser"
PREFIX = Path("/opt/pbs")
LOCK = Path("/run/lock/qxub-openpbs.lock")  # scripts/setup-test-env takes the same lock
CHECKOUT = Path(__file__).resolve().parent.parent


def openpbs_dir() -> Path | None:
    """Where the OpenPBS scripts are: $OPENPBS_DIR, else `shared/openpbs` beside the checkout
    (beside the main checkout, for a git worktree)."""
    if os.environ.get("OPENPBS_DIR"):
        return Path(os.environ["OPENPBS_DIR"])
    candidates = [CHECKOUT.parent / "shared" / "openpbs"]
    common = subprocess.run(
        ["git", "-C", str(CHECKOUT), "rev-parse", "--path-format=absolute", "--git-common-dir"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if common:
        candidates.append(Path(common).parent.parent / "shared" / "openpbs")
    for candidate in candidates:
        if (candidate / "in-pbs-ns").exists():
            return candidate
    return None


@dataclass(frozen=True)
class PbsServer:
    """The running server: `in_ns` runs a command inside its namespace."""

    scripts: Path
    user: str
    # Where the submitting user finds qxub and its dependencies when it cannot read this
    # checkout (a clone under root's private home): a readable copy, else None.
    pythonpath: Path | None = None

    @property
    def in_ns(self) -> str:
        return str(self.scripts / "in-pbs-ns")

    def argv(self, *argv: str, as_root: bool = False) -> list[str]:
        """`argv` run inside the namespace, as the submitting user unless `as_root`."""
        return [self.in_ns, *([] if as_root else ["-u", self.user]), "--", *argv]

    def run(
        self,
        *argv: str,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 60,
        as_root: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        return children.run(
            self.argv(*argv, as_root=as_root),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    @property
    def env(self) -> dict[str, str]:
        """What the user's commands need in their environment (PYTHONPATH for the copy)."""
        return {"PYTHONPATH": str(self.pythonpath)} if self.pythonpath else {}

    def answers(self) -> bool:
        try:
            return self.run("qstat", "-B", as_root=True, timeout=30).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def qstat(self, job_id: str) -> dict[str, Any]:
        """PBS's full record of a job, finished or not (`qstat -x -f -F json`)."""
        result = self.run("qstat", "-x", "-f", "-F", "json", job_id)
        assert result.returncode == 0, result.stderr
        jobs: dict[str, Any] = json.loads(result.stdout)["Jobs"]
        return next(iter(jobs.values()))

    def wait_finished(self, job_id: str, timeout: float = 90) -> dict[str, Any]:
        """The job's record once PBS says it is finished (state F); one qstat a second."""
        deadline = time.monotonic() + timeout
        while True:
            record = self.qstat(job_id)
            if record["job_state"] == "F" or time.monotonic() > deadline:
                return record
            time.sleep(1)


def _start(scripts: Path) -> subprocess.CompletedProcess[str]:
    """build_and_start.sh without a source: starts an installed PBS (a no-op when running)."""
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        ["flock", "-o", str(LOCK), str(scripts / "build_and_start.sh")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


class PbsUnavailable(Exception):
    """The server cannot serve the tests; the message says why and what to do."""


def find_server() -> PbsServer:
    """The machine's OpenPBS, answering, with its submitting user able to run this qxub."""
    if os.geteuid() != 0:
        raise PbsUnavailable(
            "the PBS tests run as root (they enter PBS's network namespace and submit as "
            f"{USER}); run them as root"
        )
    scripts = openpbs_dir()
    if scripts is None:
        raise PbsUnavailable(
            "../shared/openpbs (OpenPBS's build scripts) is not beside this checkout; "
            "put it there or set OPENPBS_DIR"
        )
    if not (PREFIX / "bin" / "qstat").exists():
        raise PbsUnavailable(f"OpenPBS is not installed in {PREFIX}: {SETUP_HINT}")
    server = PbsServer(scripts, USER)
    if not server.answers():
        started = _start(scripts)
        if started.returncode != 0 or not server.answers():
            tail = "\n".join((started.stdout + started.stderr).splitlines()[-15:])
            raise PbsUnavailable(f"OpenPBS did not start ({SETUP_HINT}):\n{tail}")
    probe = server.run(sys.executable, "-c", "import qxub", cwd=Path("/"))
    if probe.returncode == 0:
        return server
    # The checkout (or its .venv) is private to root: give the user a readable copy of qxub
    # and of what it imports. The interpreter itself is fine: in-pbs-ns execs it before the
    # user's own permissions apply.
    copy = readable_copy()
    server = PbsServer(scripts, USER, copy)
    probe = server.run(
        sys.executable, "-c", "import qxub", cwd=Path("/"), env={**os.environ, **server.env}
    )
    if probe.returncode != 0:
        shutil.rmtree(copy, ignore_errors=True)
        raise PbsUnavailable(
            f"{USER} (who submits the PBS jobs) cannot run this qxub ({sys.executable}), even "
            f"from a readable copy: {probe.stderr.strip()}"
        )
    return server


def readable_copy() -> Path:
    """qxub's package and the packages it imports, copied where every user can read them."""
    import click
    import yaml

    root = Path(tempfile.mkdtemp(prefix="qxub-pbs-python-", dir="/tmp"))
    root.chmod(0o755)
    sources = [CHECKOUT / "qxub", Path(click.__file__).parent, Path(yaml.__file__).parent]
    extension = Path(yaml.__file__).parent.parent / "_yaml"
    sources += [extension] if extension.is_dir() else []
    for source in sources:
        shutil.copytree(source, root / source.name, ignore=shutil.ignore_patterns("__pycache__"))
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return root


@dataclass(frozen=True)
class PbsUserDir:
    """A directory the submitting user owns: `work` to stand in, qxub's state and config."""

    root: Path
    work: Path
    env: dict[str, str]

    @property
    def jobs(self) -> Path:
        return Path(self.env["XDG_STATE_HOME"]) / "qxub" / "jobs"


def make_user_dir(server: PbsServer) -> PbsUserDir:
    """A fresh directory owned by the submitting user, and the environment that points qxub's
    state and config there (HOME is the user's own: in-pbs-ns sets it). Remove it with
    shutil.rmtree(root)."""
    account = pwd.getpwnam(server.user)
    root = Path(tempfile.mkdtemp(prefix="qxub-pbs-", dir="/tmp"))
    root.chmod(0o755)
    work = root / "work"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QXUB_", "PBS_"))}
    env.update(server.env)
    for name, sub in (
        ("XDG_STATE_HOME", "state"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_CONFIG_DIRS", "etc-xdg"),
    ):
        env[name] = str(root / sub)
        (root / sub).mkdir()
    work.mkdir()
    for path in [root, *root.iterdir()]:
        os.chown(path, account.pw_uid, account.pw_gid)
    return PbsUserDir(root, work, env)
