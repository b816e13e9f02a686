"""The built-in `local` remote: the same scripts, run by bash on this machine."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from qxub import proc
from qxub.errors import CommandFailed, QxubError
from qxub.remote.running import ScriptRunner
from qxub.remote.target import RsyncRoute, SshError, SshTarget

if TYPE_CHECKING:
    from qxub.remote.forwarding import PortSpec, Tunnel
    from qxub.remote.sftp.files import SftpFiles


class LocalTransport(ScriptRunner):
    """bash on this machine: no connection, so no route and nothing that can break."""

    def command_argv(self, script_lines: Sequence[str], *, tty: bool = False) -> list[str]:
        return ["bash", "--norc", "-c", "\n".join(script_lines) + "\n"]

    def display(self) -> str:
        return "this machine"

    def describe(self, script_lines: Sequence[str]) -> str:
        return shlex.join(self.command_argv(script_lines))

    def capture(
        self,
        script_lines: Sequence[str],
        timeout: float | None,
        ahead: float | None = None,
        sink: Callable[[bytes], None] | None = None,
    ) -> proc.Result:
        try:
            return proc.run(self.command_argv(script_lines), check=False, timeout=timeout)
        except CommandFailed as exc:
            if isinstance(exc.__cause__, subprocess.TimeoutExpired):
                raise exc.__cause__ from None
            raise

    def popen(
        self,
        script_lines: Sequence[str],
        *,
        tty: bool | None = None,
        own_process_group: bool = True,
        stdin_fd: int | None = None,
    ) -> proc.Process:
        return proc.start(
            self.command_argv(script_lines),
            stdin=subprocess.DEVNULL if stdin_fd is None else stdin_fd,
            new_session=own_process_group,
        )

    def connection_error(self, returncode: int, stderr: str) -> SshError | None:
        return None

    def route(self) -> None:
        return None

    def rsync_route(self) -> RsyncRoute:
        """rsync copies between two folders of this machine."""
        return RsyncRoute()

    def sftp_files(self, target: SshTarget) -> SftpFiles:
        raise QxubError(
            "the built-in local remote copies with rsync on this machine, not over SFTP",
            hint="remove sync_engine: sftp from the local remote's settings",
        )

    def terminal(self, script_lines: Sequence[str]) -> int:
        """The script on this very terminal."""
        from qxub.terminal import run_attached

        return run_attached(self.command_argv(script_lines))

    def forward(self, spec: PortSpec, node: str) -> Tunnel:
        """A relay in this process: localhost:LOCAL to NODE:PORT."""
        from qxub.remote.forwarding import Relay, tcp_connect

        return Relay(spec.local, lambda: tcp_connect(node, spec.port))
