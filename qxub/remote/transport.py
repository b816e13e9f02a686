"""What a transport is: the one interface the rest of qxub uses to reach a remote, whichever
carries it (`openssh.OpenSshTransport`, `paramiko.transport.ParamikoTransport`, or
`local.LocalTransport` for the built-in `local`). Callers ask a transport for what it can do
(its capabilities) instead of asking which class it is; a new capability (a forwarded port, a
terminal session) is one more method here, implemented by each transport."""

from __future__ import annotations

from collections.abc import Callable, Sequence

TYPE_CHECKING = False  # as typing's, without importing typing (nor proc's subprocess)
if TYPE_CHECKING:
    from typing import Protocol

    from qxub import proc
    from qxub.remote.forwarding import PortSpec, Tunnel
    from qxub.remote.running import RemoteProcess
    from qxub.remote.sftp.files import SftpFiles
    from qxub.remote.target import Route, RsyncRoute, SshError, SshTarget
else:
    Protocol = object


class Transport(Protocol):
    """Runs bash scripts given as lines (every user word already quoted) on a remote."""

    def display(self) -> str:
        """Where scripts run, for messages."""
        ...

    def describe(self, script_lines: Sequence[str]) -> str:
        """How the script is run, for `qxub remote explain` (the exact local command line)."""
        ...

    def run(
        self,
        script_lines: Sequence[str],
        *,
        timeout: float | None = None,
        check: bool = True,
        ahead: float | None = None,
        sink: Callable[[bytes], None] | None = None,
    ) -> proc.Result:
        """Run a script to its end, its output captured. `sink`, where the transport reads
        stdout as it arrives (OpenSSH's listing started at start-up), is given each piece
        then; elsewhere it is not called, and the caller has the output when the run ends.
        `ahead`: the script only reads,
        and the next run of the same `qxub remote push` or `pull` words from this folder may
        start it at start-up (a push with --full, or from this Unix time on): OpenSSH keeps
        its command line for that
        (qxub.remote.warm_list), and takes it from there when so started; a transport with
        no session to start (paramiko's one connection, this machine) runs it now."""
        ...

    def popen(
        self,
        script_lines: Sequence[str],
        *,
        tty: bool | None = None,
        own_process_group: bool = True,
        stdin_fd: int | None = None,
    ) -> RemoteProcess:
        """Start a script, its stdout and stderr as pipes; its stdin gets everything from
        `stdin_fd` and then its end (none at all without it, nor with a terminal)."""
        ...

    def connection_error(self, returncode: int, stderr: str) -> SshError | None: ...

    def route(self) -> Route | None:
        """Where it connects (from the ssh config); None when nothing goes over a network."""
        ...

    def rsync_route(self) -> RsyncRoute | None:
        """How rsync rides this transport; None when it cannot (rsync then needs an OpenSSH
        connection of its own)."""
        ...

    def sftp_files(self, target: SshTarget) -> SftpFiles:
        """An SFTP session to `target` over this transport's kind of connection."""
        ...

    def terminal(self, script_lines: Sequence[str]) -> int:
        """Run a script on a terminal there, attached to this one (keys, output, window
        size); its exit code. Ctrl-C goes to the script's foreground program."""
        ...

    def forward(self, spec: PortSpec, node: str) -> Tunnel:
        """localhost:LOCAL here reaches NODE:PORT as seen from there, until closed."""
        ...

    def reachable(self, node: str, port: int) -> bool:
        """Does NODE:PORT accept connections from there?"""
        ...
