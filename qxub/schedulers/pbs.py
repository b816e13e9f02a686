"""The PBS Pro / OpenPBS engine: `#PBS` directives, `qsub`, `qstat -x -f -F json`, `qdel`.

Every command goes through an injectable runner (default qxub.proc.run): tests/test_exec_pbs.py
runs it against a real OpenPBS, tests/test_pbs.py replays output recorded on Gadi and other
sites. qstat's records are parsed in pbs_parse; the kill notices PBS (and NCI Gadi) write into
the job's own .o/.e files in pbs_output.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from pathlib import Path

from qxub.errors import SchedulerError, UsageError
from qxub.job.array import single_range
from qxub.job.resources import format_clock, format_size
from qxub.job.spec import JobSpec
from qxub.proc import Result, run
from qxub.record import record, replace
from qxub.schedulers.base import JobState, PollPolicy, Runner, State
from qxub.schedulers.pbs_output import parse_kill_notice
from qxub.schedulers.pbs_parse import (
    PbsJob,
    PbsParseError,
    parse_job_id,
    parse_qstat_full,
    parse_qstat_json,
)

# What PBS itself writes about a job (its -o and -e files), in the job's log directory.
PBS_OUT, PBS_ERR = "pbs.out", "pbs.err"
# PBS Pro takes up to 236 characters, but qstat shows 15 and older servers (and Gadi's
# documentation) want at most 15 with a letter first: names that every PBS shows whole.
_NAME_MAX = 15
_NAME_BAD_RE = re.compile(r"[^A-Za-z0-9_.\-]")


def pbs_job_name(name: str) -> str:
    """A job name PBS accepts: letters, digits, `_ - .`, a letter first, at most 15 chars."""
    clean = _NAME_BAD_RE.sub("_", name)
    if not clean[:1].isalpha():
        clean = "q" + clean
    return clean[:_NAME_MAX]


def _value(option: str, value: str) -> str:
    # qsub splits directive lines on whitespace; a value holding some would be cut in two.
    if not value or any(c.isspace() for c in value):
        raise UsageError(
            f"{option} {value!r} cannot be passed to PBS",
            hint=f"give {option} a value without spaces",
        )
    return value


@record(frozen=True)
class _Refusal:
    pattern: re.Pattern[str]
    message: str
    hint: str


def _refusal(pattern: str, message: str, hint: str) -> _Refusal:
    return _Refusal(re.compile(pattern, re.IGNORECASE), message, hint)


# qsub's refusals, most specific first (real wordings: tests/data/pbs/error-messages-real.tsv).
# Gadi's qsub wrapper and other site hooks add their own "qsub: Error: ..." lines.
_QSUB_REFUSALS = (
    _refusal(
        r"not a member of project|PBSInvalidProject|invalid project"
        r"|project .*(not valid|does not exist)",
        "PBS refused the project",
        "check --project: you must be a member of it (on Gadi: `nci_account`, my.nci.org.au)",
    ),
    _refusal(
        r"Account_Name is required",
        "this cluster requires a project to charge the job to",
        "give --project, or set `project:` in the remote's defaults",
    ),
    _refusal(
        r"storage|filesystems",
        "PBS refused the job's storage request",
        "name every file system the job touches, e.g. --storage scratch/a56+gdata/a56 "
        "(on Polaris-like sites the resource is -l filesystems=...)",
    ),
    _refusal(
        r"cannot connect to server",
        "no PBS server answers here, though qsub is installed",
        "start or reach the PBS server; to run on this machine without PBS, add "
        "--scheduler local (or `defaults: {scheduler: local}` in the config)",
    ),
    _refusal(
        r"Unknown queue",
        "PBS does not know that queue",
        "`qstat -Q` lists the queues; --queue auto picks one for the job's resources",
    ),
    _refusal(
        r"Access to queue is denied|Unauthorized Request",
        "you may not submit to that queue",
        "choose another queue, or --queue auto",
    ),
    _refusal(
        r"walltime",
        "the walltime asked for is not allowed",
        "ask for less --runtime, or a queue whose limit is longer",
    ),
    _refusal(
        r"per-user limit|Maximum number of jobs",
        "you already have as many jobs queued as PBS allows",
        "wait for some to finish (`qxub status`) or use another queue",
    ),
    _refusal(
        r"exceeds queue resource limits|violates queue and/or server resource limits"
        r"|Resource limit exceeds allowable",
        "the job asks for more than the queue allows",
        "ask for fewer cpus, less memory or time, or use --queue auto",
    ),
    _refusal(
        r"rejected by all possible destinations",
        "no queue behind the routing queue accepts the job",
        "compare the job's resources with the queue limits (`qstat -Qf`), or pick a queue",
    ),
    _refusal(
        r"Unknown resource|Illegal attribute or resource value",
        "PBS does not accept one of the job's resources",
        "check the -l values (--mem, --cpus, extra resources) against the site's documentation",
    ),
)


def qsub_error(said: str) -> SchedulerError:
    """What qsub printed on failure -> a SchedulerError that names the fix. qsub's own words
    are kept in the message: site hooks often say exactly what is wrong."""
    text = said.strip() or "qsub failed without saying why"
    for refusal in _QSUB_REFUSALS:
        if refusal.pattern.search(text):
            return SchedulerError(f"{refusal.message}: {text}", hint=refusal.hint)
    return SchedulerError(
        f"qsub refused the job: {text}",
        hint="`qxub exec --dry ...` shows the job script and its #PBS lines",
    )


_UNKNOWN_RE = re.compile(r"Unknown Job Id")
_FINISHED_RE = re.compile(r"Job has finished")
_NO_HISTORY_RE = re.compile(r"not configured to maintain job history")
_BAD_OPTION_RE = re.compile(
    r"invalid option|illegal option|unrecognized option|conflicting options|usage:", re.I
)
_ALREADY_DELETING_RE = re.compile(r"Delete already in progress")


@record(frozen=True)
class _Lookup:
    job: PbsJob | None
    gone: bool = False  # ended, but PBS keeps no record of how


_MAIL_POINTS = {"begin": "b", "end": "e", "fail": "a"}


def _sequencing(spec: JobSpec) -> list[str]:
    """-J (arrays), -W depend (--after), -M/-m (--mail): PBS's words for them."""
    lines = []
    if spec.array:
        bounds = single_range(spec.array)
        if bounds is None:
            raise UsageError(
                f"PBS cannot run --array {spec.array}: its -J takes one range of two or more "
                "indices",
                hint="give a range such as 1-10 or 1-100:2 (Slurm and the local runner take lists)",
            )
        start, end, step = bounds
        lines.append(f"-J {start}-{end}" + (f":{step}" if step > 1 else ""))
        if spec.array_parallel:
            lines.append(f"-W max_run_subjobs={spec.array_parallel}")
    depend = [
        f"{kind}:" + ":".join(_value(option, job) for job in jobs)
        for kind, option, jobs in (
            ("afterok", "--after", spec.after),
            ("afterany", "--after-any", spec.after_any),
        )
        if jobs
    ]
    if depend:
        lines.append(f"-W depend={','.join(depend)}")
    if spec.mail is not None:
        if spec.mail:
            lines.append(f"-M {_value('--mail', spec.mail)}")
        lines.append("-m " + "".join(_MAIL_POINTS[event] for event in spec.mail_on))
    return lines


