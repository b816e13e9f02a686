"""What a job costs on a queue, which queues can take it, and `--queue auto`.

Cost, as NCI publishes it for Gadi (Job Costs page, cited in nci_gadi.yaml):

    SU = charge_rate x max(cpus, memory / (node_memory / node_cpus)) x hours

The API the CLI uses:

    estimate(platform, queue_name, resources) -> Estimate      price only, limits not checked
    check_queue(platform, queue_name, resources, internet=) -> Estimate
        QueueError naming the broken limit and the queues that fit
    choose_queue(platform, resources, internet=) -> QueueChoice
        the cheapest fitting queue; QueueError listing each queue's reason if none fits
    queue_problems(queue, resources, internet=) -> list[str]   every limit the job breaks
    explain(choice) -> list[str]                               lines for -v
    describe_estimate(estimate) -> str                         "2 SU/h x 4 cpus x 5h = 40 SU"
    format_su(su) -> str                                       "40 SU", "716.23 SU"

Filling in what the job left out, per queue: a GPU job without cpus gets gpus x cpus_per_gpu;
any other job without cpus gets the queue's smallest request (min_cpus, 1 on most queues);
`gpu_type` without `gpus` means one GPU. A job without a runtime is costed for DEFAULT_RUNTIME
(1h) and gets no walltime check; it runs with the queue's default walltime.
"""

from __future__ import annotations

import math

from qxub.errors import QxubError
from qxub.job.resources import format_size
from qxub.job.spec import Resources
from qxub.platforms.model import Platform, Queue, format_hours
from qxub.platforms.model import cpus as plural_cpus
from qxub.record import record, replace
from qxub.schema import did_you_mean

DEFAULT_RUNTIME = 3600  # seconds; what a job without --runtime is costed for


class QueueError(QxubError):
    """A queue that does not exist, or a job that a queue (or every queue) cannot take."""


@record(frozen=True)
class Estimate:
    """A job priced on one queue. `resources` has cpus (and gpus) filled in for that queue."""

    queue: Queue
    resources: Resources
    su: float
    hours: float
    memory_cpus: float  # the memory request counted in cpus: mem / (node_memory / node_cpus)
    filled: tuple[str, ...] = ()  # what was filled in because the job left it out

    @property
    def cpus(self) -> int:
        return self.resources.cpus or 1

    @property
    def charged_on(self) -> str:
        """'memory' when the memory request costs more than the cpus, else 'cpus'."""
        return "memory" if self.memory_cpus > self.cpus else "cpus"


@record(frozen=True)
class Rejection:
    """A queue that cannot take the job, and every limit that says so."""

    queue: Queue
    reasons: tuple[str, ...]


@record(frozen=True)
class QueueChoice:
    """The result of `--queue auto`: the cheapest fitting queue and what it was chosen over."""

    platform: Platform
    chosen: Estimate
    runners_up: tuple[Estimate, ...]  # the other fitting queues, cheapest first
    rejected: tuple[Rejection, ...]  # in the platform's queue order

    @property
    def queue(self) -> Queue:
        return self.chosen.queue

    @property
    def resources(self) -> Resources:
        return self.chosen.resources

    @property
    def su(self) -> float:
        return self.chosen.su


def _num(value: float) -> str:
    """Up to two decimals, no trailing zeros: 40.0 -> '40', 716.2303 -> '716.23'."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def format_su(su: float) -> str:
    """Service units as Gadi's job cost page writes them: '40 SU', '716.23 SU'."""
    return f"{_num(su)} SU"


