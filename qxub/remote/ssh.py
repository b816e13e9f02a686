"""The OpenSSH transport: the only module that builds `ssh` command lines.

Every command shares one master connection per host (ControlMaster=auto, ControlPersist), so
only the first pays for the TCP and key exchange; rsync rides the same master via `rsync_rsh()`.
Anything this module does not set (aliases, ProxyJump, keys, agent, ciphers) comes from the
user's own ssh config, untouched.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shlex
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from qxub import proc
from qxub.errors import CommandFailed, ConfigError, QxubError

# A unix socket path must fit sun_path: 104 bytes on macOS (108 on Linux) with its NUL. ssh
# binds "<ControlPath>.<16 random chars>" before renaming it, and %C is 40 hex digits, so
# "<control dir>/" may take 104 - 1 - 40 - 17 - 1 = 45 bytes.
MAX_CONTROL_DIR_LEN = 45
# Far below the kernel's limit for one argument (128 KiB); a script this long is a bug.
MAX_REMOTE_COMMAND = 100_000
URL_HINT = "write it as ssh://[user@]host[:port], e.g. ssh://jr9959@gadi.nci.org.au"

FailureKind = Literal[
    "changed_host_key", "unknown_host_key", "unresolved", "auth", "unreachable", "config", "closed"
]  # fmt: skip


class SshError(QxubError):
    """ssh itself failed (its exit code 255): the command never ran, or its connection broke."""

    def __init__(self, message: str, hint: str, kind: FailureKind) -> None:
        super().__init__(message, hint)
        self.kind: FailureKind = kind


@dataclass(frozen=True)
class SshTarget:
    """Where to connect. `host` may be an alias of the ssh config; None leaves a setting to it."""

    host: str
    user: str | None = None
    port: int | None = None
    config_file: str | None = None

    def __post_init__(self) -> None:
        # A leading "-" would turn a config value into an ssh option.
        bad_host = not self.host or self.host.startswith("-") or re.search(r"[\s@/]", self.host)
        bad_user = self.user is not None and (not self.user or self.user.startswith("-"))
        if bad_host or bad_user or (self.port is not None and not 0 < self.port < 65536):
            raise ConfigError(
                f"invalid ssh destination: host={self.host!r} user={self.user!r} port={self.port}",
                hint=URL_HINT,
            )

    @classmethod
    def from_url(cls, url: str, config_file: str | None = None) -> SshTarget:
        """Parse `ssh://[user@]host[:port]` (the host may be an alias of the ssh config)."""
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = 0
        extra = parts.path not in ("", "/") or parts.query or parts.fragment or parts.password
        if parts.scheme != "ssh" or not parts.hostname or extra or port == 0:
            raise ConfigError(
                f"not an ssh url: {url!r}",
                hint=URL_HINT,
            )
        user = unquote(parts.username) if parts.username else None
        return cls(host=parts.hostname, user=user, port=port, config_file=config_file)

    def display(self) -> str:
        """`user@host:port` with what is set, for messages."""
        text = f"{self.user}@{self.host}" if self.user else self.host
        return f"{text}:{self.port}" if self.port else text

    def plain_ssh(self) -> list[str]:
        """The plain `ssh` command a user would type to reach this target by hand."""
        argv = ["ssh"]
        if self.config_file:
            argv += ["-F", self.config_file]
        if self.port:
            argv += ["-p", str(self.port)]
        return [*argv, f"{self.user}@{self.host}" if self.user else self.host]

    def known_hosts_name(self) -> str:
        """How known_hosts names this host (ssh-keygen -R takes it)."""
        return self.host if self.port in (None, 22) else f"[{self.host}]:{self.port}"


def ensure_private_dir(path: Path) -> Path:
    """Create `path` 0700, or accept it only if it is a real directory owned by us."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise QxubError(f"{path} is not a directory", hint="remove it; qxub keeps sockets there")
    if info.st_uid != os.getuid():
        # Whoever owns it could plant a socket there and see our ssh sessions.
        raise QxubError(
            f"{path} belongs to another user (uid {info.st_uid})",
            hint="remove it (ask an admin if need be), or set XDG_RUNTIME_DIR to a private dir",
        )
    if info.st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def default_control_dir() -> Path:
    """A private, short directory for control sockets: $XDG_RUNTIME_DIR/qxub or /tmp/qxub-UID."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(runtime) and os.path.isdir(runtime):
        candidate = Path(runtime) / "qxub"
        if len(str(candidate)) <= MAX_CONTROL_DIR_LEN:
            return ensure_private_dir(candidate)
    # Not $TMPDIR: on macOS it is a long /var/folders/... path.
    return ensure_private_dir(Path("/tmp") / f"qxub-{os.getuid()}")


def remote_command(script_lines: Sequence[str]) -> str:
    """The one string ssh hands to the remote login shell to run `script_lines` with bash.

    The script travels base64-encoded, so the login shell sees only `bash --norc -c '...'`
    with nothing to expand: that survives any login shell (csh/tcsh reject newlines inside
    quotes; fish has its own syntax) and keeps stdin free (`ssh -n`: a `cat` in the script
    reads nothing instead of eating the rest of the script, as with `bash -s`). The login
    shell runs the user's shell init once and bash inherits what it exported (PATH, conda
    and module variables) but not functions or aliases, like any script; `--norc` stops bash
    from sourcing ~/.bashrc a second time because it sees it was started by sshd.
    """
    script = "\n".join(script_lines) + "\n"
    encoded = base64.b64encode(script.encode()).decode("ascii")
    command = f"bash --norc -c 'eval \"$(echo {encoded} | base64 -d)\"'"
    if len(command) > MAX_REMOTE_COMMAND:
        raise QxubError(f"remote script too long ({len(script)} chars)", hint="a qxub bug")
    return command


class OpenSshTransport:
    """Run remote bash scripts through the system `ssh`, sharing one master connection."""

    def __init__(
        self,
        target: SshTarget,
        *,
        control_dir: Path,
        persist: str = "10m",
        connect_timeout: int = 10,
        force_tty: bool | None = None,
        server_alive_interval: int | None = 15,
    ) -> None:
        if len(str(control_dir)) > MAX_CONTROL_DIR_LEN:
            too_long = f"control socket directory {control_dir} is too long for a socket path"
            raise QxubError(too_long, hint=f"use at most {MAX_CONTROL_DIR_LEN} characters")
        self.target = target
        self.control_dir = control_dir
        self.persist = persist
        self.connect_timeout = connect_timeout
        self.force_tty = force_tty
        self.server_alive_interval = server_alive_interval

    def _options(self) -> list[str]:
        """ssh's options, without the host: shared by commands, `-O` requests and rsync."""
        options = {
            "BatchMode": "yes",  # nothing may wait on a prompt that no one sees: fail instead
            "ControlMaster": "auto",
            "ControlPath": str(self.control_dir).replace("%", "%%") + "/%C",
            "ControlPersist": self.persist,
            "ConnectTimeout": str(self.connect_timeout),
        }
        if self.server_alive_interval:
            # A long quiet job sends nothing: without keepalives a dropped network (laptop
            # asleep, wifi changed) leaves the stream hanging until TCP gives up, hours later.
            # With them the master notices within about a minute and qxub can say so.
            options["ServerAliveInterval"] = str(self.server_alive_interval)
            options["ServerAliveCountMax"] = "4"
        argv = ["ssh"]
        if self.target.config_file:
            argv += ["-F", os.path.expanduser(self.target.config_file)]
        for name, value in options.items():
            argv += ["-o", f"{name}={value}"]
        if self.target.port is not None:
            argv += ["-p", str(self.target.port)]
        if self.target.user is not None:
            argv += ["-l", self.target.user]
        return argv

    def base_argv(self) -> list[str]:
        """`ssh <options> host`: what every command line starts with."""
        return [*self._options(), self.target.host]

    def command_argv(self, script_lines: Sequence[str], *, tty: bool = False) -> list[str]:
        """The full argv that runs `script_lines` (already quoted by the caller) remotely.

        Without a tty (`-T -n`) stdout and stderr stay separate and stdin is unused; with one
        (`-tt`) the remote side merges them, so only interactive runs should ask for it.
        """
        mode = ["-tt"] if tty else ["-T", "-n"]
        return [*self._options(), *mode, self.target.host, remote_command(script_lines)]

    def resolve_tty(self, wanted: bool | None) -> bool:
        """The remote's `force_tty` when set, else what the caller wanted (auto = no tty)."""
        return self.force_tty if self.force_tty is not None else bool(wanted)

    def run(
        self, script_lines: Sequence[str], *, timeout: float | None = None, check: bool = True
    ) -> proc.Result:
        """Run a script and capture its output. ssh's own failures raise SshError even without
        `check`; with `check`, a non-zero exit of the script raises CommandFailed.
        On timeout the local ssh is killed; what already started remotely runs on."""
        argv = self.command_argv(script_lines)
        try:
            result = proc.run(argv, check=False, timeout=timeout)
        except CommandFailed as exc:
            if isinstance(exc.__cause__, subprocess.TimeoutExpired):
                raise CommandFailed(
                    f"remote command on {self.target.display()} did not finish within "
                    f"{timeout:g}s:\n{_excerpt(script_lines)}",
                    hint="the cluster may be overloaded or the network slow; try again",
                ) from exc
            raise _ssh_not_found() from exc
        error = self.connection_error(result.returncode, result.stderr)
        if error is not None:
            raise error
        if check and result.returncode != 0:
            said = "\n".join(result.stderr.rstrip().splitlines()[-10:]) or "(no output)"
            raise CommandFailed(
                f"remote command on {self.target.display()} failed with exit code "
                f"{result.returncode}:\n{_excerpt(script_lines)}\nIt said:\n{said}"
            )
        return result

    def popen(
        self,
        script_lines: Sequence[str],
        *,
        tty: bool | None = None,
        own_process_group: bool = True,
    ) -> subprocess.Popen[bytes]:
        """Start a script with stdout and stderr as pipes, to stream them as they come; pass
        its end to `connection_error()`. With `own_process_group`, Ctrl-C at the terminal
        reaches qxub but not ssh, so qxub can cancel the job by id and keep reading. A tty
        needs the terminal: then ssh stays in the foreground group and reads stdin."""
        use_tty = self.resolve_tty(tty)
        try:
            return subprocess.Popen(
                self.command_argv(script_lines, tty=use_tty),
                stdin=None if use_tty else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=own_process_group and not use_tty,
            )
        except FileNotFoundError as exc:
            raise _ssh_not_found() from exc

    def connection_error(self, returncode: int, stderr: str) -> SshError | None:
        """The SshError for a finished ssh, or None when ssh itself did not fail.

        A session whose master connection dies ends with 255 and says nothing, exactly like a
        script that exits 255; only then does this ask whether the master is still up."""
        if returncode != 255:
            return None
        error = classify_ssh_failure(stderr, self.target)
        if error is None and not self.check_master():
            said = stderr.strip().splitlines()[-1:] or ["ssh said nothing"]
            error = SshError(
                f"the connection to {self.target.display()} was lost ({said[0]})",
                hint=_FAILURES[-1][3],
                kind="closed",
            )
        return error

    def _control(self, request: str) -> proc.Result:
        argv = [*self._options(), "-O", request, self.target.host]
        try:
            return proc.run(argv, check=False, timeout=self.connect_timeout + 5)
        except CommandFailed as exc:
            if isinstance(exc.__cause__, FileNotFoundError):
                raise _ssh_not_found() from exc
            raise

    def check_master(self) -> bool:
        """Is a master connection running for this target (`ssh -O check`)?"""
        return self._control("check").returncode == 0

    def master_pid(self) -> int | None:
        """The pid of the running master, or None."""
        result = self._control("check")
        found = re.search(r"pid=(\d+)", result.stderr)
        return int(found.group(1)) if result.returncode == 0 and found else None

    def exit_master(self) -> bool:
        """Ask the master to exit (`ssh -O exit`); False when none was running."""
        return self._control("exit").returncode == 0

    def rsync_rsh(self) -> str:
        """The value of rsync's `-e`: this ssh with its options but no host, so rsync shares
        the master. Name the remote side `host:path`, without user@ (`-l` is in here)."""
        return shlex.join(self._options())


