"""Slurm: `#SBATCH` directives, `sbatch --parsable`, `scontrol`/`sacct`, `scancel`.

Slurm commands find their cluster through the environment (SLURM_CONF and friends), so every
command runs with the environment as it is, unless an `env` is given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from qxub.errors import CommandFailed, QxubError, SchedulerError
from qxub.job.spec import JobSpec
from qxub.proc import Result, run
from qxub.schedulers.base import JobState, PollPolicy, Runner, State
from qxub.schedulers.slurm_parse import array_state, job_state, scontrol_fields

# What Slurm itself writes about a job (its --output and --error), in the job's log directory.
SLURM_OUT, SLURM_ERR = "slurm.out", "slurm.err"
SUBMIT_TIMEOUT = 120.0
QUERY_TIMEOUT = 60.0

# sbatch's complaints -> what to do about them. First match (case-insensitive) wins.
_SUBMIT_HINTS: tuple[tuple[str, str], ...] = (
    ("invalid partition", "no such queue (Slurm partition) here; `sinfo -s` lists them"),
    (
        "invalid account",
        "the project (Slurm account) is unknown or not allowed on that queue; "
        "`sacctmgr show assoc user=$USER format=account,partition` lists yours",
    ),
    (
        "memory specification",
        "no node has that much memory; ask for less (--mem); "
        "`sinfo -o '%P %m'` shows the memory per node (MB)",
    ),
    (
        "temporary disk",
        "no node has that much local disk; ask for less (--disk); "
        "`sinfo -o '%P %d'` shows the disk per node (MB)",
    ),
    (
        "time limit",
        "ask for less time (--time); `sinfo -o '%P %l'` shows each queue's time limit",
    ),
    (
        "requested node configuration is not available",
        "no node in that queue has the CPUs, memory, GPUs or disk asked for; ask for less "
        "or pick another queue (`sinfo -o '%P %c %m %G %d'`)",
    ),
    (
        "qos",
        "the job breaks a QOS limit or you may not use that QOS; "
        "`sacctmgr show qos` and `sacctmgr show assoc user=$USER` show the limits",
    ),
    (
        "generic resource",
        "this cluster has no such GPUs (or GRES); check --gpus and --gpu-type "
        "against `sinfo -o '%P %G'`",
    ),
    (
        "permission denied",
        "you may not submit to that queue or account; ask the cluster's admins",
    ),
    (
        "not permitted",
        "you may not submit to that queue or account; ask the cluster's admins",
    ),
    (
        "unable to contact slurm controller",
        "Slurm's controller did not answer; check SLURM_CONF and try again in a moment",
    ),
    (
        "unrecognized option",
        "an extra Slurm option was not understood by sbatch; check its spelling",
    ),
    ("invalid --", "an option's value was not understood by sbatch; see `man sbatch`"),
)

_SAFE_WORD = re.compile(r"^[A-Za-z0-9_./:=,+@%-]*$")
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.+-]")
_OPTION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")


class SlurmScheduler:
    """The Slurm engine."""

    name = "slurm"
    # squeue/scontrol cost the controller something: ask every second at first, then less.
    poll = PollPolicy(first=1.0, most=10.0, file_grace=10.0)
    output_files: tuple[str, ...] = (SLURM_ERR, SLURM_OUT)
    array_variable = "SLURM_ARRAY_TASK_ID"

    def subjob_id(self, job_id: str, index: int) -> str:
        """'123', 3 -> '123_3'."""
        return f"{job_id}_{index}"

    def __init__(self, runner: Runner = run, env: Mapping[str, str] | None = None) -> None:
        self._run = runner
        self._env = env  # None: the environment as it is when each command runs

    # -- the job script -------------------------------------------------------------------

    def directives(self, spec: JobSpec, logdir: Path) -> list[str]:
        """`#SBATCH` lines for `spec`; Slurm's own stdout/stderr go to `logdir`."""
        res = spec.resources
        extra_keys = {key.lstrip("-") for key, _ in res.extra}
        opts: list[tuple[str, str]] = [("job-name", job_name(spec.job_name))]
        if spec.queue:
            opts.append(("partition", spec.queue))
        if spec.project:
            opts.append(("account", spec.project))
        if res.cpus:
            # One task with N CPUs: one process (and its threads) on one node.
            if "ntasks" not in extra_keys:
                opts.append(("ntasks", "1"))
            opts.append(("cpus-per-task", str(res.cpus)))
        if res.mem:
            opts.append(("mem", slurm_size(res.mem)))
        if res.runtime:
            opts.append(("time", slurm_time(res.runtime)))
        if res.gpus or res.gpu_type:
            count = res.gpus or 1
            opts.append(("gres", f"gpu:{res.gpu_type}:{count}" if res.gpu_type else f"gpu:{count}"))
        if res.disk:
            opts.append(("tmp", slurm_size(res.disk)))
        opts += _sequencing(spec)
        opts.append(("output", _filename(logdir / SLURM_OUT)))
        opts.append(("error", _filename(logdir / SLURM_ERR)))
        lines = [f"#SBATCH --{key}={_word(value)}" for key, value in opts]
        for key, value in res.extra:
            name = key.lstrip("-")
            if not _OPTION_NAME.match(name):
                raise QxubError(
                    f"{key!r} is not a Slurm option name",
                    hint="extra Slurm options are KEY=VALUE, e.g. constraint=skylake",
                )
            lines.append(f"#SBATCH --{name}={_word(value)}" if value else f"#SBATCH --{name}")
        return lines

    def unhonoured(self, spec: JobSpec) -> list[str]:
        """Slurm has no notion of PBS's `-l storage=`."""
        return ["--storage"] if spec.resources.storage else []

    # -- submit, state, cancel --------------------------------------------------------------

    def submit_argv(self, script: Path, logdir: Path) -> list[str]:
        return ["sbatch", "--parsable", str(script)]

    def submit(self, script: Path, logdir: Path, spec: JobSpec | None = None) -> str:
        """Submit `script`; return the job id (without any `;cluster` suffix)."""
        result = self._command(self.submit_argv(script, logdir), SUBMIT_TIMEOUT)
        if result.returncode != 0:
            raise submit_error(result, script)
        first = result.stdout.strip().splitlines()[0] if result.stdout.strip() else ""
        job_id = first.split(";", 1)[0].strip()
        if not re.match(r"^\d+", job_id):
            raise SchedulerError(
                f"sbatch printed no job id (it said {result.stdout.strip()!r})",
                hint="a job may have been submitted anyway; check `squeue --me`",
            )
        return job_id

    def state(self, job_id: str) -> JobState:
        """The controller's view while it remembers the job, else accounting's, else UNKNOWN."""
        shown = self._command(["scontrol", "show", "job", "-o", job_id], QUERY_TIMEOUT)
        if shown.returncode == 0 and (whole := array_state(shown.stdout, job_id)) is not None:
            return whole
        if shown.returncode == 0 and (fields := scontrol_fields(shown.stdout, job_id)):
            return job_state(
                fields.get("JobState", ""), fields.get("ExitCode", ""), fields.get("Reason")
            )
        if (accounted := self._accounting(job_id)) is not None:
            return accounted
        if shown.returncode != 0 and "invalid job id" not in shown.stderr.lower():
            raise SchedulerError(
                f"cannot ask Slurm about job {job_id}: {_said(shown)}",
                hint="check that Slurm's controller is up (`scontrol ping`) and SLURM_CONF",
            )
        return JobState(State.UNKNOWN)

    def cancel(self, job_id: str) -> None:
        """`scancel`; a job that has already ended (or is forgotten) is not an error."""
        result = self._command(["scancel", job_id], QUERY_TIMEOUT)
        said = result.stderr.lower()
        if result.returncode == 0 or "completed" in said or "invalid job id" in said:
            return
        raise SchedulerError(
            f"scancel could not cancel job {job_id}: {_said(result)}",
            hint=f"check `squeue -j {job_id}`; only the job's owner or an admin may cancel",
        )

    # -- helpers --------------------------------------------------------------------------

    def _accounting(self, job_id: str) -> JobState | None:
        """sacct from the accounting database, or from the job-completion file (`-c`) where a
        cluster has no accounting storage. None when neither knows the job."""
        fields = "JobID,State,ExitCode"
        for argv in (
            ["sacct", "-j", job_id, "-P", "-n", "-o", fields],
            ["sacct", "-c", "-j", job_id, "-P", "-n", "-o", fields],
        ):
            result = self._command(argv, QUERY_TIMEOUT)
            if result.returncode != 0:
                continue
            rows = [line.split("|") for line in result.stdout.splitlines()]
            mine = [row for row in rows if len(row) >= 3 and row[0] == job_id and row[1]]
            if mine:
                # A requeued job has several records; the last one is the latest run.
                return job_state(mine[-1][1], mine[-1][2], None)
        return None

    def _command(self, argv: list[str], timeout: float) -> Result:
        try:
            return self._run(argv, check=False, env=self._env, timeout=timeout)
        except CommandFailed as exc:
            raise SchedulerError(
                exc.message,
                hint=exc.hint or "is Slurm installed here, and is its controller up?",
            ) from exc


