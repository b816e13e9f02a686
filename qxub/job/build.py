"""Build a JobSpec from the options as typed, checking how they combine."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qxub.errors import UsageError
from qxub.job.array import array_indices
from qxub.job.habits import OPTION_OF, read_l_words
from qxub.job.resources import parse_duration, parse_size
from qxub.job.spec import Context, JobSpec, Resources

if TYPE_CHECKING:
    from qxub.options import ExecOptions

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def build_context(
    *,
    env: str | None,
    mods_each: Sequence[str],
    mods_list: Sequence[str],
    sif: str | None,
    binds: Sequence[str],
    default_context: bool,
) -> Context:
    modules = [*mods_each]
    for text in mods_list:
        modules += [m for m in re.split(r"[\s,]+", text) if m]
    if sif and (env or modules or default_context):
        raise UsageError(
            "--sif combines with no other context",
            hint="the image is the whole environment: drop --env/--mod/--mods/--default",
        )
    if default_context and (env or modules):
        raise UsageError(
            "--default means no context, so it cannot go with --env/--mod/--mods",
            hint="drop --default or the other context options",
        )
    if binds and not sif:
        raise UsageError("--bind needs --sif IMAGE", hint="add --sif or drop --bind")
    return Context(env=env or None, modules=tuple(modules), sif=sif or None, binds=tuple(binds))


def parse_assignments(
    text: str, *, many: bool = False, shell_names: bool = True, bare_keys: bool = False
) -> list[tuple[str, str]]:
    """'K=V' (with `many`: 'A=1,B=2') -> [(key, value)]; ValueError says what is wrong.
    With `shell_names`, keys must be valid shell variable names; with `bare_keys`, a key
    alone ('wd') is a key with an empty value."""
    pairs = []
    for part in text.split(",") if many else [text]:
        if "=" not in part and bare_keys and part.strip():
            pairs.append((part.strip(), ""))
            continue
        if "=" not in part:
            raise ValueError(f"{part!r} is not KEY=VALUE (e.g. OMP_NUM_THREADS=4)")
        key, value = part.split("=", 1)
        key = key.strip() if many else key
        if not key:
            raise ValueError(f"{part!r} has an empty key")
        if shell_names and not _NAME.match(key):
            raise ValueError(f"{key!r} is not a valid variable name")
        pairs.append((key, value))
    return pairs


def _assignments(
    texts: Sequence[str],
    option: str,
    *,
    many: bool,
    shell_names: bool = True,
    bare_keys: bool = False,
) -> list[tuple[str, str]]:
    pairs = []
    for text in texts:
        try:
            pairs += parse_assignments(
                text, many=many, shell_names=shell_names, bare_keys=bare_keys
            )
        except ValueError as exc:
            raise UsageError(f"{option}: {exc}", hint=f"e.g. {option} A=1") from None
    return pairs


def build_variables(
    var_each: Sequence[str], vars_list: Sequence[str]
) -> tuple[tuple[str, str], ...]:
    pairs = _assignments(var_each, "--var", many=False)
    pairs += _assignments(vars_list, "--vars", many=True)
    return tuple(pairs)


def build_resources(
    *,
    mem: str | None,
    cpus: int | None,
    runtime: str | None,
    disk: str | None,
    gpus: int | None,
    gpu_type: str | None,
    resources: Sequence[str],
    volumes: str | None,
) -> Resources:
    """The job's resources from the options and the `-l` words that name the same things
    (job.habits); a resource given both ways is a UsageError naming both."""
    pairs = _assignments(resources, "-l", many=True, shell_names=False, bare_keys=True)
    words = read_l_words(pairs)
    typed: dict[str, tuple[object, str] | None] = {
        "cpus": None if cpus is None else (cpus, str(cpus)),
        "mem": None if not mem else (parse_size(mem, "--mem"), mem),
        "runtime": None if not runtime else (parse_duration(runtime, "--runtime"), runtime),
        "disk": None if not disk else (parse_size(disk, "--disk"), disk),
        "gpus": None if gpus is None else (gpus, str(gpus)),
        "gpu_type": None if not gpu_type else (gpu_type, gpu_type),
        "storage": None if not volumes else (volumes, volumes),
    }
    for field, (value, word) in words.named.items():
        given = typed[field]
        if given is not None:
            option = OPTION_OF[field]
            raise UsageError(
                f"{option} {given[1]} and -l {word} both ask for the {option[2:]}",
                hint=f"give it once: {option} {given[1]} or -l {word}",
            )
        typed[field] = (value, word)

    def get(field: str) -> Any:
        given = typed[field]
        return None if given is None else given[0]

    if get("gpu_type") and not get("gpus"):
        raise UsageError("--gpu-type needs --gpus N", hint="e.g. --gpus 1 --gpu-type a100")
    return Resources(
        mem=get("mem"),
        cpus=get("cpus"),
        runtime=get("runtime"),
        disk=get("disk"),
        gpus=get("gpus"),
        gpu_type=get("gpu_type"),
        storage=get("storage"),
        extra=words.verbatim,
    )


def absolute(path: str | None, cwd: Path) -> str | None:
    if path is None:
        return None
    return os.path.normpath(cwd / os.path.expanduser(path))


def spec_from_options(options: ExecOptions, cwd: Path) -> JobSpec:
    """The job that `options` (with config defaults applied) describe, run from `cwd`."""
    template = None
    if options.template:
        if not Path(options.template).is_file():
            raise UsageError(f"--template {options.template}: no such file")
        template = Path(options.template).read_text()
    return JobSpec(
        argv=options.command,
        execdir=absolute(options.execdir, cwd) or os.fspath(cwd),
        context=build_context(
            env=options.env,
            mods_each=options.mods_each,
            mods_list=options.mods_list,
            sif=options.sif,
            binds=options.bind,
            default_context=options.default_context,
        ),
        resources=build_resources(
            mem=options.mem,
            cpus=options.cpus,
            runtime=options.runtime,
            disk=options.disk,
            gpus=options.gpus,
            gpu_type=options.gpu_type,
            resources=options.resources,
            volumes=options.volumes,
        ),
        name=options.name,
        queue=options.queue,
        project=options.project,
        out=absolute(options.out, cwd),
        err=absolute(options.err, cwd),
        variables=build_variables(options.var_each, options.vars_list),
        pre=options.pre,
        post=options.post,
        template=template,
        platform=options.platform,
        options=options.typed,
        array=build_array(options),
        array_parallel=options.array_parallel,
        after=job_ids(options.after, "--after"),
        after_any=job_ids(options.after_any, "--after-any"),
        mail=options.mail if options.mail is not None or options.mail_on else None,
        mail_on=mail_events(options.mail_on) if options.mail is not None or options.mail_on else (),
    )


def build_array(options: ExecOptions) -> str | None:
    """--array, checked; its companions make sense only with it."""
    if options.array is None:
        if options.array_parallel is not None:
            raise UsageError(
                "--array-parallel needs --array", hint="e.g. --array 1-10 --array-parallel 2"
            )
        return None
    array_indices(options.array)
    if options.out or options.err:
        raise UsageError(
            "--out and --err name one file, and an array's sub-jobs each write their own",
            hint="drop --out/--err: each sub-job's output is in <log dir>/<index>/",
        )
    return options.array.strip()


def job_ids(texts: Sequence[str], option: str) -> tuple[str, ...]:
    """'12.gadi-pbs,13.gadi-pbs' (repeatable) -> the ids, each checked to be one word."""
    ids = [word.strip() for text in texts for word in text.split(",")]
    for word in ids:
        if not word or any(c.isspace() or c in ":;" for c in word):
            raise UsageError(
                f"{option} {word!r} is not a job id", hint=f"e.g. {option} 12345.gadi-pbs"
            )
    return tuple(ids)


MAIL_EVENTS = ("begin", "end", "fail")


def mail_events(text: str | None) -> tuple[str, ...]:
    """--mail-on 'begin,end' -> ('begin', 'end'); default end and fail."""
    if not text:
        return ("end", "fail")
    events = tuple(dict.fromkeys(word.strip().lower() for word in text.split(",")))
    wrong = [e for e in events if e not in MAIL_EVENTS]
    if wrong or not events:
        raise UsageError(
            f"--mail-on {text}: {', '.join(wrong) or 'nothing'} is not an event",
            hint=f"choose from {', '.join(MAIL_EVENTS)}, comma-separated",
        )
    return events
