"""The paramiko transport: the same remote scripts as the OpenSSH transport, through one
in-process SSH connection per target (push, job and pull of a run share it). For machines
without an OpenSSH client; paramiko is imported only when a connection is made."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from qxub import proc
from qxub.remote.paramiko import import_paramiko
from qxub.remote.paramiko.channel_process import ChannelProcess, send_stdin
from qxub.remote.paramiko.connect import Connection, cached, connection
from qxub.remote.paramiko.ssh_config import HostSettings, resolve
from qxub.remote.running import ScriptRunner
from qxub.remote.scripts import remote_command
from qxub.remote.target import LOST_HINT, Route, RsyncRoute, SshError, SshTarget

if TYPE_CHECKING:
    from qxub.remote.forwarding import PortSpec, Relay
    from qxub.remote.sftp.files import SftpFiles


class ParamikoTransport(ScriptRunner):
    """Run remote bash scripts over paramiko, sharing one connection per target."""

    def __init__(self, target: SshTarget, *, force_tty: bool | None = None) -> None:
        self.target = target
        self.force_tty = force_tty
        self._no_status = False  # the last session ended without an exit status

    def settings(self) -> HostSettings:
        """What the ssh config says for the target (host name, port, user, proxies)."""
        return resolve(self.target)

    def connection(self) -> Connection:
        return connection(self.target)

    def display(self) -> str:
        return self.target.display()

    def describe(self, script_lines: Sequence[str]) -> str:
        """How `qxub remote explain` shows a paramiko run: no local command runs."""
        return (
            f"none: qxub connects with paramiko to {self.target.display()} and runs "
            f"{remote_command(script_lines)}"
        )

    def route(self) -> Route:
        found = self.settings()
        return Route(found.hostname, found.port, found.proxy_jump or found.proxy_command)

    def rsync_route(self) -> RsyncRoute | None:
        """None: rsync cannot ride a paramiko connection; it needs an `ssh` of its own."""
        return None

    def sftp_files(self, target: SshTarget) -> SftpFiles:
        """SFTP on a channel of the paramiko connection to `target`."""
        from qxub.remote.sftp.files import paramiko_files

        return paramiko_files(target)

    def command_argv(self, script_lines: Sequence[str], *, tty: bool = False) -> list[str]:
        """No local command runs: these words say where the exec request goes and what it
        runs there, for `qxub remote explain`."""
        return ["paramiko", self.target.display(), remote_command(script_lines)]

    def resolve_tty(self, wanted: bool | None) -> bool:
        return self.force_tty if self.force_tty is not None else bool(wanted)

    def popen(
        self,
        script_lines: Sequence[str],
        *,
        tty: bool | None = None,
        own_process_group: bool = True,
        stdin_fd: int | None = None,
    ) -> ChannelProcess:
        """Start a script with stdout and stderr as pipes (no local process: Ctrl-C reaches
        qxub only, whatever `own_process_group`). A tty gives the remote command a terminal,
        which merges its stderr into stdout; keystrokes are not forwarded. Without one, the
        script's stdin gets what `stdin_fd` holds, then its end (at once without it, as
        `ssh -n` gives)."""
        paramiko = import_paramiko()
        command = remote_command(script_lines)
        conn = self.connection()
        try:
            channel = conn.transport.open_session(timeout=conn.settings.connect_timeout)
            use_tty = self.resolve_tty(tty)
            if use_tty:
                size = shutil.get_terminal_size()
                term = os.environ.get("TERM", "xterm")
                channel.get_pty(term=term, width=size.columns, height=size.lines)
            channel.exec_command(command)
            if not use_tty:
                send_stdin(channel, stdin_fd)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise SshError(
                f"the connection to {self.target.display()} was lost ({exc or 'closed'})",
                LOST_HINT,
                "closed",
            ) from None
        self._no_status = False
        return ChannelProcess(
            channel, self.command_argv(script_lines), on_no_status=self._ended_without_status
        )

    def terminal(self, script_lines: Sequence[str]) -> int:
        """A session with a pty of this terminal's size, bridged to this terminal."""
        from qxub.remote.paramiko.terminal import run_on_channel

        paramiko = import_paramiko()
        conn = self.connection()
        try:
            channel = conn.transport.open_session(timeout=conn.settings.connect_timeout)
            code = run_on_channel(channel, remote_command(script_lines))
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise SshError(
                f"the connection to {self.target.display()} was lost ({exc or 'closed'})",
                LOST_HINT,
                "closed",
            ) from None
        if code == 255 and not conn.alive():
            raise SshError(
                f"the connection to {self.target.display()} was lost", LOST_HINT, "closed"
            )
        return code

    def forward(self, spec: PortSpec, node: str) -> Relay:
        """A listener here; each connection opens a direct-tcpip channel to NODE:PORT."""
        from qxub.remote.forwarding import Relay

        self.connection()  # connect now: a refusal shows before the job is awaited

        def open_channel() -> Any:
            # The connection of the moment: a reconnection carries the forward on.
            return self.connection().transport.open_channel(
                "direct-tcpip", (node, spec.port), ("127.0.0.1", spec.local), timeout=10
            )

        return Relay(spec.local, open_channel)

    def _ended_without_status(self) -> None:
        self._no_status = True

    def capture(
        self,
        script_lines: Sequence[str],
        timeout: float | None,
        ahead: float | None = None,
        sink: Callable[[bytes], None] | None = None,
    ) -> proc.Result:
        process = self.popen(script_lines)
        try:
            out, err = process.communicate(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        returncode = process.wait()
        stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
        return proc.Result(tuple(process.args), returncode, stdout, stderr)

    def connection_error(self, returncode: int, stderr: str) -> SshError | None:
        """SshError when the last session ended because the connection broke, else None (an
        exit code of 255 with the connection up is the script's own, or a signal's)."""
        if returncode != 255 or not self._no_status:
            return None
        conn = cached(self.target)
        deadline = time.monotonic() + 1.0
        # The session closes a moment before paramiko marks the connection dead.
        while conn is not None and conn.alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if conn is not None and conn.alive():
            return None
        reason = conn.lost_reason if conn is not None and conn.lost_reason else "closed"
        return SshError(
            f"the connection to {self.target.display()} was lost ({reason})", LOST_HINT, "closed"
        )