def submit_error(result: Result, script: Path) -> SchedulerError:
    """sbatch's refusal as one message with a hint naming the fix."""
    details = []
    for line in result.stderr.splitlines():
        text = line.strip()
        if not text.startswith("sbatch:"):
            continue
        text = text.removeprefix("sbatch:").strip().removeprefix("error:").strip()
        text = text.removeprefix("Batch job submission failed:").strip()
        if text and text not in details:
            details.append(text)
    detail = "; ".join(details) or _said(result)
    lowered = detail.lower()
    hint = next(
        (hint for needle, hint in _SUBMIT_HINTS if needle in lowered),
        f"check the queue and resources asked for; the job script is {script}",
    )
    return SchedulerError(f"sbatch refused the job: {detail}", hint=hint)


_MAIL_TYPES = {"begin": "BEGIN", "end": "END", "fail": "FAIL"}


def _sequencing(spec: JobSpec) -> list[tuple[str, str]]:
    """--array, --dependency, --mail-*: Slurm's words for qxub's arrays, --after and --mail."""
    opts = []
    if spec.array:
        limit = f"%{spec.array_parallel}" if spec.array_parallel else ""
        opts.append(("array", spec.array + limit))
    depend = [
        f"{kind}:" + ":".join(jobs)
        for kind, jobs in (("afterok", spec.after), ("afterany", spec.after_any))
        if jobs
    ]
    if depend:
        opts.append(("dependency", ",".join(depend)))
        # A dependency that can never be met (the job it waits for failed) ends the job,
        # rather than leaving it pending for ever.
        opts.append(("kill-on-invalid-dep", "yes"))
    if spec.mail is not None:
        if spec.mail:
            opts.append(("mail-user", spec.mail))
        opts.append(("mail-type", ",".join(_MAIL_TYPES[event] for event in spec.mail_on)))
    return opts


