"""Platform and Queue: what a cluster offers, read from a platform YAML file and validated once.

A platform file looks like this (every size is binary, 1GB = 1024**3 bytes; every duration is a
quoted string such as "48h" or "30m"):

    name: nci_gadi                 # optional; defaults to the file's stem
    description: NCI Gadi, Canberra
    scheduler: pbs                 # pbs | slurm | local
    hosts: ["gadi-*"]              # fnmatch patterns, case-insensitive, tried on the full host name
    default_queue: normal          # optional
    select: false                  # the site refuses `-l select=...` (default: true)
    storage_paths:                 # -l storage gains KIND/P for the job's paths under PREFIX/P/
      /scratch: scratch
      /g/data: gdata
    queues:
      normal:
        description: Cascade Lake, normal priority
        charge_rate: 2.0           # SU per resource-hour
        node_cpus: 48              # cores per node
        node_memory: 192GB         # memory per node that the charge divides by (memory per cpu)
        max_memory: 190GB          # largest request per node (default: node_memory)
        min_memory: 64GB           # smallest request per node (default: none)
        max_jobfs: 400GB           # node-local disk per node (default: no limit)
        min_cpus: 1
        max_cpus: 20736            # default: the last walltime step
        cpus_multiple_of: 1        # cpus must be a multiple of this
        whole_nodes: true          # a job larger than one node must ask for whole nodes
        min_gpus: 0
        max_gpus: 0
        gpu_type: null             # e.g. v100
        cpus_per_gpu: null         # a GPU job's cpus are exactly gpus x this
        node_gpus: null            # GPUs per node, for display
        walltime:                  # steps, ascending: up to N cpus, at most this long
          - {up_to_cpus: 672, max: 48h}
          - {up_to_cpus: 1440, max: 24h}
        internet: false            # jobs can reach the internet
        express: false             # higher priority at a higher rate; loses ties in cost
        auto: true                 # false: --queue auto picks it only for an internet job

Unknown keys and wrong types are a ConfigError naming the file, the key path and the valid keys.
"""

from __future__ import annotations

from collections.abc import Mapping

from qxub.job.resources import format_size
from qxub.record import record
from qxub.schedulers.registry import NAMES
from qxub.schema import Reader, join, kind

SCHEDULERS = NAMES  # what a platform's `scheduler:` may name


@record(frozen=True)
class WalltimeStep:
    """Jobs of up to `up_to_cpus` cpus may run at most `max_walltime` seconds."""

    up_to_cpus: int
    max_walltime: int


@record(frozen=True)
class Queue:
    """One queue's limits and charge. Sizes in bytes, times in seconds, limits per node."""

    name: str
    charge_rate: float
    node_cpus: int
    node_memory: int
    walltime: tuple[WalltimeStep, ...]
    description: str = ""
    max_memory: int | None = None
    min_memory: int | None = None
    max_jobfs: int | None = None
    min_cpus: int = 1
    max_cpus: int = 1
    cpus_multiple_of: int = 1
    whole_nodes: bool = True
    min_gpus: int = 0
    max_gpus: int = 0
    gpu_type: str | None = None
    cpus_per_gpu: int | None = None
    node_gpus: int | None = None
    internet: bool = False
    express: bool = False
    auto: bool = True

    @property
    def memory_per_cpu(self) -> float:
        """Bytes of memory that cost as much as one cpu."""
        return self.node_memory / self.node_cpus

    def max_walltime(self, cpus: int) -> int | None:
        """The longest a job of `cpus` cpus may run, or None above the last step."""
        for step in self.walltime:
            if cpus <= step.up_to_cpus:
                return step.max_walltime
        return None

    def summary(self) -> str:
        """One line for `qxub platform show`."""
        parts = [f"{self.charge_rate:g} SU/h", f"{cpus(self.node_cpus)} per node"]
        parts.append(f"{format_size(self.max_memory or self.node_memory)} memory per node")
        if self.min_memory:
            parts.append(f"at least {format_size(self.min_memory)}")
        if self.max_gpus:
            per_node = f"{self.node_gpus} " if self.node_gpus else ""
            parts.append(f"{per_node}{self.gpu_type or 'GPU'} GPUs per node")
        if self.max_jobfs is not None:
            parts.append(f"jobfs {format_size(self.max_jobfs)} per node")
        steps = ", ".join(
            f"{format_hours(s.max_walltime)} up to {cpus(s.up_to_cpus)}" for s in self.walltime
        )
        parts.append(f"walltime {steps}")
        if self.internet:
            parts.append("internet")
        return ", ".join(parts)


