"""Run a qxub command on a remote and stream it: output live, events stripped, job's exit code.

The remote qxub reports `hello`, `submitted` and `finished` events (qxub.protocol). With them
Ctrl-C cancels the remote job by id, and a dropped connection says how to reattach.
"""

from __future__ import annotations

import contextlib
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from qxub import __version__, protocol
from qxub.errors import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, QxubError
from qxub.pipes import silence_stdout
from qxub.remote.config import Remote
from qxub.remote.running import Pipe, RemoteProcess
from qxub.remote.scripts import EXIT_NO_DIR, EXIT_NO_QXUB, qxub_script
from qxub.remote.transport import Transport
from qxub.streams import Streams, reader_gone

EXIT_CONNECTION_LOST = 75  # EX_TEMPFAIL: the job goes on; try again (qxub wait --remote)
CANCEL_TIMEOUT = 60.0


@dataclass
class _Events:
    hello: list[str] | None = None
    job_id: str | None = None
    scheduler: str | None = None
    finished: int | None = None
    held: bytearray = field(default_factory=bytearray)  # stderr before the remote qxub spoke
    tail: bytearray = field(default_factory=bytearray)  # the last of stderr, for ssh errors
    submitted: threading.Event = field(default_factory=threading.Event)


class RemoteRun:
    """One streamed remote qxub command."""

    def __init__(
        self,
        remote: Remote,
        transport: Transport,
        script: Sequence[str],
        streams: Streams,
        *,
        tty: bool | None = None,
        stdin_fd: int | None = None,
    ) -> None:
        self.remote = remote
        self.stdin_fd = stdin_fd  # sent to the remote qxub, which stages it for the job
        self.reader_gone = False  # the reader of our output went away (`| head`)
        self._process_stop: Callable[[], None] = lambda: None
        self.transport = transport
        self.script = list(script)
        self.streams = streams
        self.tty = tty
        self.events = _Events()
        self.lock = threading.Lock()

    # --- events -------------------------------------------------------------------------------
    def _on_event(self, words: list[str]) -> None:
        if not words:
            return
        kind, args = words[0], words[1:]
        if kind == "hello":
            self.events.hello = args
            with self.lock:
                if self.events.held:
                    self.streams.err.write(bytes(self.events.held))
                    self.streams.err.flush()
                    self.events.held.clear()
        elif kind == "submitted" and args:
            self.events.job_id = args[0]
            self.events.scheduler = args[1] if len(args) > 1 else None
            self.events.submitted.set()
        elif kind == "finished" and args:
            with contextlib.suppress(ValueError):
                self.events.finished = int(args[0])

    def _stderr_sink(self, data: bytes) -> None:
        with self.lock:
            self.events.tail = (self.events.tail + data)[-4096:]
            if self.events.hello is None:
                self.events.held += data
                return
            self._write(self.streams.err, data)

    def _stdout_sink(self, data: bytes) -> None:
        self._write(self.streams.out, data)

    def _write(self, stream: BinaryIO, data: bytes) -> None:
        if self.reader_gone:
            return
        try:
            stream.write(data)
            stream.flush()
        except BrokenPipeError:
            # Stop following (the job goes on); run() says so and exits 141.
            self.reader_gone = True
            silence_stdout()
            self._process_stop()

    # --- running ------------------------------------------------------------------------------
    def run(self) -> int:
        process = self.transport.popen(self.script, tty=self.tty, stdin_fd=self.stdin_fd)
        self._process_stop = process.terminate
        # Both streams are filtered: with a tty the remote merges stderr into stdout.
        readers = [
            _reader(process.stdout, protocol.EventFilter(self._stdout_sink, self._on_event)),
            _reader(process.stderr, protocol.EventFilter(self._stderr_sink, self._on_event)),
        ]
        try:
            returncode = process.wait_interruptibly()
        except KeyboardInterrupt:
            return self._interrupted(process, readers)
        for reader in readers:
            reader.join()
        return self._outcome(returncode)

    def _outcome(self, returncode: int) -> int:
        events = self.events
        if self.reader_gone and events.job_id is not None:
            if events.finished is not None:
                return EXIT_BROKEN_PIPE
            return reader_gone(events.job_id, self.remote.name)
        if events.finished is not None:
            return events.finished
        tail = bytes(events.tail).decode(errors="replace")
        ssh_error = self.transport.connection_error(returncode, tail)
        if events.hello is None:
            if ssh_error is not None:
                raise ssh_error
            if returncode != EXIT_NO_QXUB:
                self._show_held()  # the remote shell's own words: why it stopped
            raise self._no_hello(returncode)
        self._check_protocol(events.hello)
        if events.job_id is not None and (ssh_error is not None or returncode < 0):
            self.streams.status(
                f"lost the connection to {self.remote.name}; job {events.job_id} goes on there"
            )
            self.streams.status(
                f"reattach with: qxub wait --remote {self.remote.name} {events.job_id}"
            )
            return EXIT_CONNECTION_LOST
        if ssh_error is not None:
            raise ssh_error
        return returncode

    def _interrupted(self, process: RemoteProcess, readers: list[threading.Thread]) -> int:
        events = self.events
        try:
            if events.job_id is None and process.poll() is None:
                self.streams.status(
                    "interrupted; waiting for the job id to cancel it (Ctrl-C again to leave)"
                )
                deadline = time.monotonic() + 15
                while (
                    events.job_id is None and process.poll() is None and time.monotonic() < deadline
                ):
                    events.submitted.wait(0.1)
            if events.job_id is not None:
                self._cancel(events.job_id)
            elif process.poll() is None:
                check = f"qxub status --remote {self.remote.name}"
                self.streams.status(f"the job may have been submitted; check with: {check}")
        except KeyboardInterrupt:
            self.streams.status(
                f"left at once; check with: qxub status --remote {self.remote.name}"
            )
        finally:
            _stop(process)
            for reader in readers:
                reader.join(timeout=2)
        return EXIT_INTERRUPTED

    def _cancel(self, job_id: str) -> None:
        self.streams.status(f"cancelling job {job_id} on {self.remote.name}")
        script = qxub_script(self.remote, ["cancel", job_id])
        try:
            result = self.transport.run(script, timeout=CANCEL_TIMEOUT, check=False)
        except QxubError as exc:
            self.streams.status(f"could not cancel job {job_id}: {exc}")
            self.streams.status(f"cancel it with: qxub cancel --remote {self.remote.name} {job_id}")
            return
        said = _strip_events(result.stderr)
        if result.returncode != 0:
            self.streams.status(f"could not cancel job {job_id}: {said.strip()}")
            self.streams.status(f"cancel it with: qxub cancel --remote {self.remote.name} {job_id}")

    def _show_held(self) -> None:
        if self.events.held:
            self.streams.err.write(bytes(self.events.held))
            self.streams.err.flush()

    def _no_hello(self, returncode: int) -> QxubError:
        name = self.remote.name
        if returncode == EXIT_NO_QXUB:
            return RemoteQxubMissing(
                f"qxub is not installed on {name} (or not on the PATH of non-interactive shells)",
                hint=f"install it there: qxub remote install {shlex.quote(name)} (or set"
                f" auto_install: true, conda_env or qxub_command for {name});"
                f" `qxub remote test {shlex.quote(name)}` checks",
            )
        if returncode == EXIT_NO_DIR:
            return QxubError(
                f"cannot create or enter the working directory on {name}",
                hint=f"check working_dir of {name}; `qxub remote test {name}` checks it",
            )
        return QxubError(
            f"the qxub on {name} ended (exit {returncode}) without speaking qxub's remote protocol",
            hint=f"it may be older than this qxub ({__version__}): install the same version there"
            f" with qxub remote install {shlex.quote(name)}",
        )

    def _check_protocol(self, hello: list[str]) -> None:
        version = hello[0] if hello else "?"
        theirs = hello[1] if len(hello) > 1 else "?"
        if theirs != str(protocol.PROTOCOL) or version != __version__:
            raise RemoteVersionError(self.remote.name, version, theirs)


class RemoteVersionError(QxubError):
    """The remote qxub is another version: it stopped before doing anything."""

    def __init__(self, name: str, version: str, protocol_there: str) -> None:
        super().__init__(
            f"the qxub on {name} is version {version} (remote protocol {protocol_there}); this"
            f" qxub is {__version__} (protocol {protocol.PROTOCOL}); nothing was submitted",
            hint=f"install qxub {__version__} there: qxub remote install {shlex.quote(name)}"
            f" (or set auto_install: true for {name})",
        )


class RemoteQxubMissing(QxubError):
    """No qxub on the remote: the script stopped before doing anything."""


def _reader(pipe: Pipe | None, filt: protocol.EventFilter) -> threading.Thread:
    assert pipe is not None

    def pump() -> None:
        read = getattr(pipe, "read1", pipe.read)
        while True:
            try:
                data = read(65536)
            except (OSError, ValueError):
                break
            if not data:
                break
            filt.feed(data)
        filt.close()

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def _stop(process: RemoteProcess) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _strip_events(text: str) -> str:
    marker = protocol.MARKER.decode()
    return "\n".join(line for line in text.splitlines() if not line.startswith(marker))
