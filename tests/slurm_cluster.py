"""A real single-node Slurm (munged + slurmctld + slurmd) in a temp dir, on private ports.

Plain Python without pytest; the fixtures are in services.py: `slurm_cluster` (session scope)
starts one, `slurm_env` (per test) points SLURM_CONF at it.
Facts behind the configuration are in the project's shared TESTING.md ("Slurm 22.05 single-node
cluster, by hand"). Run `python tests/slurm_cluster.py` to start one by hand for poking at.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from children import popen, run

SETUP_HINT = (
    "run scripts/setup-test-env (as root), which installs them "
    "(apt-get install slurmctld slurmd slurm-client munge)"
)
NEEDED = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "sacct")
PARTITION = "debug"
START_TIMEOUT = 30.0
ROOT_VARIABLE = "TEST_SLURM_CLUSTER_ROOT"  # set for the daemons only
PR_SET_PDEATHSIG = 1

Popen = subprocess.Popen[bytes]


@dataclass
class SlurmCluster:
    """A running cluster: `conf` is its slurm.conf, `env` the environment its clients need."""

    root: Path
    conf: Path
    env: dict[str, str]
    node: str
    munge_socket: Path
    partition: str = PARTITION
    procs: dict[str, Popen] = field(default_factory=dict)

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a Slurm client command against this cluster."""
        return run(argv, env=self.env, capture_output=True, text=True, check=check, timeout=30)

    def log_tail(self, lines: int = 15) -> str:
        """The end of every daemon's log, for failure messages."""
        parts = []
        for name in ("munged", "slurmctld", "slurmd"):
            path = self.root / f"{name}.log"
            text = path.read_text(errors="replace") if path.exists() else "(no log)"
            parts.append(f"--- {name}.log ---\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(parts)

    def node_state(self) -> str:
        """The node's state word as sinfo prints it (idle, mix, alloc, down*, ...)."""
        result = self.run("sinfo", "-h", "-N", "-o", "%t", check=False)
        return result.stdout.strip()

    def stop(self) -> None:
        """Cancel and drain every job, then stop the daemons by pid."""
        if self._alive("slurmctld"):
            self.run("scancel", "--user", pwd.getpwuid(os.getuid()).pw_name, check=False)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                jobs = self.run("squeue", "-h", "-o", "%i", check=False).stdout.strip()
                if not jobs and self.node_state() in ("idle", ""):
                    break
                time.sleep(0.1)
        # slurmd first (it reaps its slurmstepds), then the controller, then munged.
        for name in ("slurmd", "slurmctld", "munged"):
            _terminate(self.procs.get(name))
        for stepd in _stepd_pids(self.root):
            # A leftover stepd ignores SIGTERM (TESTING.md); it belongs to this cluster only.
            _kill(stepd, signal.SIGKILL)
        if self.munge_socket.parent != self.root:
            shutil.rmtree(self.munge_socket.parent, ignore_errors=True)

    def _alive(self, name: str) -> bool:
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None


def _kill(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _terminate(proc: Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _stepd_pids(root: Path) -> list[int]:
    """slurmstepd processes started for this cluster (their argv or environment names it)."""
    pids = []
    mark = f"{ROOT_VARIABLE}={root}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if b"slurmstepd" in cmdline and mark in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _node_line(host: str) -> str:
    """This machine's hardware as slurmd sees it, with memory kept a little under the measure
    (a node that reports less than its configured RealMemory is drained)."""
    out = run(["slurmd", "-C"], capture_output=True, text=True, check=True, timeout=30).stdout
    words = out.splitlines()[0].split()
    kept = []
    for word in words:
        key, _, value = word.partition("=")
        if key == "NodeName":
            continue
        if key == "RealMemory":
            value = str(max(int(value) * 9 // 10, 1))
        kept.append(f"{key}={value}")
    return " ".join([f"NodeName={host}", *kept, "NodeAddr=127.0.0.1", "State=UNKNOWN"])


def _slurm_conf(root: Path, host: str, munge_socket: Path) -> str:
    ctld_port, slurmd_port = _free_port(), _free_port()
    while slurmd_port == ctld_port:
        slurmd_port = _free_port()
    return f"""\
ClusterName=qxubtest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=batch_sched_delay=0
MailProg=/bin/true
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={root}/jobcomp.txt
MinJobAge=300
KillWait=2
{_node_line(host)}
PartitionName={PARTITION} Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the test process dies without a teardown."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _spawn(root: Path, name: str, argv: list[str], env: Mapping[str, str]) -> Popen:
    with (root / f"{name}.stderr").open("wb") as stderr:
        return popen(
            argv,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,  # a Ctrl-C of pytest reaches the teardown, not the daemons
            preexec_fn=_die_with_parent,
        )


def _munge_socket(root: Path) -> Path:
    """A socket path short enough for AF_UNIX (108 bytes), even under a deep TMPDIR."""
    sock = root / "munge.socket"
    if len(str(sock)) < 100:
        return sock
    return Path(tempfile.mkdtemp(prefix="qxub-munge-", dir="/tmp")) / "munge.socket"


def _start_munged(root: Path, sock: Path, env: Mapping[str, str]) -> Popen:
    key = root / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    argv = [
        "munged",
        "-F",
        "--force",
        f"--key-file={key}",
        f"--socket={sock}",
        f"--pid-file={root / 'munged.pid'}",
        f"--log-file={root / 'munged.log'}",
        f"--seed-file={root / 'munged.seed'}",
    ]
    return _spawn(root, "munged", argv, env)


def _wait(what: str, ready: Callable[[], bool], cluster: SlurmCluster) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        for name, proc in cluster.procs.items():
            if proc.poll() is not None:
                cluster.stop()
                raise RuntimeError(
                    f"{name} exited with {proc.returncode} while waiting for {what}\n"
                    + cluster.log_tail()
                )
        if time.monotonic() > deadline:
            cluster.stop()
            raise RuntimeError(f"timed out waiting for {what}\n" + cluster.log_tail())
        time.sleep(0.05)


def start_cluster(root: Path) -> SlurmCluster:
    """Start munged, slurmctld and slurmd under `root`; return once the node is idle."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "state").mkdir(exist_ok=True)
    (root / "spool").mkdir(exist_ok=True)
    host = socket.gethostname().split(".")[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_"))}
    munge_socket = _munge_socket(root)
    munged = _start_munged(root, munge_socket, env)
    conf = root / "slurm.conf"
    conf.write_text(_slurm_conf(root, host, munge_socket))
    env["SLURM_CONF"] = str(conf)
    # The daemons' environment names `root`, so their slurmstepds can be found at teardown.
    env[ROOT_VARIABLE] = str(root)
    cluster = SlurmCluster(root, conf, env, host, munge_socket)
    cluster.procs["munged"] = munged
    _wait("munged", munge_socket.exists, cluster)
    for name, argv in (
        ("slurmctld", ["slurmctld", "-D", "-i", "-f", str(conf)]),
        ("slurmd", ["slurmd", "-D", "-f", str(conf)]),
    ):
        cluster.procs[name] = _spawn(root, name, argv, env)
    _wait("the node to become idle", lambda: cluster.node_state() == "idle", cluster)
    return cluster


def missing_binaries() -> list[str]:
    return [name for name in NEEDED if shutil.which(name) is None]


if __name__ == "__main__":
    import sys

    started = time.monotonic()
    here = start_cluster(Path(tempfile.mkdtemp(prefix="qxub-slurm-")))
    print(f"started in {time.monotonic() - started:.2f}s; export SLURM_CONF={here.conf}")
    try:
        if len(sys.argv) > 1:
            run(sys.argv[1:], env=here.env, check=False)
        else:
            stop = {signal.SIGINT, signal.SIGTERM}
            signal.pthread_sigmask(signal.SIG_BLOCK, stop)
            signal.sigwait(stop)
    finally:
        here.stop()