class PbsScheduler:
    """PBS Pro / OpenPBS (NCI Gadi and others). `runner` runs each command; tests pass a fake."""

    name = "pbs"
    # qstat costs the server something and sleeps when called twice in a second.
    poll = PollPolicy(first=5.0, most=30.0, file_grace=15.0)
    output_files: tuple[str, ...] = (PBS_ERR, PBS_OUT)
    array_variable = "PBS_ARRAY_INDEX"

    def __init__(self, runner: Runner = run, *, timeout: float = 120.0) -> None:
        self._run = runner
        self._timeout = timeout
        # Learnt from the server on first use and kept, so later polls ask the right way.
        self._json = True  # qstat -F json (PBS Pro 13+, OpenPBS)
        self._history = True  # qstat -x (needs job_history_enable on the server)

    def directives(self, spec: JobSpec, logdir: Path) -> list[str]:
        """The #PBS lines for `spec`; PBS's own .o/.e go to `logdir` (they only hold PBS's
        footer: the job script writes the command's output there itself)."""
        lines = [f"-N {pbs_job_name(spec.job_name)}", "-S /bin/bash"]
        if spec.project:
            lines.append(f"-P {_value('--project', spec.project)}")
        if spec.queue:
            lines.append(f"-q {_value('--queue', spec.queue)}")
        res = spec.resources
        resources = [
            ("ncpus", None if res.cpus is None else str(res.cpus)),
            ("mem", None if res.mem is None else format_size(res.mem)),
            ("walltime", None if res.runtime is None else format_clock(res.runtime)),
            ("jobfs", None if res.disk is None else format_size(res.disk)),
            ("ngpus", None if res.gpus is None else str(res.gpus)),
            ("storage", res.storage),
            *res.extra,
        ]
        for key, value in resources:
            if value is not None:
                lines.append(f"-l {_value('-l', key)}={_value(f'-l {key}', value)}")
        lines += _sequencing(spec)
        _value("the log directory", str(logdir))
        lines += ["-j n", f"-o {logdir / PBS_OUT}", f"-e {logdir / PBS_ERR}"]
        return [f"#PBS {line}" for line in lines]

    def subjob_id(self, job_id: str, index: int) -> str:
        """'12[].gadi-pbs', 3 -> '12[3].gadi-pbs'."""
        return job_id.replace("[]", f"[{index}]", 1)

    def unhonoured(self, spec: JobSpec) -> list[str]:
        """On Gadi a GPU type is chosen by queue, which the platform layer does, not -l."""
        return ["--gpu-type"] if spec.resources.gpu_type else []

    def submit_argv(self, script: Path, logdir: Path) -> list[str]:
        return ["qsub", str(script)]

    def submit(self, script: Path, logdir: Path, spec: JobSpec | None = None) -> str:
        """Run qsub; return the job id it prints, or raise a SchedulerError naming the fix."""
        result = self._call(self.submit_argv(script, logdir))
        if result.returncode != 0:
            raise qsub_error(result.stderr or result.stdout)
        job_id = parse_job_id(result.stdout)
        if job_id is None:
            raise SchedulerError(
                f"qsub succeeded but printed no job id: {result.stdout.strip()!r}",
                hint="a login script may print text on this host; check `qsub` by hand",
            )
        return job_id

    def state(self, job_id: str) -> JobState:
        """The job's state; a finished job's exit code follows exit_code_from_pbs."""
        found = self._lookup(job_id)
        if found.job is not None:
            return _with_kill_notice(found.job)
        if found.gone:
            return JobState(State.DONE, reason="job ended; PBS kept no record of how")
        return JobState(State.UNKNOWN)

    def job(self, job_id: str) -> PbsJob | None:
        """PBS's full record of the job (resources used, times...), None once it has none."""
        return self._lookup(job_id).job

    def cancel(self, job_id: str) -> None:
        """qdel; a job that has already ended (or is being deleted) is not an error."""
        result = self._call(["qdel", job_id])
        said = (result.stderr or result.stdout).strip()
        if result.returncode == 0 or any(
            r.search(said) for r in (_FINISHED_RE, _UNKNOWN_RE, _ALREADY_DELETING_RE)
        ):
            return
        hint = "give the id qsub printed, e.g. 12345678.gadi-pbs"
        if "illegally formed job identifier" not in said:
            hint = "check the job with `qstat -x` and cancel it by hand with `qdel`"
        raise SchedulerError(f"could not cancel PBS job {job_id}: {said}", hint=hint)

    def _call(self, argv: Sequence[str]) -> Result:
        return self._run(argv, check=False, timeout=self._timeout)

    def _lookup(self, job_id: str) -> _Lookup:
        # At most three asks: a flag the server refuses is dropped (and remembered) each time.
        for _ in range(3):
            argv = ["qstat", *(["-x"] if self._history else []), "-f"]
            argv += [*(["-F", "json"] if self._json else []), job_id]
            result = self._call(argv)
            said = result.stderr.strip()
            if _NO_HISTORY_RE.search(said) and self._history:
                self._history = False
                continue
            if _UNKNOWN_RE.search(said) or _FINISHED_RE.search(said):
                # Without history, a job that has left plain qstat has ended; with it, "unknown"
                # means the record expired or never existed. "Job has finished" (no -x) ended.
                return _Lookup(None, gone=not self._history or bool(_FINISHED_RE.search(said)))
            if self._json and result.returncode != 0 and _BAD_OPTION_RE.search(said):
                self._json = False  # PBS older than 13 has no -F json
                continue
            if result.returncode != 0:
                raise _failed(result)
            if self._json:
                try:
                    return _Lookup(_pick(parse_qstat_json(result.stdout).jobs, job_id))
                except PbsParseError:
                    # JSON PBS could not write right (a job's odd environment): ask for the text
                    # form this once; the next poll tries JSON again.
                    argv = [a for a in argv if a not in ("-F", "json")]
                    result = self._call(argv)
                    if result.returncode != 0:
                        raise _failed(result) from None
            return _Lookup(_pick(parse_qstat_full(result.stdout), job_id))
        return _Lookup(None)