@record(frozen=True)
class Platform:
    """A cluster: its scheduler, how to recognise its hosts, and its queues in file order."""

    name: str
    scheduler: str
    queues: tuple[Queue, ...]
    description: str = ""
    hosts: tuple[str, ...] = ()
    default_queue: str | None = None
    select: bool = True  # whether the site accepts `-l select=...`
    # path prefix -> storage kind: a job using /scratch/a56/... needs -l storage=scratch/a56
    storage_paths: tuple[tuple[str, str], ...] = ()
    source: str = ""  # the file it came from, for messages

    @property
    def queue_names(self) -> list[str]:
        return [q.name for q in self.queues]

    def queue(self, name: str) -> Queue | None:
        """The queue called `name`, or None."""
        return next((q for q in self.queues if q.name == name), None)


_PLATFORM_KEYS = (
    "name",
    "description",
    "scheduler",
    "hosts",
    "default_queue",
    "select",
    "storage_paths",
    "queues",
)
_QUEUE_KEYS = (
    "description",
    "charge_rate",
    "node_cpus",
    "node_memory",
    "max_memory",
    "min_memory",
    "max_jobfs",
    "min_cpus",
    "max_cpus",
    "cpus_multiple_of",
    "whole_nodes",
    "min_gpus",
    "max_gpus",
    "gpu_type",
    "cpus_per_gpu",
    "node_gpus",
    "walltime",
    "internet",
    "express",
    "auto",
)
_STEP_KEYS = ("up_to_cpus", "max")


def cpus(count: int) -> str:
    """'1 cpu', '48 cpus'."""
    return f"{count} cpu" if count == 1 else f"{count} cpus"


def format_hours(seconds: int) -> str:
    """Walltimes in hours, as Gadi publishes them: 172800 -> '48h', 5430 -> '1h30m30s'."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(hours, "h"), (minutes, "m"), (secs, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"


def parse_platform(data: object, source: str, default_name: str) -> Platform:
    """Validate one platform file's parsed YAML into a Platform (ConfigError if it is wrong)."""
    r = Reader(source)
    top = r.mapping(data, "", _PLATFORM_KEYS)
    name = r.string(top["name"], "name") if top.get("name") is not None else default_name
    scheduler = r.string(r.require(top, "scheduler", ""), "scheduler")
    if scheduler not in SCHEDULERS:
        r.fail("scheduler", f"unknown scheduler {scheduler!r}", hint=f"one of {SCHEDULERS}")
    raw_queues = r.require(top, "queues", "")
    if not isinstance(raw_queues, Mapping) or not raw_queues:
        r.fail("queues", f"expected a mapping of queue names to queues, got {kind(raw_queues)}")
    queues = tuple(
        _parse_queue(r, str(qname), qdata, f"queues.{qname}") for qname, qdata in raw_queues.items()
    )
    default_queue = None
    if top.get("default_queue") is not None:
        default_queue = r.string(top["default_queue"], "default_queue")
        if default_queue not in [q.name for q in queues]:
            r.fail("default_queue", f"no queue called {default_queue!r} in this file")
    return Platform(
        name=name,
        scheduler=scheduler,
        queues=queues,
        description=r.string(top["description"], "description") if top.get("description") else "",
        hosts=r.strings(top["hosts"], "hosts") if top.get("hosts") is not None else (),
        default_queue=default_queue,
        select=r.boolean(top["select"], "select") if top.get("select") is not None else True,
        storage_paths=_storage_paths(r, top.get("storage_paths")),
        source=source,
    )


def _storage_paths(r: Reader, value: object) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    example = "storage_paths: {/scratch: scratch, /g/data: gdata}"
    raw = r.any_keys(value, "storage_paths", "a mapping of path prefixes to storage kinds", example)
    pairs = []
    for prefix, kind_ in raw.items():
        where = join("storage_paths", prefix)
        if not prefix.startswith("/"):
            r.fail(where, "a path prefix must be absolute", example)
        pairs.append((prefix.rstrip("/"), r.string(kind_, where)))
    return tuple(pairs)