def _effective(queue: Queue, resources: Resources) -> tuple[Resources, tuple[str, ...]]:
    """The job as it would be asked of this queue, and notes on what was filled in."""
    notes: list[str] = []
    gpus = resources.gpus
    if gpus is None and resources.gpu_type:
        gpus = 1
        notes.append(f"gpus: none given with a GPU type; 1 GPU of {resources.gpu_type}")
    cpus = resources.cpus
    if cpus is None:
        if gpus and queue.cpus_per_gpu:
            cpus = gpus * queue.cpus_per_gpu
            what = f"{gpus} GPU{'s' if gpus > 1 else ''} x {queue.cpus_per_gpu} cpus per GPU"
            notes.append(f"cpus: none given; {cpus} ({what} on {queue.name})")
        else:
            cpus = max(1, queue.min_cpus)
            least = f"{queue.name}'s smallest request" if cpus > 1 else "the default"
            notes.append(f"cpus: none given; {cpus} ({least})")
    if resources.runtime is None:
        notes.append(
            f"runtime: none given; costed for {format_hours(DEFAULT_RUNTIME)}, and the job "
            f"runs with {queue.name}'s default walltime"
        )
    return replace(resources, cpus=cpus, gpus=gpus), tuple(notes)


def estimate_cost(queue: Queue, resources: Resources) -> Estimate:
    """Price the job on `queue` by the published rule; limits are not checked."""
    effective, notes = _effective(queue, resources)
    cpus = effective.cpus or 1
    # mem x cpus / node_memory, not mem / (node_memory / cpus): exact for 16GB on 192GB / 48.
    memory_cpus = (effective.mem or 0) * queue.node_cpus / queue.node_memory
    hours = (effective.runtime or DEFAULT_RUNTIME) / 3600
    su = queue.charge_rate * max(cpus, memory_cpus) * hours
    return Estimate(queue, effective, su, hours, memory_cpus, notes)


def describe_estimate(est: Estimate) -> str:
    """The cost worked out, in the job cost page's style."""
    rate = f"{est.queue.charge_rate:g} SU/h"
    cpus = plural_cpus(est.cpus)
    if est.resources.mem:
        per_cpu = _num(est.queue.memory_per_cpu / 1024**3)
        memory = f"{format_size(est.resources.mem)} / {per_cpu}GB per cpu = {_num(est.memory_cpus)}"
        units = f"max({cpus}, {memory})"
    else:
        units = cpus
    return f"{rate} x {units} x {_num(est.hours)}h = {format_su(est.su)}"


def queue_problems(queue: Queue, resources: Resources, *, internet: bool = False) -> list[str]:
    """Every limit of `queue` that the job breaks, as sentences; empty if the queue can take it."""
    job, _ = _effective(queue, resources)
    q = queue.name
    cpus = job.cpus or 1
    gpus = job.gpus or 0
    problems: list[str] = []
    if internet and not queue.internet:
        problems.append(f"{q} has no internet access")
    gpu_problems = _gpu_problems(queue, job, cpus, gpus)
    if (gpus and not queue.max_gpus) or gpus < queue.min_gpus:
        # A GPU job on a CPU queue, or the reverse: nothing else about the queue matters.
        return problems + gpu_problems
    problems += gpu_problems
    if cpus < queue.min_cpus:
        problems.append(f"{q} needs at least {queue.min_cpus} cpus, not {cpus}")
    elif cpus > queue.max_cpus:
        problems.append(f"{cpus} cpus exceed {q}'s limit of {queue.max_cpus}")
    else:
        if cpus % queue.cpus_multiple_of:
            problems.append(f"{q} takes cpus in multiples of {queue.cpus_multiple_of}, not {cpus}")
        if queue.whole_nodes and cpus > queue.node_cpus and cpus % queue.node_cpus:
            problems.append(
                f"{q} runs a job of more than one node on whole nodes: ask for a multiple of "
                f"{queue.node_cpus} cpus, not {cpus}"
            )
    nodes = math.ceil(cpus / queue.node_cpus)
    problems += _size_problems(queue, job, cpus, nodes)
    longest = queue.max_walltime(cpus)
    if job.runtime is not None and longest is not None and job.runtime > longest:
        problems.append(
            f"runtime {format_hours(job.runtime)} exceeds {q}'s limit of "
            f"{format_hours(longest)} for {plural_cpus(cpus)}"
        )
    return problems