def _with_kill_notice(job: PbsJob) -> JobState:
    """The job's state; for one killed by a signal, the limit it died of when its .o/.e file
    (on this host) says so: Exit_status says only 'killed by SIGTERM' for Gadi's jobfs kills."""
    state = job.job_state()
    if state.exit_code is None or state.exit_code < 128:
        return state
    for key in ("Error_Path", "Output_Path"):
        path = job.attributes.get(key, "").split(":", 1)[-1]
        try:
            with open(path, errors="replace") as handle:
                notice = parse_kill_notice(handle.read(1 << 20))
        except OSError:
            continue
        if notice is not None:
            return replace(state, reason=notice.reason)
    return state


def _failed(result: Result) -> SchedulerError:
    said = (result.stderr or result.stdout).strip() or f"exit code {result.returncode}"
    return SchedulerError(
        f"`{shlex.join(result.argv)}` failed: {said}",
        hint="is the PBS server reachable from here? try the command by hand",
    )


def _pick(jobs: Sequence[PbsJob], job_id: str) -> PbsJob | None:
    """The record of `job_id` among qstat's answer: ids may be given without the server
    suffix ('123' for '123.gadi-pbs')."""
    for job in jobs:
        if job.job_id == job_id:
            return job
    sequence = job_id.split(".", 1)[0]
    matches = [job for job in jobs if job.job_id.split(".", 1)[0] == sequence]
    return matches[0] if len(matches) == 1 else None
