"""A real OpenSSH server on 127.0.0.1 for the tests, with its own host and client keys.

`SshServer` is plain Python without pytest (the benchmarks use it too); the session fixture
`sshd` in services.py starts one per test session. The client side goes through
`ssh -F server.ssh_config` only: the ssh client finds ~/.ssh through the password database,
not $HOME, so nothing else is hermetic.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from children import popen, run

SSHD = "/usr/sbin/sshd"
SETUP_SCRIPT = "scripts/setup-test-env"  # installs openssh-server and rsync
ALIAS = "qxub-test"


def missing_tools() -> list[str]:
    """The OpenSSH programs these tests need that are not installed."""
    missing = [] if os.access(SSHD, os.X_OK) else [SSHD]
    return missing + [tool for tool in ("ssh", "ssh-keygen") if shutil.which(tool) is None]


def generate_key(path: Path, comment: str = "qxub-test") -> Path:
    """A fresh ed25519 key pair without a passphrase at `path` and `path`.pub."""
    path.unlink(missing_ok=True)
    Path(f"{path}.pub").unlink(missing_ok=True)
    run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path


def public_key(private_key: Path) -> str:
    """`ssh-ed25519 AAAA...` of a key pair, without its comment."""
    return " ".join(Path(f"{private_key}.pub").read_text().split()[:2])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _quote(path: Path | str) -> str:
    """ssh_config and sshd_config take double-quoted arguments (paths with spaces)."""
    return f'"{path}"'


def _children(pid: int) -> list[int]:
    """All descendants of `pid`, read from /proc (Linux; elsewhere just none)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        found.extend(kids)
        todo.extend(kids)
    return found