def _gpu_problems(queue: Queue, job: Resources, cpus: int, gpus: int) -> list[str]:
    q = queue.name
    if gpus and not queue.max_gpus:
        return [f"{q} has no GPUs"]
    problems = []
    if gpus < queue.min_gpus:
        problems.append(f"{q} is for GPU jobs: ask for at least {queue.min_gpus} GPU with --gpus")
    if gpus > queue.max_gpus:
        problems.append(f"{gpus} GPUs exceed {q}'s limit of {queue.max_gpus}")
    wanted = (job.gpu_type or "").lower()
    if wanted and queue.gpu_type and wanted != queue.gpu_type:
        problems.append(f"{q} has {queue.gpu_type} GPUs, not {job.gpu_type}")
    if gpus and queue.cpus_per_gpu and cpus != gpus * queue.cpus_per_gpu:
        problems.append(
            f"{q} takes exactly {queue.cpus_per_gpu} cpus per GPU: "
            f"{gpus * queue.cpus_per_gpu} cpus for {gpus} GPU{'s' if gpus > 1 else ''}, not {cpus}"
        )
    return problems


def _size_problems(queue: Queue, job: Resources, cpus: int, nodes: int) -> list[str]:
    """Memory and jobfs limits, which Gadi sets per node."""
    q = queue.name

    def limit(per_node: int) -> str:
        if nodes == 1:
            return format_size(per_node)
        total = format_size(per_node * nodes)
        return f"{total} ({format_size(per_node)} per node x {nodes} nodes for {cpus} cpus)"

    problems = []
    most = queue.max_memory or queue.node_memory
    if job.mem and job.mem > most * nodes:
        problems.append(f"memory {format_size(job.mem)} exceeds {q}'s limit of {limit(most)}")
    if queue.min_memory and (job.mem or 0) < queue.min_memory * nodes:
        asked = format_size(job.mem) if job.mem else "none"
        problems.append(f"{q} needs at least {limit(queue.min_memory)} memory, not {asked}")
    if job.disk and queue.max_jobfs is not None and job.disk > queue.max_jobfs * nodes:
        problems.append(
            f"jobfs {format_size(job.disk)} exceeds {q}'s limit of {limit(queue.max_jobfs)}"
        )
    return problems


def _auto_problems(queue: Queue, resources: Resources, internet: bool) -> list[str]:
    """queue_problems, plus: auto leaves a special queue (copyq) to the jobs that need it."""
    problems = queue_problems(queue, resources, internet=internet)
    if not queue.auto and not internet:
        problems.insert(0, f"--queue auto picks {queue.name} only for jobs that need internet")
    return problems


def _sorted(estimates: list[tuple[int, Estimate]]) -> list[Estimate]:
    # Round so that float noise cannot break a tie; then non-express first, then file order.
    ranked = sorted(estimates, key=lambda ie: (round(ie[1].su, 6), ie[1].queue.express, ie[0]))
    return [est for _, est in ranked]


def _unknown_queue(platform: Platform, name: str) -> QueueError:
    lead = did_you_mean(name, platform.queue_names)
    return QueueError(
        f"{platform.name} has no queue {name!r}",
        hint=f"{lead}its queues: {', '.join(platform.queue_names)}; or use --queue auto",
    )


def _get_queue(platform: Platform, name: str) -> Queue:
    queue = platform.queue(name)
    if queue is None:
        raise _unknown_queue(platform, name)
    return queue


def estimate(platform: Platform, queue_name: str, resources: Resources) -> Estimate:
    """Price the job on the named queue without checking its limits (`qxub platform estimate`)."""
    return estimate_cost(_get_queue(platform, queue_name), resources)


