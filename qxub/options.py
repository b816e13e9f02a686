"""Typed options of `qxub exec`: built once at the CLI boundary, read by the local and the
remote path. Each field is named after its click parameter (cli/exec_options.py); a test
checks that the two lists agree, so a new option cannot be half added."""

from __future__ import annotations

from qxub.record import record


@record(frozen=True)
class ExecOptions:
    """One `qxub exec`, as typed (plus config `defaults:` on the local path)."""

    command: tuple[str, ...] = ()
    # execution context
    env: str | None = None
    mods_each: tuple[str, ...] = ()
    mods_list: tuple[str, ...] = ()
    sif: str | None = None
    bind: tuple[str, ...] = ()
    default_context: bool = False
    # resources
    mem: str | None = None
    cpus: int | None = None
    runtime: str | None = None
    disk: str | None = None
    gpus: int | None = None
    gpu_type: str | None = None
    resources: tuple[str, ...] = ()
    volumes: str | None = None
    internet: bool = False
    # the job
    queue: str | None = None
    name: str | None = None
    project: str | None = None
    array: str | None = None
    array_parallel: int | None = None
    after: tuple[str, ...] = ()
    after_any: tuple[str, ...] = ()
    mail: str | None = None  # "" = the submitting user
    mail_on: str | None = None
    execdir: str | None = None
    out: str | None = None
    err: str | None = None
    var_each: tuple[str, ...] = ()
    vars_list: tuple[str, ...] = ()
    pre: str | None = None
    post: str | None = None
    template: str | None = None
    platform: str | None = None
    scheduler: str | None = None
    # behaviour
    dry: bool = False
    terse: bool = False
    detach: bool = False
    interactive: bool = False
    forward: tuple[str, ...] = ()  # [LOCAL:]PORT, as typed
    quiet: bool = False
    verbose: int = 0
    config_file: str | None = None
    # remote
    remote: str | None = None
    sync: bool | None = None  # None: the remote's sync.auto
    snapshot: bool | None = None  # None: the remote's sync.snapshot
    pull: tuple[str, ...] = ()
    # The options typed on the command line as argv words, for the job script's header.
    typed: tuple[str, ...] = ()

    @property
    def silent(self) -> bool:
        """No status lines: --quiet, or --terse (only the job id)."""
        return self.quiet or self.terse