def job_name(name: str) -> str:
    """A job name Slurm's tools all handle: no spaces or `=` (sacct -c splits on them)."""
    return _NAME_CHARS.sub("_", name)[:128] or "job"


def slurm_size(nbytes: int) -> str:
    """Bytes -> Slurm's units (1024-based): whole gigabytes as G, else megabytes rounded up."""
    if nbytes % 1024**3 == 0:
        return f"{nbytes // 1024**3}G"
    return f"{-(-nbytes // 1024**2)}M"


def slurm_time(seconds: int) -> str:
    """Seconds -> `HH:MM:SS`, or `D-HH:MM:SS` from a day up."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}-{clock}" if days else clock


def _filename(path: Path) -> str:
    """A path for --output/--error: `%` is Slurm's pattern character, `%%` a literal one
    (Slurm skips pattern expansion altogether in a name holding a backslash)."""
    text = str(path)
    return text if "\\" in text else text.replace("%", "%%")


def _word(value: str) -> str:
    """Quote a value for an `#SBATCH` line the way sbatch reads it: quotes group, a
    backslash escapes the next character, an unquoted `#` starts a comment."""
    if "\n" in value or "\r" in value or "\0" in value:
        raise QxubError(
            f"{value!r} cannot go into an #SBATCH line",
            hint="remove the line break from the name, path or option",
        )
    if value and _SAFE_WORD.match(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _said(result: Result) -> str:
    text = (result.stderr.strip() or result.stdout.strip() or "(no output)").splitlines()
    return "; ".join(text[-3:])
