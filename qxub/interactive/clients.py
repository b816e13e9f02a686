"""How each scheduler runs a job on a terminal: the interactive client's command line, built
from the same directives as a batch job's, and what the client prints while the request waits
in the queue and once the job starts."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from pathlib import Path

from qxub.record import record

# Directives that send a batch job's output to files: an interactive job writes to its
# terminal (`srun --output` would even take the pty's output away).
_DROPPED = {
    "pbs": ("-o", "-e", "-j"),
    "slurm": ("--output", "--error"),
}


@record(frozen=True)
class Client:
    """One scheduler's interactive client."""

    scheduler: str
    prefix: str  # the directive lines' prefix (#PBS, #SBATCH), "" for none
    waiting: re.Pattern[bytes] | None  # what it prints when the request must wait; group 1: id
    started: re.Pattern[bytes] | None  # what it prints when a waiting request got its node
    # Whether the client passes window size changes on (`qsub -I` sends only the first size:
    # the job script then follows a file qxub rewrites at each resize).
    resizes: bool = True

    def argv(self, script: Path, directives: Sequence[str]) -> list[str]:
        """The command that runs `script` with a terminal, on a node the scheduler gives."""
        options = _options(directives, self.prefix, _DROPPED.get(self.scheduler, ()))
        shell = ["/bin/bash", str(script)]
        if self.scheduler == "pbs":
            return ["qsub", "-I", *options, "--", *shell]
        if self.scheduler == "slurm":
            return ["srun", "--pty", *options, *shell]
        return shell


CLIENTS = {
    "local": Client("local", "", None, None),
    "pbs": Client(
        "pbs",
        "#PBS",
        re.compile(rb"qsub: waiting for job (\S+) to start"),
        re.compile(rb"qsub: job \S+ ready"),
        resizes=False,
    ),
    "slurm": Client(
        "slurm",
        "#SBATCH",
        re.compile(rb"srun: job (\d+) queued and waiting for resources"),
        re.compile(rb"srun: job \d+ has been allocated resources"),
    ),
}


def _options(directives: Sequence[str], prefix: str, dropped: Sequence[str]) -> list[str]:
    words: list[str] = []
    for line in directives:
        if not prefix or not line.startswith(prefix + " "):
            continue
        option = shlex.split(line[len(prefix) + 1 :])
        if option and option[0].split("=", 1)[0] in dropped:
            continue
        words += option
    return words
