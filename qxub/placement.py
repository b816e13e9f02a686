"""Where a job goes on the machine that submits it: platform, scheduler, queue and cost.

This runs on the submitting machine only (the cluster, with --remote): its platform files
and queue limits are the ones that count.
"""

from __future__ import annotations

import os

from qxub import record as records
from qxub.errors import UsageError
from qxub.job.habits import select_equivalent
from qxub.job.spec import JobSpec
from qxub.platforms import (
    Platform,
    check_queue,
    choose_queue,
    describe_estimate,
    detect_platform,
    explain,
    host_names,
    load_platform,
)
from qxub.record import record
from qxub.schedulers.registry import detect_scheduler_name
from qxub.state import jobs_dir


@record(frozen=True)
class Placement:
    spec: JobSpec  # with the queue chosen and cpus filled in where --queue auto did so
    scheduler: str
    platform: Platform | None
    estimate: str | None  # one line: the queue and its cost in SU
    notes: tuple[str, ...]  # -v lines: why this queue, what was ruled out


def place(
    spec: JobSpec, *, scheduler: str | None, internet: bool = False, hostname: str | None = None
) -> Placement:
    """Resolve the platform (--platform, else detected), the scheduler and the queue."""
    if spec.platform:
        platform: Platform | None = load_platform(spec.platform)
    else:
        platform = detect_platform(hostname or host_names())
    scheduler_name = detect_scheduler_name(scheduler, platform.scheduler if platform else None)
    if platform is not None and not platform.select:
        _refuse_select(platform.name, spec)
    if platform is not None and platform.storage_paths:
        spec = _with_storage(platform.storage_paths, spec)
    notes: list[str] = []
    if platform is not None:
        notes.append(f"platform {platform.name} ({platform.source})")
    if spec.queue == "auto":
        if platform is None:
            raise UsageError(
                "--queue auto needs a platform definition, and none matches this host",
                hint="name one with --platform (see `qxub platform list`), or give a queue",
            )
        choice = choose_queue(platform, spec.resources, internet=internet)
        notes += explain(choice)
        placed = records.replace(spec, queue=choice.queue.name, resources=choice.resources)
        return Placement(
            placed,
            scheduler_name,
            platform,
            _estimate_line(choice.queue.name, describe_estimate(choice.chosen)),
            tuple(notes),
        )
    queue = spec.queue or (platform.default_queue if platform else None)
    if platform is None or queue is None:
        return Placement(spec, scheduler_name, platform, None, tuple(notes))
    est = check_queue(platform, queue, spec.resources, internet=internet)
    line = describe_estimate(est)
    if spec.queue is None:
        line += f" (on {platform.name}'s default queue)"
    return Placement(spec, scheduler_name, platform, _estimate_line(queue, line), tuple(notes))


def _estimate_line(queue: str, text: str) -> str:
    return f"estimate on {queue}: {text}"


def _refuse_select(platform: str, spec: JobSpec) -> None:
    """A site that refuses `-l select` (Gadi) is told before anything is submitted."""
    for key, value in spec.resources.extra:
        if key.lower() == "select":
            raise UsageError(
                f"{platform} does not support -l select={value}",
                hint=f"ask for the whole job instead: {select_equivalent(value)}",
            )


def _with_storage(prefixes: tuple[tuple[str, str], ...], spec: JobSpec) -> JobSpec:
    """-l storage with KIND/P added for each of the job's paths under PREFIX/P/ (its
    directory, its log folder, its --out/--err), after what the user named."""
    words = [w for w in (spec.resources.storage or "").split("+") if w]
    for path in (spec.execdir, str(jobs_dir()), spec.out, spec.err):
        if not path:
            continue
        real = os.path.realpath(path)
        for prefix, kind in prefixes:
            rest = real[len(prefix) :] if real.startswith(prefix + "/") else ""
            project = rest.strip("/").split("/", 1)[0]
            if project and f"{kind}/{project}" not in words:
                words.append(f"{kind}/{project}")
    if not words:
        return spec
    resources = records.replace(spec.resources, storage="+".join(words))
    return records.replace(spec, resources=resources)
