"""JobSpec: everything about a job that does not depend on where it runs."""

from __future__ import annotations

import re

from qxub.job.array import array_indices
from qxub.record import field, record


@record(frozen=True)
class Context:
    """The execution context: what is activated before the command runs."""

    env: str | None = None  # conda environment
    modules: tuple[str, ...] = ()  # environment modules, loaded in this order
    sif: str | None = None  # Singularity/Apptainer image
    binds: tuple[str, ...] = ()  # bind specs for the image

    @property
    def kind(self) -> str:
        if self.sif:
            return "singularity"
        if self.env and self.modules:
            return "conda+modules"
        if self.env:
            return "conda"
        if self.modules:
            return "modules"
        return "default"


@record(frozen=True)
class Resources:
    """What the job asks of the scheduler. Sizes in bytes, times in seconds."""

    mem: int | None = None
    cpus: int | None = None
    runtime: int | None = None
    disk: int | None = None  # node-local scratch (PBS jobfs)
    gpus: int | None = None
    gpu_type: str | None = None
    storage: str | None = None  # file systems the job needs (PBS -l storage=...)
    extra: tuple[tuple[str, str], ...] = ()  # -l KEY=VALUE, passed on verbatim


@record(frozen=True)
class JobSpec:
    """One job. `argv` is the command as a list of words, kept so end to end."""

    argv: tuple[str, ...]
    execdir: str
    context: Context = field(default_factory=Context)
    resources: Resources = field(default_factory=Resources)
    name: str | None = None
    queue: str | None = None
    project: str | None = None
    out: str | None = None  # where the job's stdout file lives (default: its log dir)
    err: str | None = None
    variables: tuple[tuple[str, str], ...] = ()
    pre: str | None = None
    post: str | None = None
    template: str | None = None  # the text of a --template file
    platform: str | None = None
    stdin: bool = False  # its stdin is the file qxub staged in its log dir (what was piped in)
    # The command-line options this job came from, as typed, for the script header.
    options: tuple[str, ...] = ()
    array: str | None = None  # --array, checked (qxub.job.array)
    array_parallel: int | None = None  # at most this many sub-jobs at once
    after: tuple[str, ...] = ()  # start after these succeeded
    after_any: tuple[str, ...] = ()  # start after these ended
    mail: str | None = None  # mail about the job to this address ("" = the submitting user)
    mail_on: tuple[str, ...] = ()  # begin, end, fail

    @property
    def indices(self) -> tuple[int, ...]:
        """The sub-jobs' indices of an array job; () for a single job."""
        return array_indices(self.array) if self.array else ()

    @property
    def job_name(self) -> str:
        """The name shown by the scheduler: --name, else the script an interpreter runs
        (`python3 train.py` -> 'train'), else the program's base name."""
        if self.name:
            return self.name
        words = list(self.argv)
        first = _base(words[0]) if words else "job"
        if _INTERPRETER_RE.match(first):
            rest = words[1:]
            while rest and rest[0].startswith("-") and rest[0] not in ("-m", "-c", "-e"):
                rest.pop(0)
            if len(rest) >= 2 and rest[0] == "-m":
                return rest[1].rsplit(".", 1)[-1] or first
            if rest and not rest[0].startswith("-"):
                script = _base(rest[0])
                return script.rsplit(".", 1)[0] if "." in script[1:] else script or first
        return first or "job"


# Programs whose first plain argument is the script that names the job.
_INTERPRETER_RE = re.compile(
    r"^(python[\d.]*|pypy[\d.]*|bash|sh|zsh|Rscript|julia|perl|ruby|node)$"
)


def _base(word: str) -> str:
    return word.rstrip("/").rsplit("/", 1)[-1]
