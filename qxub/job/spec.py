"""JobSpec: everything about a job that does not depend on where it runs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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
    # The command-line options this job came from, as typed, for the script header.
    options: tuple[str, ...] = ()

    @property
    def job_name(self) -> str:
        """The name shown by the scheduler: --name, else the command's base name."""
        if self.name:
            return self.name
        first = self.argv[0].rstrip("/").rsplit("/", 1)[-1] if self.argv else "job"
        return first or "job"
