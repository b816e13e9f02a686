"""Follow a remote qxub command to the job's end: output live, the job's own exit code.

The first session runs the command (exec, wait); its follower streams for one segment at most.
A session that ends with `continue-at` is followed at once by another (`qxub wait
--from-offset`, through the same connection); a session that ends without `finished` or
`continue-at` once the job is known (follower killed on the login node, ssh or sshd gone) is a
lost follow: re-attached by itself with backoff for the remote's `follow_retry`, then exit 75
with the command that continues. Output is counted in output-log bytes, so nothing is shown
twice or lost across sessions.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Sequence

from qxub import __version__, protocol
from qxub.errors import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, QxubError
from qxub.job.resources import format_duration
from qxub.record import record
from qxub.remote.config import Remote
from qxub.remote.handover import EXIT_NO_DIR
from qxub.remote.scripts import (
    EXIT_NO_QXUB,
    EXIT_NO_SNAPSHOT,
    follow_script,
    plain_qxub_script,
)
from qxub.remote.session import Session
from qxub.remote.shown import save_shown
from qxub.remote.target import SshError
from qxub.remote.transport import Transport
from qxub.streams import Streams, reader_gone

EXIT_CONNECTION_LOST = 75  # EX_TEMPFAIL: the job goes on; try again (qxub wait --remote)
CANCEL_TIMEOUT = 60.0
BACKOFF_FIRST, BACKOFF_MOST = 0.5, 20.0


def _nothing(job_id: str) -> None:
    return None


@record(frozen=True)
class FollowHooks:
    """What other features attach to a remote follow (port forwards, say); each is called
    with the job id: the remote submitted the job (called from the session's reader); it
    started; a new session follows it again; the job is over, as seen here (said once: the
    remote said `finished`, called while ssh still ends the session; or it was cancelled
    here); the follow ended (the job's end, Ctrl-C, or giving up on a lost follow)."""

    submitted: Callable[[str], None] = _nothing
    started: Callable[[str], None] = _nothing
    reattached: Callable[[str], None] = _nothing
    over: Callable[[str], None] = _nothing
    ended: Callable[[str], None] = _nothing


@record(frozen=True)
class FollowEnd:
    exit_code: int
    job_id: str | None
    job_ended: bool  # the job is over (finished, or cancelled here): time to --pull


class RemoteRun:
    """One remote qxub command, followed across sessions to the job's end."""

    def __init__(
        self,
        remote: Remote,
        transport: Transport,
        script: Sequence[str],
        streams: Streams,
        *,
        tty: bool | None = None,
        stdin_fd: int | None = None,
        job_id: str | None = None,
        start_offset: int | None = None,
        cancel_on_interrupt: bool = True,
        expect_follow: bool = True,
        quiet: bool = False,
        hooks: FollowHooks | None = None,
        continue_words: Sequence[str] = (),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.remote = remote
        self.transport = transport
        self.script = script  # as given: a HandOver's two parts go to the transport
        self.streams = streams
        self.tty = tty
        self.stdin_fd = stdin_fd  # the first session's: the remote qxub stages it for the job
        self.job_id = job_id
        self.cancel_on_interrupt = cancel_on_interrupt
        self.expect_follow = expect_follow  # False: the command ends without following a job
        self.quiet = quiet  # re-attached followers say no status lines either
        self.hooks = hooks or FollowHooks()
        self.continue_words = list(continue_words)  # extra words of the wait command we print
        self.clock = clock
        self.sleep = sleep
        self.offset = start_offset  # output log shown up to here (None: not streamed yet)
        self.reached = False  # a remote qxub answered in this run
        self.messages: set[bytes] = set()
        self.said_started = False
        self.said_lost = False
        self.said_over = False
        self.noted: tuple[str, int] | None = None  # the offset last saved (save_shown)
        self.session: Session | None = None  # the current one

    def run(self) -> int:
        return self.follow().exit_code

    def submitted_job(self) -> str | None:
        """The job's id as soon as the remote said it (from another thread: --forward)."""
        session = self.session
        return self.job_id or (session.heard.job_id if session is not None else None)

    def follow(self) -> FollowEnd:
        script, lost_since, failures = self.script, None, 0
        error: int | SshError | None
        while True:
            backoff = 0.0 if failures < 2 else BACKOFF_FIRST * 2 ** (failures - 2)
            backoff = min(BACKOFF_MOST, backoff)
            session: Session | None = None
            try:
                if backoff:
                    self.sleep(backoff)
                try:
                    session = self.session = self._session(script)
                    if session.wait_finished():
                        self._finished(session)
                    returncode = session.wait()
                except SshError as exc:  # could not even start a session
                    if not self.expect_follow or self.job_id is None or not self.reached:
                        raise
                    returncode, error = -1, exc
                else:
                    error = None
            except KeyboardInterrupt:
                return self._interrupted(session)
            if session is not None:
                heard = session.heard
                self.job_id = heard.job_id or self.job_id
                if session.reader_gone and self.job_id is not None:  # `| head`: stop following
                    self._note_shown()
                    self._ended()
                    code = EXIT_BROKEN_PIPE if heard.finished is not None else None
                    code = code or reader_gone(self.job_id, self.remote.name)
                    return FollowEnd(code, self.job_id, False)
                self.reached = self.reached or heard.hello is not None
                if heard.log_offset is not None:
                    self.offset = heard.log_offset
                    lost_since, failures = None, 0
                self._note_shown()
                if heard.finished is not None:
                    self._over()
                    self._ended()
                    return FollowEnd(heard.finished, self.job_id, True)
                if heard.continue_at is not None and self.job_id is not None:
                    self.offset = heard.continue_at
                    self._note_shown()
                    script = follow_script(self.remote, self.job_id, self.offset, quiet=self.quiet)
                    self.hooks.reattached(self.job_id)
                    continue
                error = self._not_a_lost_follow(session, returncode)
                if isinstance(error, int):
                    self._ended()
                    return FollowEnd(error, self.job_id, False)
            assert not isinstance(error, int)
            assert self.job_id is not None
            now = self.clock()
            lost_since = now if lost_since is None else lost_since
            if now - lost_since >= self.remote.follow_retry:
                return self._give_up(error)
            self._say_lost(error)
            failures += 1
            script = follow_script(self.remote, self.job_id, self.offset or 0, quiet=self.quiet)
            self.hooks.reattached(self.job_id)

    # --- one session --------------------------------------------------------------------------
    def _session(self, script: Sequence[str]) -> Session:
        stdin_fd, self.stdin_fd = self.stdin_fd, None  # the job's stdin goes once
        return Session(
            self.transport,
            script,
            self.streams,
            tty=self.tty,
            stdin_fd=stdin_fd,
            on_started=self._started,
            show_message=self._new_message,
            on_submitted=self.hooks.submitted,
        )

    def _started(self) -> None:
        if not self.said_started and self.job_id is not None:
            self.said_started = True
            self.hooks.started(self.job_id)

    def _new_message(self, payload: bytes) -> bool:
        """A re-attached follower says again what the first said (queued, started): once."""
        if payload in self.messages:
            return False
        self.messages.add(payload)
        return True

    def _finished(self, session: Session) -> None:
        """The remote said `finished`: what was shown, and that the job is over, are noted
        now, while ssh ends the session."""
        heard = session.heard
        self.job_id = heard.job_id or self.job_id
        if heard.log_offset is not None:
            self.offset = heard.log_offset
        self._note_shown()
        self._over()

    def _note_shown(self) -> None:
        if self.job_id is None or self.offset is None:
            return
        if self.noted != (self.job_id, self.offset):
            self.noted = (self.job_id, self.offset)
            save_shown(self.remote.name, self.job_id, self.offset)

    def _over(self) -> None:
        if self.job_id is not None and not self.said_over:
            self.said_over = True
            self.hooks.over(self.job_id)

    def _ended(self) -> None:
        if self.job_id is not None:
            self.hooks.ended(self.job_id)

    def _not_a_lost_follow(self, session: Session, returncode: int) -> int | SshError | None:
        """How a session that said neither `finished` nor `continue-at` ended: the exit code
        to end with (the remote qxub's own error, said already), or, for a lost follow, the
        connection error (or None). Raises what the user must fix."""
        heard = session.heard
        ssh_error = self.transport.connection_error(returncode, session.stderr_tail())
        if not self.expect_follow or self.job_id is None or not self.reached:
            # Nothing to follow, nothing submitted yet, or a remote qxub never reached.
            if heard.hello is None:
                if ssh_error is not None:
                    raise ssh_error
                old = _v1_hello(bytes(heard.held))
                if old is not None:  # a qxub of the line protocols: name both versions
                    self._check_protocol(old)
                if returncode != EXIT_NO_QXUB:
                    session.show_held()  # the remote shell's own words: why it stopped
                raise self._no_hello(returncode)
            self._check_protocol(heard.hello)
            if ssh_error is not None:
                raise ssh_error
            return returncode
        if heard.hello is not None and ssh_error is None and 0 < returncode < 128:
            self._check_protocol(heard.hello)
            return returncode  # the remote qxub stopped for a reason it said
        return ssh_error

    def _say_lost(self, error: SshError | None) -> None:
        if self.said_lost:
            return
        self.said_lost = True
        why = f" ({error.message})" if error is not None else ""
        self.streams.status(
            f"lost the follow of job {self.job_id} on {self.remote.name}{why}; it goes on "
            f"there; re-attaching (for up to {format_duration(self.remote.follow_retry)})"
        )

    def _give_up(self, error: SshError | None) -> FollowEnd:
        why = f" ({error.message})" if error is not None else ""
        took = format_duration(self.remote.follow_retry)
        said = (
            f"qxub: could not follow job {self.job_id} on {self.remote.name} again for {took}"
            f"{why}; it goes on there\nqxub: follow it with: {self.wait_command()}\n"
        )
        self.streams.out.flush()
        self.streams.err.write(said.encode())  # even with --quiet: the way back
        self.streams.err.flush()
        self._ended()
        return FollowEnd(EXIT_CONNECTION_LOST, self.job_id, False)

    def wait_command(self) -> str:
        words = ["qxub", "wait", "--remote", self.remote.name, str(self.job_id)]
        return shlex.join([*words, *self.continue_words])

    # --- Ctrl-C -------------------------------------------------------------------------------
    def _interrupted(self, session: Session | None) -> FollowEnd:
        try:
            if not self.cancel_on_interrupt:
                if self.job_id is not None:
                    self.streams.status(
                        f"stopped waiting; job {self.job_id} goes on (`qxub cancel --remote "
                        f"{self.remote.name} {self.job_id}` stops it)"
                    )
                return FollowEnd(EXIT_INTERRUPTED, self.job_id, False)
            if self.job_id is None and session is not None:
                self._wait_for_job_id(session)
            if self.job_id is not None:
                self._cancel(self.job_id)
                self._over()
                return FollowEnd(EXIT_INTERRUPTED, self.job_id, True)
            if session is not None and session.process.poll() is None:
                check = f"qxub status --remote {self.remote.name}"
                self.streams.status(f"the job may have been submitted; check with: {check}")
        except KeyboardInterrupt:
            self.streams.status(
                f"left at once; check with: qxub status --remote {self.remote.name}"
            )
        finally:
            if session is not None:
                session.stop()
                self._note_shown()
            self._ended()
        return FollowEnd(EXIT_INTERRUPTED, self.job_id, False)

    def _wait_for_job_id(self, session: Session) -> None:
        heard = session.heard
        if session.process.poll() is None and heard.job_id is None:
            self.streams.status(
                "interrupted; waiting for the job id to cancel it (Ctrl-C again to leave)"
            )
            deadline = time.monotonic() + 15
            while (
                heard.job_id is None
                and session.process.poll() is None
                and time.monotonic() < deadline
            ):
                heard.submitted.wait(0.1)
        self.job_id = heard.job_id

    def _cancel(self, job_id: str) -> None:
        self.streams.status(f"cancelling job {job_id} on {self.remote.name}")
        script = plain_qxub_script(self.remote, ["cancel", job_id])
        retry = f"cancel it with: qxub cancel --remote {self.remote.name} {job_id}"
        try:
            result = self.transport.run(script, timeout=CANCEL_TIMEOUT, check=False)
        except QxubError as exc:
            self.streams.status(f"could not cancel job {job_id}: {exc}")
            self.streams.status(retry)
            return
        if result.returncode != 0:
            self.streams.status(f"could not cancel job {job_id}: {result.stderr.strip()}")
            self.streams.status(retry)

    # --- a remote qxub that is not the right one ----------------------------------------------
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
        if returncode == EXIT_NO_SNAPSHOT:
            return QxubError(
                f"could not copy the mirror on {name} for --snapshot (said above); "
                "nothing was submitted",
                hint="free space or fix permissions beside the mirror, or run with --no-snapshot",
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


def _v1_hello(held: bytes) -> list[str] | None:
    """The hello of a qxub that speaks protocol 1 or 2 (event lines on stderr)."""
    for line in held.splitlines():
        if line.startswith(protocol.V1_MARKER):
            words = line[len(protocol.V1_MARKER) :].decode(errors="replace").split()
            if words[:1] == ["hello"]:
                return words[1:]
    return None
