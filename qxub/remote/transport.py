"""How qxub reaches a remote: the OpenSSH transport, or none at all for the built-in `local`."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence
from typing import Protocol

from qxub import proc
from qxub.errors import CommandFailed
from qxub.remote.config import Remote
from qxub.remote.ssh import OpenSshTransport, SshError, default_control_dir, remote_command


class Transport(Protocol):
    """Runs bash scripts given as lines (every user word already quoted) on a remote."""

    def run(
        self, script_lines: Sequence[str], *, timeout: float | None = None, check: bool = True
    ) -> proc.Result: ...

    def popen(
        self,
        script_lines: Sequence[str],
        *,
        tty: bool | None = None,
        own_process_group: bool = True,
    ) -> subprocess.Popen[bytes]: ...

    def connection_error(self, returncode: int, stderr: str) -> SshError | None: ...

    def command_argv(self, script_lines: Sequence[str], *, tty: bool = False) -> list[str]: ...


class LocalTransport:
    """The built-in `local` remote: the same scripts, run by bash on this machine."""

    def command_argv(self, script_lines: Sequence[str], *, tty: bool = False) -> list[str]:
        return ["bash", "--norc", "-c", "\n".join(script_lines) + "\n"]

    def run(
        self, script_lines: Sequence[str], *, timeout: float | None = None, check: bool = True
    ) -> proc.Result:
        result = proc.run(self.command_argv(script_lines), check=False, timeout=timeout)
        if check and result.returncode != 0:
            raise CommandFailed(proc.describe_failure(result))
        return result

    def popen(
        self,
        script_lines: Sequence[str],
        *,
        tty: bool | None = None,
        own_process_group: bool = True,
    ) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.command_argv(script_lines),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=own_process_group,
        )

    def connection_error(self, returncode: int, stderr: str) -> SshError | None:
        return None


def transport_for(remote: Remote) -> Transport:
    if remote.target is None:
        return LocalTransport()
    return OpenSshTransport(
        remote.target, control_dir=default_control_dir(), force_tty=remote.force_tty
    )


def display_command(transport: Transport, script_lines: Sequence[str]) -> str:
    """The exact local command line that runs the script, for `qxub remote explain`."""
    return shlex.join(transport.command_argv(script_lines))


__all__ = ["LocalTransport", "Transport", "display_command", "remote_command", "transport_for"]
