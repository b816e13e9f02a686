"""What every transport shares to run a script: the shape of a started remote script, and the
one `run()` flow (capture, then turn a timeout, a broken connection or a failed script into a
message that says where and what)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from qxub.errors import CommandFailed
from qxub.remote.scripts import port_probe_script
from qxub.remote.target import SshError, excerpt

# typing and subprocess cost an `exec --remote` some 15 ms of its start (qxub.cli.exec_run),
# and are needed here only to check types, or once a script timed out.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    from qxub import proc
else:
    Protocol = object


class Pipe(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class RemoteProcess(Protocol):
    """A started remote script: a `proc.Process` of ssh or bash, or the same shape over a
    paramiko channel."""

    @property
    def stdout(self) -> Pipe | None: ...

    @property
    def stderr(self) -> Pipe | None: ...

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def wait_interruptibly(self) -> int:
        """Wait for the end in a way Ctrl-C can interrupt."""
        ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


class ScriptRunner(ABC):
    """The shared `run()`: a transport says how to capture a script's output, where it runs
    (for messages) and whether a finished session means a broken connection."""

    @abstractmethod
    def display(self) -> str:
        """Where scripts run, for messages."""

    @abstractmethod
    def capture(
        self,
        script_lines: Sequence[str],
        timeout: float | None,
        ahead: float | None = None,
        sink: Callable[[bytes], None] | None = None,
    ) -> proc.Result:
        """Run the script to its end; raise subprocess.TimeoutExpired after `timeout`.
        `ahead` and `sink`: as for Transport.run."""

    @abstractmethod
    def connection_error(self, returncode: int, stderr: str) -> SshError | None:
        """The SshError when a session ended because the connection failed, else None."""

    def run(
        self,
        script_lines: Sequence[str],
        *,
        timeout: float | None = None,
        check: bool = True,
        ahead: float | None = None,
        sink: Callable[[bytes], None] | None = None,
    ) -> proc.Result:
        """Run a script and capture its output (`sink`: see Transport.run). Connection
        failures raise SshError even without `check`; with `check`, a non-zero exit of the
        script raises CommandFailed. On timeout the local side is stopped; what already
        started remotely runs on."""
        import subprocess

        try:
            result = self.capture(script_lines, timeout, ahead, sink)
        except subprocess.TimeoutExpired:
            raise CommandFailed(
                f"remote command on {self.display()} did not finish within "
                f"{timeout or 0:g}s:\n{excerpt(script_lines)}",
                hint="the cluster may be overloaded or the network slow; try again",
            ) from None
        error = self.connection_error(result.returncode, result.stderr)
        if error is not None:
            raise error
        if check and result.returncode != 0:
            said = "\n".join(result.stderr.rstrip().splitlines()[-10:]) or "(no output)"
            raise CommandFailed(
                f"remote command on {self.display()} failed with exit code "
                f"{result.returncode}:\n{excerpt(script_lines)}\nIt said:\n{said}"
            )
        return result

    def reachable(self, node: str, port: int) -> bool:
        """Does NODE:PORT accept a connection from where scripts run (bash's /dev/tcp)?"""
        try:
            return self.run(port_probe_script(node, port), timeout=30, check=False).returncode == 0
        except CommandFailed:
            return False
