"""First contact with a fresh remote: qxub's three commands against the same steps by hand.

A fresh remote is a new account on a real sshd on 127.0.0.1 (needs root: useradd), with an
empty home and one Python (a venv without site-packages: no click, no PyYAML), no package
index. Timed, each in a fresh account of its own:
  qxub: `qxub remote add` (with its checks) + `qxub remote install` + the first
      `qxub exec --remote R --sync -- python3 run.py` of a small project;
  by hand: scp of the same three wheels, `python3 -m venv`, `pip install --no-index --no-deps`
      (pip from the venv's ensurepip), then rsync of the project and `qxub exec` over ssh;
  again: `qxub remote install R` once it is done (nothing to do) against `ssh host true`
      over the same master.
Both ride one ssh master connection. Prints seconds and the ratio qxub / by hand.
Run (as root): python bench/first_contact.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from harness import QXUB

from qxub.wheels import remote_wheels

from children import run
from sshd_server import FreshUser, SshServer


class Remote:
    def __init__(self, work: Path) -> None:
        self.user = FreshUser("qxb")
        python = self.user.base / "python"
        run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(python)], check=True)
        root = self.user.base / "sshd"
        self.server = SshServer(root, user=self.user.name)
        root.chmod(0o755)
        self.server.authorized_keys.chmod(0o644)
        self.server.set_env({"PATH": f"{python}/bin:/usr/bin:/bin", "PIP_NO_INDEX": "1"})
        self.server.start()
        self.control = Path(tempfile.mkdtemp(prefix="qxbc-", dir="/tmp"))
        self.env = {
            **os.environ,
            "XDG_CONFIG_HOME": str(work / "config"),
            "XDG_STATE_HOME": str(work / "state"),
            "XDG_RUNTIME_DIR": str(self.control),
        }
        self.url = f"ssh://{self.user.name}@127.0.0.1:{self.server.port}"

    def ssh(self, control_path: str | None = None) -> list[str]:
        """ssh on a master of the bench's own, or on the one at `control_path` (qxub's)."""
        return [
            "ssh", "-F", str(self.server.ssh_config), "-p", str(self.server.port),
            "-o", "ControlMaster=auto", "-o", f"ControlPath={control_path or self.control}/%C",
            "-o", "ControlPersist=60", "-l", self.user.name,
        ]  # fmt: skip

    def close(self) -> None:
        for control in (None, f"{self.control}/qxub"):  # the bench's master, and qxub's
            exit_master = [*self.ssh(control), "-O", "exit", "127.0.0.1"]
            run(exit_master, capture_output=True, check=False)
        self.server.stop()
        self.user.remove()
        shutil.rmtree(self.control, ignore_errors=True)


def _project(where: Path) -> Path:
    (where / ".git").mkdir(parents=True)
    (where / "run.py").write_text("print('hello')\n")
    return where


def by_qxub(work: Path) -> tuple[float, float, float]:
    remote = Remote(work)
    project = _project(work / "proj")
    try:
        start = time.perf_counter()
        add = [
            *QXUB,
            "remote",
            "add",
            "R",
            remote.url,
            "--ssh-config",
            str(remote.server.ssh_config),
        ]
        run(add, env=remote.env, cwd=project, check=True, capture_output=True)
        install = [*QXUB, "remote", "install", "R"]
        run(install, env=remote.env, cwd=project, check=True, capture_output=True)
        execute = [*QXUB, "exec", "--remote", "R", "--sync", "--", "python3", "run.py"]
        out = run(execute, env=remote.env, cwd=project, check=True, capture_output=True, text=True)
        assert "hello" in out.stdout
        first = time.perf_counter() - start
        start = time.perf_counter()
        run(install, env=remote.env, cwd=project, check=True, capture_output=True)
        again = time.perf_counter() - start
        ssh = [*remote.ssh(f"{remote.control}/qxub"), "127.0.0.1", "true"]
        start = time.perf_counter()
        run(ssh, check=True, capture_output=True)
        return first, again, time.perf_counter() - start
    finally:
        remote.close()


def by_hand(work: Path, wheels: Path) -> float:
    remote = Remote(work)
    project = _project(work / "proj")
    try:
        ssh = remote.ssh()
        start = time.perf_counter()
        run([*ssh, "127.0.0.1", "mkdir -p wheels"], check=True)
        scp = ["scp", "-q", "-F", str(remote.server.ssh_config), "-P", str(remote.server.port)]
        scp += ["-o", f"ControlPath={remote.control}/%C"]
        files = [str(p) for p in sorted(wheels.iterdir())]
        run([*scp, *files, f"{remote.user.name}@127.0.0.1:wheels/"], check=True)
        install = "python3 -m venv v && v/bin/pip install -q --no-index --no-deps wheels/*.whl"
        run([*ssh, "127.0.0.1", install], check=True, capture_output=True)
        rsh = " ".join(ssh)
        run(["rsync", "-a", "-e", rsh, f"{project}/", "127.0.0.1:proj/"], check=True)
        job = "cd proj && ~/v/bin/qxub exec -- python3 run.py"
        out = run([*ssh, "127.0.0.1", job], check=True, capture_output=True, text=True)
        assert "hello" in out.stdout
        return time.perf_counter() - start
    finally:
        remote.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheels = Path(tmp) / "wheels"
        wheels.mkdir()
        for wheel in remote_wheels():  # built before the clock starts: the by-hand steps
            (wheels / wheel.filename).write_bytes(wheel.data)  # begin with wheels in hand
        qxub_times, again_times, ssh_times, hand_times = [], [], [], []
        for i in range(args.runs):  # in turns, so that load on the machine hits both
            first, again, ssh = by_qxub(Path(tmp) / f"q{i}")
            qxub_times.append(first)
            again_times.append(again)
            ssh_times.append(ssh)
            hand_times.append(by_hand(Path(tmp) / f"h{i}", wheels))
    q, h = statistics.median(qxub_times), statistics.median(hand_times)
    a, s = statistics.median(again_times), statistics.median(ssh_times)
    print(f"first contact (median of {args.runs}): qxub add+install+exec {q:.2f}s,")
    print(f"  by hand scp+venv+pip+rsync+exec {h:.2f}s; ratio qxub/by hand {q / h:.2f}")
    print(f"install again (done): {a:.2f}s, ssh true on the master {s:.3f}s; ratio {a / s:.1f}")


if __name__ == "__main__":
    main()
