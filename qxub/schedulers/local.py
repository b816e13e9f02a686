"""The local runner: the job script runs detached on this machine, in its own session.

It is the embedded default where there is no batch scheduler. The job outlives the qxub that
started it; its state lives in its log dir (pid file, started stamp, exit code file).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from qxub import proc
from qxub.errors import SchedulerError
from qxub.job.script import EXIT_CODE_FILE, STARTED_FILE
from qxub.job.spec import JobSpec
from qxub.schedulers.base import JobState, PollPolicy, State
from qxub.schedulers.local_driver import DRIVER_NAME, NEVER_RAN_FILE, driver_lines
from qxub.state import jobs_dir, read_exit_code

PID_FILE = "pid"
# The job's start time as the kernel counts it: a pid alone may name another process once the
# job has ended and the pid is reused (ssh sessions are session leaders too, and would be hit).
PID_START_FILE = "pid.start"
RUNNER_LOG = "runner.log"
SUFFIX = ".local"
CANCEL_GRACE = 1.5  # seconds; Ctrl-C must end a job within 2 s
# Children we started in this process; polled so they never linger as zombies.
_children: dict[int, subprocess.Popen[bytes]] = {}


class LocalScheduler:
    """Runs jobs as detached bash processes."""

    name = "local"
    # The state is a file read and a kill(0); a local job is queued only while bash starts.
    poll = PollPolicy(first=0.2, most=0.5, file_grace=0.5, queue_is_news=False)
    output_files: tuple[str, ...] = (RUNNER_LOG,)
    array_variable = "QXUB_ARRAY_INDEX"

    def subjob_id(self, job_id: str, index: int) -> str:
        """'7.local', 3 -> '7.local[3]'."""
        return f"{job_id}[{index}]"

    def directives(self, spec: JobSpec, logdir: Path) -> list[str]:
        return []

    def unhonoured(self, spec: JobSpec) -> list[str]:
        r = spec.resources
        named = {
            "--queue": spec.queue,
            "--project": spec.project,
            "--mem": r.mem,
            "--cpus": r.cpus,
            "--runtime": r.runtime,
            "--disk": r.disk,
            "--gpus": r.gpus,
            "--gpu-type": r.gpu_type,
            "--storage": r.storage,
            "--resources": r.extra or None,
            "--mail": spec.mail,
        }
        return [option for option, value in named.items() if value is not None]

    def submit_argv(self, script: Path, logdir: Path) -> list[str]:
        return ["bash", str(script)]

    def submit(self, script: Path, logdir: Path, spec: JobSpec | None = None) -> str:
        """Start the job's driver (local_driver): it waits for the jobs this one comes after,
        then runs the script (once per index for an array)."""
        after = [] if spec is None else _after(spec)
        driver = logdir / DRIVER_NAME
        driver.write_text(
            "\n".join(
                driver_lines(
                    script,
                    logdir,
                    after=after,
                    indices=spec.indices if spec else (),
                    parallel=(spec.array_parallel if spec else None) or os.cpu_count() or 1,
                )
            )
            + "\n"
        )
        job_id = _next_id()
        with open(logdir / RUNNER_LOG, "wb") as log:
            try:
                # Its own session and no death with qxub: the job outlives the command.
                job = proc.start(
                    ["bash", str(driver)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    new_session=True,
                    cwd=str(logdir),
                )
            except OSError as exc:
                raise SchedulerError(
                    f"could not start bash for the job: {exc}",
                    hint="the local runner needs bash on PATH",
                ) from exc
        _children[job.pid] = job
        started = _start_time(job.pid)
        if started is not None:
            (logdir / PID_START_FILE).write_text(f"{started}\n")
        (logdir / PID_FILE).write_text(f"{job.pid}\n")
        return job_id

    def state(self, job_id: str) -> JobState:
        index = None
        if job_id.endswith("]") and "[" in job_id:
            job_id, _, rest = job_id.partition("[")
            index = rest[:-1]
        logdir = _logdir(job_id)
        if logdir is None:
            return JobState(State.UNKNOWN)
        never = logdir / NEVER_RAN_FILE
        if never.exists():
            why = never.read_text(errors="replace").strip()
            return JobState(State.DONE, reason=why, raw_state="never ran")
        if index is not None:
            return self._subjob_state(logdir, index)
        code = read_exit_code(logdir)
        if code is not None:
            return JobState(State.DONE, exit_code=code, raw_state="exited")
        pid = _read_pid(logdir)
        if pid is not None and _alive(pid):
            started = (logdir / STARTED_FILE).exists()
            return JobState(State.RUNNING if started else State.QUEUED, raw_state="alive")
        # Re-read: the job may have finished between the two looks.
        code = read_exit_code(logdir)
        if code is not None:
            return JobState(State.DONE, exit_code=code, raw_state="exited")
        return JobState(
            State.DONE,
            exit_code=None,
            reason="its processes are gone but it recorded no exit code (killed with SIGKILL?)",
            raw_state="vanished",
        )

    def _subjob_state(self, logdir: Path, index: str) -> JobState:
        code = read_exit_code(logdir / index)
        if code is not None:
            return JobState(State.DONE, exit_code=code, raw_state="exited")
        pid = _read_pid(logdir)
        if pid is not None and _alive(pid):
            started = (logdir / index / STARTED_FILE).exists()
            return JobState(State.RUNNING if started else State.QUEUED, raw_state="alive")
        return JobState(State.DONE, reason="the array ended but this sub-job recorded no exit code")

    def cancel(self, job_id: str) -> None:
        logdir = _logdir(job_id)
        if logdir is None or read_exit_code(logdir) is not None:
            return
        pid = _read_pid(logdir)
        if pid is None or not _alive(pid):
            return
        _signal_group(pid, signal.SIGTERM)
        # A job gets this long to run its TERM trap; then its whole session is killed.
        deadline = time.monotonic() + CANCEL_GRACE
        while time.monotonic() < deadline:
            if not _alive(pid):
                break
            time.sleep(0.02)
        # Whatever ignored SIGTERM in the job's session goes now.
        _signal_group(pid, signal.SIGKILL)
        _record_cancel_code(logdir)


def _record_cancel_code(logdir: Path) -> None:
    """A job cancelled right after its start (bash still starting, its traps not set yet)
    dies of the SIGTERM without writing an exit code: record for it what its trap would
    have written, 128+15, unless it wrote one. Created only where none is (a hard link of a
    whole file), so a code the job wrote is never replaced."""
    if read_exit_code(logdir) is not None:
        return
    final = logdir / EXIT_CODE_FILE
    written = logdir / f"{EXIT_CODE_FILE}.cancel.{os.getpid()}"
    try:
        written.write_text(f"{128 + signal.SIGTERM}\n")
        os.link(written, final)
    except FileExistsError:
        pass  # the job's own trap wrote it meanwhile
    except OSError:
        return  # the job then shows as ended without a code, as before
    finally:
        with contextlib.suppress(OSError):
            written.unlink()


def _after(spec: JobSpec) -> list[tuple[str, Path, bool]]:
    """The local jobs `spec` comes after, with their log dirs; an unknown id is an error."""
    found = []
    for ids, must_succeed in ((spec.after, True), (spec.after_any, False)):
        for job_id in ids:
            logdir = _logdir(job_id)
            if logdir is None:
                raise SchedulerError(
                    f"no local job {job_id} to come after",
                    hint="`qxub status` lists the jobs qxub knows; local ids look like 7.local",
                )
            found.append((job_id, logdir, must_succeed))
    return found


def _next_id() -> str:
    """Sequential ids (1.local, 2.local, ...), made unique by exclusive file creation."""
    ids = jobs_dir() / "local-ids"
    ids.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name) for p in ids.iterdir() if p.name.isdigit()]
    n = max(numbers, default=0) + 1
    while True:
        try:
            fd = os.open(ids / str(n), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            n += 1
            continue
        os.close(fd)
        return f"{n}{SUFFIX}"


def _logdir(job_id: str) -> Path | None:
    path = jobs_dir() / "by-id" / job_id
    return path.resolve() if path.exists() else None


def _read_pid(logdir: Path) -> int | None:
    """The pid of the job's driver while that process is still the job's; None once the pid
    names some other process (the job ended and the pid was reused)."""
    try:
        pid = int((logdir / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        recorded = (logdir / PID_START_FILE).read_text().strip()
    except OSError:
        return pid  # no start time could be read when it started (no /proc): trust the pid
    now = _start_time(pid)
    return pid if now is None or now == recorded else None


def _start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (clock ticks after boot): with the pid, names one process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return fields[19] if len(fields) > 19 else None


def _alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] == "Z"
    return False


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # The job runs in its own session, so its pid is its process group's id.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
