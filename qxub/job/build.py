"""Build a JobSpec from the options as typed, checking how they combine."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from qxub.errors import UsageError
from qxub.job.resources import parse_duration, parse_size
from qxub.job.spec import Context, Resources

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


def build_variables(
    var_each: Sequence[str], vars_list: Sequence[str]
) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for text in var_each:
        key, _, value = text.partition("=")
        pairs.append((key, value))
    for text in vars_list:
        for part in text.split(","):
            key, _, value = part.partition("=")
            pairs.append((key.strip(), value))
    for key, _ in pairs:
        if not _NAME.match(key):
            raise UsageError(
                f"{key!r} is not a valid variable name", hint="e.g. --var OMP_NUM_THREADS=4"
            )
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
    if gpu_type and not gpus:
        raise UsageError("--gpu-type needs --gpus N", hint="e.g. --gpus 1 --gpu-type a100")
    extra: list[tuple[str, str]] = []
    for text in resources:
        for part in text.split(","):
            key, _, value = part.partition("=")
            extra.append((key.strip(), value))
    return Resources(
        mem=parse_size(mem, "--mem") if mem else None,
        cpus=cpus,
        runtime=parse_duration(runtime, "--runtime") if runtime else None,
        disk=parse_size(disk, "--disk") if disk else None,
        gpus=gpus,
        gpu_type=gpu_type or None,
        storage=volumes or None,
        extra=tuple(extra),
    )


def absolute(path: str | None, cwd: Path) -> str | None:
    if path is None:
        return None
    return os.path.normpath(cwd / os.path.expanduser(path))