def check_queue(
    platform: Platform, queue_name: str, resources: Resources, *, internet: bool = False
) -> Estimate:
    """The job priced on the named queue; QueueError if the queue is unknown or a limit is
    broken, naming the limit and suggesting the queues that fit."""
    queue = _get_queue(platform, queue_name)
    problems = queue_problems(queue, resources, internet=internet)
    if not problems:
        return estimate_cost(queue, resources)
    fits = _sorted(
        [
            (i, estimate_cost(q, resources))
            for i, q in enumerate(platform.queues)
            if not _auto_problems(q, resources, internet)
        ]
    )
    nearest = _nearest_cpus(queue, resources, internet)
    if fits:
        names = ", ".join(f"{e.queue.name} ({format_su(e.su)})" for e in fits[:4])
        hint = f"queues that fit: {names}; pick one with -q, or use --queue auto"
    else:
        show = f"qxub platform show {platform.name}"
        hint = f"no other queue on {platform.name} fits this job; see `{show}`"
    if nearest is not None:
        hint = f"on {queue.name}, use --cpus {nearest}; or {hint}"
    raise QueueError("; ".join(problems), hint=hint)


def _nearest_cpus(queue: Queue, resources: Resources, internet: bool) -> int | None:
    """The cpus nearest the job's that make it fit `queue` (a GPU queue's cpus per GPU, its
    multiple, whole nodes, its minimum), when changing the cpus is all it takes."""
    cpus = resources.cpus or 1
    candidates = {max(cpus, queue.min_cpus)}
    if resources.gpus and queue.cpus_per_gpu:
        candidates.add(resources.gpus * queue.cpus_per_gpu)
    for step in (queue.cpus_multiple_of, queue.node_cpus if cpus > queue.node_cpus else 1):
        if step > 1:
            candidates.add(math.ceil(cpus / step) * step)
    for candidate in sorted(candidates, key=lambda c: (abs(c - cpus), c)):
        trial = replace(resources, cpus=candidate)
        if candidate != cpus and not queue_problems(queue, trial, internet=internet):
            return candidate
    return None


def choose_queue(
    platform: Platform, resources: Resources, *, internet: bool = False
) -> QueueChoice:
    """`--queue auto`: the cheapest queue that takes the job. Ties go to the non-express queue,
    then to the one listed first. QueueError, listing each queue's reason, if none fits."""
    fits: list[tuple[int, Estimate]] = []
    rejected: list[Rejection] = []
    for i, queue in enumerate(platform.queues):
        problems = _auto_problems(queue, resources, internet)
        if problems:
            rejected.append(Rejection(queue, tuple(problems)))
        else:
            fits.append((i, estimate_cost(queue, resources)))
    if not fits:
        reasons = "\n".join(f"  {r.queue.name}: {'; '.join(r.reasons)}" for r in rejected)
        raise QueueError(
            f"no queue on {platform.name} fits this job:\n{reasons}",
            hint="ask for less (cpus, memory, runtime), or split the job",
        )
    ranked = _sorted(fits)
    return QueueChoice(platform, ranked[0], tuple(ranked[1:]), tuple(rejected))


def explain(choice: QueueChoice) -> list[str]:
    """Why `--queue auto` chose what it chose, as lines for -v output."""
    chosen = choice.chosen
    count = len(choice.runners_up) + 1
    why = f"the cheapest of {count} queues that fit" if count > 1 else "the only queue that fits"
    lines = [
        f"queue auto on {choice.platform.name}: {chosen.queue.name}, {why}",
        f"  cost: {describe_estimate(chosen)} (charged on {chosen.charged_on})",
    ]
    lines += [f"  {note}" for note in chosen.filled]
    lines += [f"  also fits: {e.queue.name} {format_su(e.su)}" for e in choice.runners_up]
    lines += [f"  ruled out {r.queue.name}: {'; '.join(r.reasons)}" for r in choice.rejected]
    return lines
