"""Pick the scheduler engine: --scheduler, else the platform's type, else what is on PATH."""

from __future__ import annotations

import os
import shutil

from qxub.errors import UsageError
from qxub.schedulers import NAMES
from qxub.schedulers.base import Scheduler

__all__ = ["NAMES", "get_scheduler"]


def get_scheduler(name: str) -> Scheduler:
    """The engine called `name`."""
    if name == "local":
        from qxub.schedulers.local import LocalScheduler

        return LocalScheduler()
    if name == "pbs":
        from qxub.schedulers.pbs import PbsScheduler

        return PbsScheduler()
    if name == "slurm":
        from qxub.schedulers.slurm import SlurmScheduler

        return SlurmScheduler()
    raise UsageError(f"unknown scheduler {name!r}", hint=f"choose one of: {', '.join(NAMES)}")


def detect_scheduler_name(requested: str | None, platform_type: str | None) -> str:
    """--scheduler, else the platform's type, else qsub -> pbs, sbatch -> slurm, else local."""
    if requested:
        return requested
    if platform_type:
        return platform_type
    if shutil.which("qsub"):
        return "pbs"
    if shutil.which("sbatch") and slurm_configured():
        return "slurm"
    return "local"


def slurm_configured() -> bool:
    """Whether Slurm's client has a cluster to talk to: the client alone (a package installed
    for its man pages, say) is not a cluster."""
    if os.environ.get("SLURM_CONF"):
        return True
    return any(os.path.exists(p) for p in ("/etc/slurm/slurm.conf", "/etc/slurm-llnl/slurm.conf"))