def _excerpt(script_lines: Sequence[str], limit: int = 10) -> str:
    more = [f"... ({len(script_lines) - limit} more lines)"] if len(script_lines) > limit else []
    return "\n".join(f"  {line}" for line in [*script_lines[:limit], *more])


def _ssh_not_found() -> QxubError:
    return QxubError("ssh: command not found", hint="install the OpenSSH client (openssh)")


# What ssh prints (exit 255) -> kind, what it means, what to do. First match wins: a changed key
# also prints "Host key verification failed"; a stale control socket prints "Connection refused".
_FAILURES: tuple[tuple[FailureKind, str, str, str], ...] = (
    (
        "changed_host_key",
        r"REMOTE HOST IDENTIFICATION HAS CHANGED|has changed and you have requested strict",
        "the host key of {name} has CHANGED since it was last accepted",
        "someone may be intercepting the connection. Ask the cluster's admins whether its host"
        " keys changed; only if they confirm, remove the old key with `{remove}` and connect"
        " once with `{plain}` to accept the new one",
    ),
    (
        "unknown_host_key",
        r"Host key verification failed|No \S+ host key is known",
        "the host key of {name} is not known yet (qxub never accepts one by itself)",
        "connect once with `{plain}`, compare the fingerprint it shows with the one your site"
        " publishes, answer yes, then try again",
    ),
    (
        "unresolved",
        r"Could not resolve hostname",
        "cannot resolve the host name {host!r}",
        "check the host in the remote's url (or your ssh config), and your network or VPN",
    ),
    (
        "auth",
        r"Permission denied \(.*|Too many authentication failures",
        "{name} refused the login: {said}",
        "qxub runs ssh with BatchMode=yes, so it cannot ask for a password or passphrase: load"
        " your key into your agent (`ssh-add`) or set IdentityFile in your ssh config, and"
        " check that `{plain} true` logs in without a prompt",
    ),
    (
        "unreachable",
        r"connect to host \S+ port \d+: .*|timed out during banner exchange"
        r"|Connection to \S+ port \d+ timed out",
        "cannot connect to {name}: {said}",
        "check the host and port, your network or VPN, and that the login node is up",
    ),
    (
        "config",
        r".*(Bad configuration option|Can't open user config file|Bad owner or perm|"
        r"bad configuration options).*",
        "ssh cannot use its configuration: {said}",
        "fix the ssh config file it names (the remote's `config:` is passed to ssh with -F)",
    ),
    (
        "closed",
        r".*(kex_exchange_identification|Connection closed by|Connection reset by|closed by"
        r" remote host|Broken pipe|client_loop:|mux_client|Timeout, server).*",
        "the connection to {name} was lost: {said}",
        "the network dropped or the server went away; check your network and try again",
    ),
)


def classify_ssh_failure(stderr: str, target: SshTarget) -> SshError | None:
    """Turn what ssh printed when it exited 255 into an error that says what to do, or None
    when it is not a failure this module knows."""
    for kind, pattern, message, hint in _FAILURES:
        found = re.search(pattern, stderr)
        if not found:
            continue
        # ssh names the exact known_hosts file and entry to remove; else the usual one.
        keygen = re.search(r'ssh-keygen -f "([^"]*)" -R "([^"]*)"', stderr)
        remove = ["ssh-keygen", "-R", target.known_hosts_name()]
        if keygen:
            remove = ["ssh-keygen", "-f", keygen.group(1), "-R", keygen.group(2)]
        values = {
            "name": target.display(),
            "host": target.host,
            "plain": shlex.join(target.plain_ssh()),
            "remove": shlex.join(remove),
            "said": re.sub(r"^(ssh: )?connect to host \S+ port \d+: |^ssh: ", "", found[0].strip()),
        }
        return SshError(message.format(**values), hint.format(**values), kind)
    return None
