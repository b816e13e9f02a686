"""Platforms: what a cluster's queues offer and charge, and which queue a job should go to.

Platform definitions are YAML files (schema in `model.py`): built-ins shipped as package data
(`nci_gadi.yaml`) and the user's own in `$XDG_CONFIG_HOME/qxub/platforms/`, which override
built-ins of the same name. They are read on the machine that submits the job, never on a
laptop that forwards to a remote.

    load_platform("nci_gadi")                       -> Platform
    detect_platform(host_names())                  -> Platform | None  ($QXUB_PLATFORM wins)
    choose_queue(platform, resources)               -> QueueChoice      (--queue auto)
    check_queue(platform, "normal", resources)      -> Estimate         (explicit -q)
    estimate(platform, "normal", resources)         -> Estimate         (price only)
"""

from qxub.platforms.loader import (
    ENV_PLATFORM,
    detect_platform,
    host_names,
    list_platforms,
    load_platform,
    matches_host,
    user_platform_dir,
)
from qxub.platforms.model import SCHEDULERS, Platform, Queue, WalltimeStep, parse_platform
from qxub.platforms.select import (
    DEFAULT_RUNTIME,
    Estimate,
    QueueChoice,
    QueueError,
    Rejection,
    check_queue,
    choose_queue,
    describe_estimate,
    estimate,
    estimate_cost,
    explain,
    format_su,
    queue_problems,
)

__all__ = [
    "DEFAULT_RUNTIME",
    "ENV_PLATFORM",
    "SCHEDULERS",
    "Estimate",
    "Platform",
    "Queue",
    "QueueChoice",
    "QueueError",
    "Rejection",
    "WalltimeStep",
    "check_queue",
    "choose_queue",
    "describe_estimate",
    "detect_platform",
    "estimate",
    "estimate_cost",
    "explain",
    "format_su",
    "host_names",
    "list_platforms",
    "load_platform",
    "matches_host",
    "parse_platform",
    "queue_problems",
    "user_platform_dir",
]