def _parse_queue(r: Reader, name: str, value: object, path: str) -> Queue:
    d = r.mapping(value, path, _QUEUE_KEYS)

    def opt_int(key: str, default: int, minimum: int = 0) -> int:
        v = d.get(key)
        return default if v is None else r.integer(v, join(path, key), minimum)

    def opt_size(key: str) -> int | None:
        v = d.get(key)
        return None if v is None else r.size(v, join(path, key))

    def opt_bool(key: str, default: bool) -> bool:
        v = d.get(key)
        return default if v is None else r.boolean(v, join(path, key))

    node_cpus = r.integer(r.require(d, "node_cpus", path), join(path, "node_cpus"), 1)
    steps = _parse_steps(r, r.require(d, "walltime", path), join(path, "walltime"))
    max_cpus = opt_int("max_cpus", steps[-1].up_to_cpus, 1)
    if max_cpus > steps[-1].up_to_cpus:
        r.fail(
            join(path, "max_cpus"),
            f"{max_cpus} is more than the last walltime step ({steps[-1].up_to_cpus} cpus)",
        )
    min_cpus = opt_int("min_cpus", 1, 1)
    if min_cpus > max_cpus:
        r.fail(join(path, "min_cpus"), f"{min_cpus} is more than max_cpus ({max_cpus})")
    cpus_per_gpu = d.get("cpus_per_gpu")
    node_gpus = d.get("node_gpus")
    queue = Queue(
        name=name,
        description=r.string(d["description"], join(path, "description"))
        if d.get("description")
        else "",
        charge_rate=r.number(r.require(d, "charge_rate", path), join(path, "charge_rate")),
        node_cpus=node_cpus,
        node_memory=r.size(r.require(d, "node_memory", path), join(path, "node_memory")),
        max_memory=opt_size("max_memory"),
        min_memory=opt_size("min_memory"),
        max_jobfs=opt_size("max_jobfs"),
        min_cpus=min_cpus,
        max_cpus=max_cpus,
        cpus_multiple_of=opt_int("cpus_multiple_of", 1, 1),
        whole_nodes=opt_bool("whole_nodes", True),
        min_gpus=opt_int("min_gpus", 0),
        max_gpus=opt_int("max_gpus", 0),
        gpu_type=r.string(d["gpu_type"], join(path, "gpu_type")).lower()
        if d.get("gpu_type") is not None
        else None,
        cpus_per_gpu=None
        if cpus_per_gpu is None
        else r.integer(cpus_per_gpu, join(path, "cpus_per_gpu"), 1),
        node_gpus=None if node_gpus is None else r.integer(node_gpus, join(path, "node_gpus"), 1),
        walltime=steps,
        internet=opt_bool("internet", False),
        express=opt_bool("express", False),
        auto=opt_bool("auto", True),
    )
    if queue.min_gpus > queue.max_gpus:
        r.fail(join(path, "min_gpus"), f"{queue.min_gpus} is more than max_gpus")
    if queue.min_memory and queue.min_memory > (queue.max_memory or queue.node_memory):
        r.fail(join(path, "min_memory"), "is more than the queue's largest memory request")
    return queue


def _parse_steps(r: Reader, value: object, path: str) -> tuple[WalltimeStep, ...]:
    if not isinstance(value, list) or not value:
        r.fail(path, f"expected a list of {{up_to_cpus: N, max: '48h'}} steps, got {kind(value)}")
    steps: list[WalltimeStep] = []
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        d = r.mapping(item, where, _STEP_KEYS)
        up_to = r.integer(r.require(d, "up_to_cpus", where), f"{where}.up_to_cpus", 1)
        longest = r.duration(r.require(d, "max", where), f"{where}.max")
        if steps and up_to <= steps[-1].up_to_cpus:
            r.fail(f"{where}.up_to_cpus", "steps must go up in cpus")
        steps.append(WalltimeStep(up_to, longest))
    return tuple(steps)
