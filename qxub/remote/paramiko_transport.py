"""The paramiko transport: the same remote scripts as the OpenSSH transport, through one
in-process SSH connection per target (push, job and pull of a run share it). For machines
without an OpenSSH client; paramiko is imported only when a connection is made."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Sequence

from qxub import proc
from qxub.errors import CommandFailed
from qxub.remote.channel_process import ChannelProcess
from qxub.remote.paramiko_connect import (
    Connection,
    HostSettings,
    cached,
    connection,
    import_paramiko,
    resolve,
)
from qxub.remote.ssh import SshError, SshTarget, _excerpt, remote_command

LOST_HINT = "the network dropped or the server went away; check your network and try again"


class ParamikoTransport:
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
    ) -> ChannelProcess:
        """Start a script with stdout and stderr as pipes (no local process: Ctrl-C reaches
        qxub only, whatever `own_process_group`). A tty gives the remote command a terminal,
        which merges its stderr into stdout; keystrokes are not forwarded."""
        paramiko = import_paramiko()
        command = remote_command(script_lines)
        conn = self.connection()
        try:
            channel = conn.transport.open_session(timeout=conn.settings.connect_timeout)
            if self.resolve_tty(tty):
                size = shutil.get_terminal_size()
                term = os.environ.get("TERM", "xterm")
                channel.get_pty(term=term, width=size.columns, height=size.lines)
            channel.exec_command(command)
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

    def _ended_without_status(self) -> None:
        self._no_status = True

    def run(
        self, script_lines: Sequence[str], *, timeout: float | None = None, check: bool = True
    ) -> proc.Result:
        """Run a script and capture its output; connection failures raise SshError, and with
        `check` a non-zero exit raises CommandFailed, as with the OpenSSH transport."""
        process = self.popen(script_lines)
        try:
            out, err = process.communicate(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise CommandFailed(
                f"remote command on {self.target.display()} did not finish within "
                f"{timeout:g}s:\n{_excerpt(script_lines)}",
                hint="the cluster may be overloaded or the network slow; try again",
            ) from None
        returncode = process.wait()
        stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
        error = self.connection_error(returncode, stderr)
        if error is not None:
            raise error
        if check and returncode != 0:
            said = "\n".join(stderr.rstrip().splitlines()[-10:]) or "(no output)"
            raise CommandFailed(
                f"remote command on {self.target.display()} failed with exit code "
                f"{returncode}:\n{_excerpt(script_lines)}\nIt said:\n{said}"
            )
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


def describe(transport: ParamikoTransport, script_lines: Sequence[str]) -> str:
    """How `qxub remote explain` shows a paramiko run."""
    return (
        f"none: qxub connects with paramiko to {transport.target.display()} and runs "
        f"{remote_command(script_lines)}"
    )
