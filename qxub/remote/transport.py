"""How qxub reaches a remote: the OpenSSH transport, the paramiko one where there is no `ssh`
client, or none at all for the built-in `local`."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Protocol

from qxub import proc
from qxub.errors import CommandFailed
from qxub.remote.config import Remote
from qxub.remote.ssh import OpenSshTransport, SshError, default_control_dir, remote_command


class Pipe(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class RemoteProcess(Protocol):
    """A started remote script: a `subprocess.Popen[bytes]` of ssh or bash, or the same shape
    over a paramiko channel."""

    @property
    def stdout(self) -> Pipe | None: ...

    @property
    def stderr(self) -> Pipe | None: ...

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


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
    ) -> RemoteProcess: ...

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


def transport_kind(remote: Remote) -> tuple[str, str]:
    """("local" | "openssh" | "paramiko", why) for `remote`."""
    if remote.target is None:
        return "local", "the built-in remote runs on this machine"
    if remote.transport is not None:
        return remote.transport, "set by transport: in the config"
    ssh = shutil.which("ssh")
    if ssh:
        return "openssh", f"auto: ssh found at {ssh}"
    return "paramiko", "auto: no ssh client on PATH"


_NOTIFIED: set[str] = set()


def _notice(message: str) -> None:
    print(f"qxub: {message}", file=sys.stderr, flush=True)


def transport_for(remote: Remote, *, notice: Callable[[str], None] = _notice) -> Transport:
    if remote.target is None:
        return LocalTransport()
    kind, _ = transport_kind(remote)
    if kind == "paramiko":
        if remote.transport is None and remote.name not in _NOTIFIED:
            _NOTIFIED.add(remote.name)
            notice(
                f"no ssh client on PATH: reaching {remote.name} with paramiko "
                "(set `transport: paramiko` for it to silence this)"
            )
        from qxub.remote.paramiko_transport import ParamikoTransport

        return ParamikoTransport(remote.target, force_tty=remote.force_tty)
    return OpenSshTransport(
        remote.target, control_dir=default_control_dir(), force_tty=remote.force_tty
    )


def display_command(transport: Transport, script_lines: Sequence[str]) -> str:
    """The exact local command line that runs the script, for `qxub remote explain`."""
    if not isinstance(transport, (OpenSshTransport, LocalTransport)):
        from qxub.remote.paramiko_transport import ParamikoTransport, describe

        assert isinstance(transport, ParamikoTransport)
        return describe(transport, script_lines)
    return shlex.join(transport.command_argv(script_lines))


__all__ = [
    "LocalTransport",
    "RemoteProcess",
    "Transport",
    "display_command",
    "remote_command",
    "transport_for",
    "transport_kind",
]
