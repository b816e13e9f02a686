"""Samples shared by the platform tests: the queues the built-in Gadi must have, and a small
user platform file, written into the test's own (isolated) config dir."""

from __future__ import annotations

import textwrap
from pathlib import Path

from qxub.platforms import user_platform_dir

GADI_QUEUES = [
    "normal",
    "express",
    "normalsl",
    "normalbw",
    "expressbw",
    "normalsr",
    "expresssr",
    "hugemem",
    "hugemembw",
    "megamem",
    "megamembw",
    "gpuvolta",
    "dgxa100",
    "copyq",
]


def write_user_platform(name: str, text: str) -> Path:
    folder = user_platform_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(textwrap.dedent(text))
    return path


SMALL = """\
    name: small
    scheduler: slurm
    hosts: ["login*.small.example.org"]
    queues:
      cheap:
        charge_rate: 1.0
        node_cpus: 8
        node_memory: 32GB
        walltime: [{up_to_cpus: 8, max: 2h}]
      fast:
        charge_rate: 1.0
        express: true
        node_cpus: 8
        node_memory: 32GB
        walltime: [{up_to_cpus: 8, max: 2h}]
      big:
        charge_rate: 1.0
        node_cpus: 8
        node_memory: 512GB
        min_memory: 64GB
        walltime: [{up_to_cpus: 8, max: 2h}]
"""
