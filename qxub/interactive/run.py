"""`qxub exec --interactive` on this machine: the job's script (context, cd, variables, --pre,
the command or the user's shell, --post) run on a terminal by the scheduler's interactive
client, or on a pty here for the local runner. While the request waits in the queue, qxub
says so and why, and Ctrl-C cancels it; once the job runs, every key goes to the job."""

from __future__ import annotations

import functools
import os
import re
import shlex
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from qxub import record as records
from qxub.errors import EXIT_INTERRUPTED, QxubError, UsageError
from qxub.interactive.bridge import CTRL_C, Bridge, Watch
from qxub.interactive.clients import CLIENTS, Client
from qxub.interactive.script import NODE_FILE, WINSIZE_FILE, interactive_script
from qxub.jobs import SCRIPT_NAME
from qxub.schedulers.base import Scheduler
from qxub.state import new_logdir, read_exit_code

if TYPE_CHECKING:
    from qxub.options import ExecOptions

REASON_EVERY = 5.0  # seconds between asks for why a waiting request waits
FIRST_ASK = 1.0  # `qsub -I` says it waits even for a job that starts at once: give it this long


def check_options(options: ExecOptions) -> None:
    for flag, given in (
        ("--detach", options.detach),
        ("--terse", options.terse),
        ("--template", options.template),
        ("--out", options.out),
        ("--err", options.err),
        ("--array", options.array),
    ):
        if given:
            raise UsageError(
                f"{flag} does not go with --interactive",
                hint="an interactive job lives on your terminal; drop one of them",
            )


def run_interactive(options: ExecOptions, cwd: Path) -> int:
    """Run the job on a terminal; the exit code is the job's (its shell's)."""
    from qxub.job.build import spec_from_options
    from qxub.placement import place
    from qxub.schedulers.registry import get_scheduler

    check_options(options)
    if not options.command:
        shell = os.environ.get("SHELL") or "/bin/bash"
        options = records.replace(options, command=(shell,))
    spec = spec_from_options(options, cwd)
    placement = place(spec, scheduler=options.scheduler, internet=options.internet)
    scheduler = get_scheduler(placement.scheduler)
    client = CLIENTS.get(scheduler.name)
    if client is None:
        raise UsageError(f"the {scheduler.name} scheduler has no interactive jobs")
    if options.dry:
        directives = scheduler.directives(placement.spec, Path("<logdir>"))
        shown = interactive_script(
            placement.spec, directives, Path("<logdir>"), follow_resizes=not client.resizes
        )
        sys.stdout.write(shown)
        argv = client.argv(Path("<logdir>") / SCRIPT_NAME, directives)
        sys.stdout.write(f"\n# run with: {shlex.join(argv)}\n")
        return 0
    logdir = new_logdir()
    script = logdir / SCRIPT_NAME
    directives = scheduler.directives(placement.spec, logdir)
    follow = not client.resizes
    script.write_text(interactive_script(placement.spec, directives, logdir, follow_resizes=follow))
    os.chmod(script, 0o700)
    session = Session(client, scheduler, quiet=options.silent)
    if follow:
        session.bridge.watch.resized = functools.partial(_write_size, logdir / WINSIZE_FILE)
    forwards = None
    if options.forward:
        from qxub.interactive.forwards import NodeFile, forward_when_running

        forwards = forward_when_running(
            NodeFile(logdir / NODE_FILE, scheduler.name), options.forward, session.bridge.say
        )
    try:
        code = session.run(client.argv(script, directives), cwd)
    finally:
        if forwards is not None:
            forwards.close()
    if session.cancelled:
        return EXIT_INTERRUPTED
    recorded = read_exit_code(logdir)
    return recorded if recorded is not None else code


class Session:
    """One interactive request: queue watching, then the bridged terminal."""

    def __init__(self, client: Client, scheduler: Scheduler, *, quiet: bool) -> None:
        self.client = client
        self.scheduler = scheduler
        self.quiet = quiet
        self.job_id: str | None = None
        self.waiting = threading.Event()
        self.cancelled = False
        self.seen = b""
        self.bridge = Bridge(Watch(output=self._output, keys=self._keys))

    def run(self, argv: list[str], cwd: Path) -> int:
        try:
            return self.bridge.run(argv, cwd=str(cwd))
        except FileNotFoundError:
            raise QxubError(
                f"{argv[0]}: command not found", hint=f"is {self.scheduler.name} installed here?"
            ) from None
        finally:
            self.waiting.clear()

    def _output(self, data: bytes) -> None:
        if self.client.waiting is None:
            return
        self.seen = (self.seen + data)[-4096:]
        if self.job_id is None and (found := self.client.waiting.search(self.seen)):
            self.job_id = found.group(1).decode()
            self.waiting.set()
            threading.Thread(target=self._tell_why, daemon=True).start()
        if self.waiting.is_set() and self.client.started and self.client.started.search(self.seen):
            self.waiting.clear()

    def _keys(self, data: bytes) -> bytes:
        if not self.waiting.is_set() or CTRL_C not in data or self.job_id is None:
            return data
        self.waiting.clear()
        self.cancelled = True
        self.bridge.say(f"cancelling the request (job {self.job_id})")
        try:
            self.scheduler.cancel(self.job_id)
        except QxubError as exc:
            self.bridge.say(f"could not cancel job {self.job_id}: {exc}")
        self.bridge.stop()
        return b""

    def _tell_why(self) -> None:
        """While the request waits: say so, with the scheduler's reason, when it changes."""
        from qxub.schedulers.whereabouts import waiting_reason

        told: str | None = None
        deadline = time.monotonic() + FIRST_ASK
        while self.waiting.is_set() and time.monotonic() < deadline:
            time.sleep(0.1)
        first = True
        while self.waiting.is_set() and self.job_id is not None:
            try:
                reason = waiting_reason(self.scheduler, self.job_id)
            except QxubError:
                reason = None
            if (first or reason != told) and self.waiting.is_set() and not self.quiet:
                told, first = reason, False
                why = f": {_plain(reason)}" if reason else ""
                self.bridge.say(
                    f"job {self.job_id} waits in the queue{why} (Ctrl-C cancels the request)"
                )
            deadline = time.monotonic() + REASON_EVERY
            while self.waiting.is_set() and time.monotonic() < deadline:
                time.sleep(0.1)


def _write_size(path: Path, rows: int, cols: int) -> None:
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(f"{rows} {cols}\n")
    os.replace(partial, path)


def _plain(reason: str) -> str:
    return re.sub(r"\s+", " ", reason).strip()