def _is_sshd(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "sshd"
    except OSError:
        return False


class SshServer:
    """One sshd in `root`, listening on 127.0.0.1:`port`, logging to `log_path`."""

    host = "127.0.0.1"

    def __init__(self, root: Path, port: int | None = None, user: str | None = None) -> None:
        self.root = root
        self.port = port or free_port()
        self.user = user or pwd.getpwuid(os.getuid()).pw_name
        self.host_key = root / "ssh_host_ed25519_key"
        self.client_key = root / "id_ed25519"
        self.authorized_keys = root / "authorized_keys"
        self.known_hosts = root / "known_hosts"
        self.ssh_config = root / "ssh_config"
        self.sshd_config = root / "sshd_config"
        self.pid_file = root / "sshd.pid"
        self.log_path = root / "sshd.log"
        self.env: dict[str, str] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        root.mkdir(parents=True, exist_ok=True)
        generate_key(self.host_key, "qxub-test-host")
        generate_key(self.client_key, "qxub-test-client")
        self.authorized_keys.write_text(public_key(self.client_key) + "\n")
        self.known_hosts.write_text(self.known_hosts_line(self.host_key))
        self.write_client_config(self.ssh_config)
        self._write_sshd_config()

    @property
    def url(self) -> str:
        return f"ssh://{self.user}@{self.host}:{self.port}"

    def known_hosts_line(self, key: Path) -> str:
        return f"[{self.host}]:{self.port} {public_key(key)}\n"

    def write_client_config(
        self,
        path: Path,
        *,
        known_hosts: Path | None = None,
        identity_file: Path | None = None,
    ) -> Path:
        """An ssh client config: the `qxub-test` alias plus `Host *` defaults. Variants with
        another known_hosts or key serve the failure tests."""
        known_hosts = known_hosts or self.known_hosts
        identity_file = identity_file or self.client_key
        common = [
            f"    IdentityFile {_quote(identity_file)}",
            "    IdentitiesOnly yes",
            f"    UserKnownHostsFile {_quote(known_hosts)}",
            "    GlobalKnownHostsFile /dev/null",
            "    StrictHostKeyChecking yes",
            "    UpdateHostKeys no",
        ]
        lines = [
            f"Host {ALIAS}",
            f"    HostName {self.host}",
            f"    Port {self.port}",
            f"    User {self.user}",
            *common,
            "",
            "Host *",
            *common,
        ]
        path.write_text("\n".join(lines) + "\n")
        return path

    def write_wrong_known_hosts(self, path: Path) -> Path:
        """A known_hosts that pins a different key for this server (the 'changed key' case)."""
        impostor = generate_key(path.with_name(path.name + ".impostor_key"), "impostor")
        path.write_text(self.known_hosts_line(impostor))
        return path

    def make_stranger_key(self, path: Path) -> Path:
        """A client key the server does not authorise."""
        return generate_key(path, "stranger")

    def set_env(self, env: Mapping[str, str]) -> None:
        """Pass `env` to remote commands (sshd's SetEnv). Restarts the server, so existing
        connections (and masters) drop and new ones see the variables."""
        self.env = dict(env)
        self._write_sshd_config()
        if self.running:
            self.stop()
            self.start()

    def _write_sshd_config(self) -> None:
        lines = [
            f"Port {self.port}",
            f"ListenAddress {self.host}",
            f"HostKey {_quote(self.host_key)}",
            f"PidFile {_quote(self.pid_file)}",
            f"AuthorizedKeysFile {_quote(self.authorized_keys)}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "PermitRootLogin prohibit-password",
            "Subsystem sftp internal-sftp",
            "MaxStartups 100",
            "MaxSessions 100",
            "LogLevel INFO",
        ]
        if self.env:
            # Values may hold spaces: each NAME=value is one double-quoted argument.
            lines.append("SetEnv " + " ".join(f'"{k}={v}"' for k, v in self.env.items()))
        self.sshd_config.write_text("\n".join(lines) + "\n")

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start sshd (again) on the same port with the same keys; return once it listens."""
        if self.running:
            return
        if os.getuid() == 0 and not os.path.isdir("/run/sshd"):
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation dir
        self.pid_file.unlink(missing_ok=True)
        log = self.log_path.open("ab")
        try:
            self._proc = popen(
                [SSHD, "-D", "-e", "-f", str(self.sshd_config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # sshd writes its pid file only after it has bound the port.
            if self.pid_file.exists() and self.pid_file.read_text().strip():
                return
            if self._proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        tail = "\n".join(self.log_text().splitlines()[-10:])
        raise RuntimeError(f"sshd did not start on {self.host}:{self.port}:\n{tail}")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop sshd and drop every connection to it, as a server going away would: the
        per-connection sshd processes are killed too (the daemon alone would leave them)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        sessions = [pid for pid in _children(proc.pid) if _is_sshd(pid)]
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pid in sessions:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def accepted_logins(self) -> int:
        """How many connections have logged in so far (one per TCP connection)."""
        return self.log_text().count("Accepted publickey for ")


class FreshUser:
    """A new account on this machine with an empty home, for a first contact as a new cluster
    user makes it (needs root: useradd). `remove()` deletes the account and its home."""

    def __init__(self, prefix: str = "qxf") -> None:
        if os.getuid() != 0:
            raise RuntimeError("a fresh user needs root (useradd); run the tests as root")
        self.base = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir="/tmp"))
        self.base.chmod(0o755)
        self.name = f"{prefix}{os.getpid() % 100000}{self.base.name[-4:].lower()}"
        self.name = "".join(c for c in self.name if c.isalnum())[:30]
        self.home = self.base / "home"
        run(
            ["useradd", "-m", "-d", str(self.home), "-s", "/bin/bash", self.name],
            check=True,
            capture_output=True,
        )
        # A locked password ("!") makes sshd refuse even a key; "*" is no password at all.
        run(["usermod", "-p", "*", self.name], check=True, capture_output=True)
        for leftover in self.home.iterdir():  # useradd copies /etc/skel: start empty
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()

    def remove(self) -> None:
        run(["userdel", self.name], check=False, capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)
