"""The OpenSSH transport: the only module that builds `ssh` command lines.

Every command shares one master connection per host (ControlMaster=auto, ControlPersist), so
only the first pays for the TCP and key exchange; rsync rides the same master via `rsync_rsh()`.
Anything this module does not set (aliases, ProxyJump, keys, agent, ciphers) comes from the
user's own ssh config, untouched.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import stat
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from qxub.errors import CommandFailed, QxubError
from qxub.remote import warm, warm_list
from qxub.remote.running import ScriptRunner
from qxub.remote.scripts import remote_command
from qxub.remote.target import LOST_HINT, Route, RsyncRoute, SshError, SshTarget

# typing, and proc with its subprocess, are imported where they are used: an `exec --remote`
# whose session was opened ahead at start-up needs neither (qxub.cli.exec_run).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from qxub import proc
    from qxub.remote.forwarding import PortSpec
    from qxub.remote.running import RemoteProcess
    from qxub.remote.sftp.files import SftpFiles
    from qxub.remote.target import FailureKind
    from qxub.spawn import Spawned

# A unix socket path must fit sun_path: 104 bytes on macOS (108 on Linux) with its NUL. ssh
# binds "<ControlPath>.<16 random chars>" before renaming it, and %C is 40 hex digits, so
# "<control dir>/" may take 104 - 1 - 40 - 17 - 1 = 45 bytes.
MAX_CONTROL_DIR_LEN = 45


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


class OpenSshTransport(ScriptRunner):
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
        remote_name: str | None = None,
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
        self.remote_name = remote_name  # for hints that name the remote

    def _options(self, *, batch: bool = True) -> list[str]:
        """ssh's options, without the host: shared by commands, `-O` requests and rsync."""
        options = {
            # Nothing may wait on a prompt that no one sees: fail instead (but `login`).
            "BatchMode": "yes" if batch else "no",
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

    def command_argv(
        self, script_lines: Sequence[str], *, tty: bool = False, stdin: bool = False
    ) -> list[str]:
        """The full argv that runs `script_lines` (already quoted by the caller) remotely.

        Without a tty (`-T -n`) stdout and stderr stay separate and stdin is unused (or, with
        `stdin`, sent on: `-T`); with one (`-tt`) the remote side merges them, so only
        interactive runs should ask for it.
        """
        mode = ["-tt"] if tty else ["-T"] if stdin else ["-T", "-n"]
        return [*self._options(), *mode, self.target.host, remote_command(script_lines)]

    def resolve_tty(self, wanted: bool | None) -> bool:
        """The remote's `force_tty` when set, else what the caller wanted (auto = no tty)."""
        return self.force_tty if self.force_tty is not None else bool(wanted)

    def display(self) -> str:
        return self.target.display()

    def describe(self, script_lines: Sequence[str]) -> str:
        """The exact local command line that runs the script, for `qxub remote explain`."""
        return shlex.join(self.command_argv(script_lines))

    def capture(
        self,
        script_lines: Sequence[str],
        timeout: float | None,
        ahead: float | None = None,
        sink: Callable[[bytes], None] | None = None,
    ) -> proc.Result:
        import subprocess

        from qxub import proc

        argv = self.command_argv(script_lines)
        result = warm_list.take(argv, timeout, sink)  # started at start-up, if this very one
        if result is None:
            try:
                result = proc.run(argv, check=False, timeout=timeout, die_with_parent=True)
            except CommandFailed as exc:
                if isinstance(exc.__cause__, subprocess.TimeoutExpired):
                    raise exc.__cause__ from None
                raise _ssh_not_found() from exc
        if ahead is not None and result.returncode == 0:
            warm_list.remember(argv, ahead, self._socket)
        return result

    def _socket(self) -> str | None:
        """The master connection's control socket, as ssh resolves it (`ssh -G`)."""
        return self.settings().get("controlpath")

    def popen(
        self,
        script_lines: Sequence[str],
        *,
        tty: bool | None = None,
        own_process_group: bool = True,
        stdin_fd: int | None = None,
    ) -> RemoteProcess:
        """Start a script with stdout and stderr as pipes, to stream them as they come; pass
        its end to `connection_error()`. With `own_process_group`, Ctrl-C at the terminal
        reaches qxub but not ssh, so qxub can cancel the job by id and keep reading. A tty
        needs the terminal: then ssh stays in the foreground group and reads stdin. Without
        one, `stdin_fd` (a pipe or file) is sent to the script's stdin, then its end."""
        use_tty = self.resolve_tty(tty)
        feed = stdin_fd is not None and not use_tty
        if not use_tty and stdin_fd is None and own_process_group:
            return self._waiting_session(script_lines)
        import subprocess

        from qxub import proc

        try:
            return proc.start(
                self.command_argv(script_lines, tty=use_tty, stdin=feed),
                stdin=None if use_tty else stdin_fd if feed else subprocess.DEVNULL,
                new_session=own_process_group and not use_tty,
                die_with_parent=True,
            )
        except FileNotFoundError as exc:
            raise _ssh_not_found() from exc

    def _waiting_session(self, script_lines: Sequence[str]) -> RemoteProcess:
        """A session whose bash reads the script on stdin: the one opened ahead at start-up
        when it runs this very command line (qxub.remote.warm), else a new one."""
        argv = [*self._options(), "-T", self.target.host, warm.WARM_COMMAND]
        taken = warm.take(argv, script_lines)
        process: proc.Process | Spawned
        if taken is None:
            import subprocess

            from qxub import proc

            try:
                process = proc.start(
                    argv, stdin=subprocess.PIPE, new_session=True, die_with_parent=True
                )
            except FileNotFoundError as exc:
                raise _ssh_not_found() from exc
            data = warm.script_input(script_lines)
        else:
            process, data = taken
        warm.remember(self.remote_name, argv, script_lines, self._socket)
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # ssh ended: its exit code says why
            process.stdin.write(data)
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        process.stdin = None  # as for a session without stdin: nothing more goes there
        return process

    def connection_error(self, returncode: int, stderr: str) -> SshError | None:
        """The SshError for a finished ssh, or None when ssh itself did not fail.

        A session whose master connection dies ends with 255 and says nothing, exactly like a
        script that exits 255; only then does this ask whether the master is still up."""
        if returncode != 255:
            return None
        error = classify_ssh_failure(stderr, self.target, self.remote_name)
        if error is None and not self.check_master():
            said = stderr.strip().splitlines()[-1:] or ["ssh said nothing"]
            error = SshError(
                f"the connection to {self.target.display()} was lost ({said[0]})",
                hint=LOST_HINT,
                kind="closed",
            )
        return error

    def _control(self, request: str) -> proc.Result:
        from qxub import proc

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

    def login(self) -> None:
        """Open the master connection on this terminal: ssh may ask for a password, a
        passphrase or a one-time code. The master then serves every command for
        ControlPersist."""
        import subprocess

        from qxub import proc

        if self.check_master():
            return
        argv = [*self._options(batch=False), self.target.host, "true"]
        try:
            process = proc.start(argv, stdin=None, stdout=None, stderr=subprocess.PIPE)
        except FileNotFoundError as exc:
            raise _ssh_not_found() from exc
        _, err = process.communicate()
        said = err.decode(errors="replace") if isinstance(err, bytes) else str(err or "")
        if process.returncode != 0 or not self.check_master():
            error = classify_ssh_failure(said, self.target)
            if error is not None:
                raise error
            raise QxubError(
                f"could not log in to {self.target.display()}: "
                + (said.strip().splitlines() or ["ssh said nothing"])[-1],
                hint=f"try `{shlex.join(self.target.plain_ssh())}` to see why",
            )

    def rsync_rsh(self) -> str:
        """The value of rsync's `-e`: this ssh with its options but no host, so rsync shares
        the master. Name the remote side `host:path`, without user@ (`-l` is in here)."""
        return shlex.join(self._options())

    def rsync_route(self) -> RsyncRoute:
        """rsync rides this transport's master connection."""
        return RsyncRoute(prefix=f"{self.target.host}:", rsh=self.rsync_rsh())

    def settings(self) -> dict[str, str]:
        """What ssh will really use for the target (`ssh -G`): host name, port, user, proxies."""
        from qxub import proc

        argv = [*self._options(), "-G", self.target.host]
        result = proc.run(argv, check=False, timeout=10)
        settings: dict[str, str] = {}
        for line in result.stdout.splitlines():
            key, _, value = line.partition(" ")
            settings.setdefault(key.lower(), value)
        return settings

    def route(self) -> Route:
        settings = self.settings()
        proxy = settings.get("proxyjump") or settings.get("proxycommand")
        host = settings.get("hostname", self.target.host)
        return Route(host, int(settings.get("port", "22")), proxy if proxy != "none" else None)

    def sftp_files(self, target: SshTarget) -> SftpFiles:
        """SFTP through `ssh -s host sftp` on the master connection to `target` (this one's,
        or a master of its own for a data mover)."""
        from qxub.remote.sftp.files import command_files  # paramiko's SFTP: only when used

        via = self if target == self.target else self.to(target)
        base = via.base_argv()
        return command_files(
            [*base[:-1], "-T", "-s", base[-1], "sftp"], target.display(), via.connection_error
        )

    def terminal(self, script_lines: Sequence[str]) -> int:
        """`ssh -tt` through the master: ssh sets this terminal raw, passes keys (Ctrl-C
        included) and window size changes on, and exits with the script's code."""
        from qxub.terminal import run_attached

        argv = self.command_argv(script_lines, tty=True)
        try:
            code = run_attached(argv)
        except FileNotFoundError as exc:
            raise _ssh_not_found() from exc
        error = self.connection_error(code, "")
        if error is not None:
            raise error
        return code

    def forward(self, spec: PortSpec, node: str) -> OpenSshForward:
        """`ssh -O forward -L 127.0.0.1:LOCAL:NODE:PORT`: the master listens here."""
        from qxub.remote.forwarding import check_free

        check_free(spec.local)
        if not self.check_master():
            self.run(["true"], timeout=self.connect_timeout + 20)  # start the master
        forward = OpenSshForward(self, f"127.0.0.1:{spec.local}:{node}:{spec.port}")
        result = forward.request("forward")
        if result.returncode != 0:
            said = result.stderr.strip() or "ssh said nothing"
            raise SshError(
                f"cannot forward localhost:{spec.local} to {node}:{spec.port}: {said}",
                "the ssh master refused the forward; check AllowTcpForwarding on the server",
                "config",
            )
        return forward

    def to(self, target: SshTarget) -> OpenSshTransport:
        """The same kind of transport to another host (a data mover)."""
        return OpenSshTransport(target, control_dir=self.control_dir, persist=self.persist)


class OpenSshForward:
    """A -L forward held by the master; `close` cancels it (`ssh -O cancel`)."""

    def __init__(self, transport: OpenSshTransport, spec: str) -> None:
        self.transport = transport
        self.spec = spec

    def request(self, what: str) -> proc.Result:
        from qxub import proc

        argv = [*self.transport._options(), "-O", what, "-L", self.spec, self.transport.target.host]
        return proc.run(argv, check=False, timeout=self.transport.connect_timeout + 5)

    def close(self) -> None:
        with contextlib.suppress(QxubError):
            self.request("cancel")


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
        LOST_HINT,
    ),
)


_LOGIN_HINT = (
    "qxub runs ssh with BatchMode=yes, so it cannot ask for a password or code itself: log in"
    " once on this terminal with `{login}` (ssh asks what it needs; later commands reuse that"
    " connection), or load your key into your agent (`ssh-add`)"
)


def classify_ssh_failure(
    stderr: str, target: SshTarget, remote_name: str | None = None
) -> SshError | None:
    """Turn what ssh printed when it exited 255 into an error that says what to do, or None
    when it is not a failure this module knows. On a terminal, a refused login suggests
    `qxub remote login NAME`, which lets ssh prompt."""
    for kind, pattern, message, hint in _FAILURES:
        if kind == "auth" and remote_name and sys.stdin.isatty() and sys.stderr.isatty():
            hint = _LOGIN_HINT
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
            "login": shlex.join(["qxub", "remote", "login", remote_name or target.host]),
            "remove": shlex.join(remove),
            "said": re.sub(r"^(ssh: )?connect to host \S+ port \d+: |^ssh: ", "", found[0].strip()),
        }
        return SshError(message.format(**values), hint.format(**values), kind)
    return None
