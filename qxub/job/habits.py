"""The `-l` words PBS and Slurm users type by habit, read as the resources they name.

`-l ncpus=48,mem=190GB,walltime=10:00:00` means `--cpus 48 --mem 190GB --runtime 10h`, so queue
choice, limits, cost estimates and `--dry` see it, and the scheduler gets each resource once.
Slurm's spellings (`cpus-per-task`, `mem`, `time`, `gres=gpu:N`) are read the same way. Every
other word is passed on verbatim; `select=` is one of them, for the platforms that allow it
(`select_equivalent` words the refusal for those that do not).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qxub.errors import UsageError
from qxub.job.resources import format_size, parse_duration, parse_size
from qxub.record import record

# -l word -> the qxub option it means. The field names are Resources' own.
_FIELDS = {
    "ncpus": "cpus",
    "cpus-per-task": "cpus",
    "mem": "mem",
    "walltime": "runtime",
    "time": "runtime",
    "jobfs": "disk",
    "ngpus": "gpus",
    "storage": "storage",
}
OPTION_OF = {
    "cpus": "--cpus",
    "mem": "--mem",
    "runtime": "--runtime",
    "disk": "--disk",
    "gpus": "--gpus",
    "gpu_type": "--gpu-type",
    "storage": "--storage",
}
# `-l wd` (Gadi: start the job in the directory it was submitted from) is what qxub's job
# script does anyway (it enters the job's directory first), so the word asks for nothing more.
_ALREADY_DONE = ("wd",)
_GRES_GPU_RE = re.compile(r"^gpu(?::(?P<type>[A-Za-z][\w.-]*))?(?::(?P<count>\d+))?$")


@record(frozen=True)
class LWords:
    """What `-l` said: resources by Resources field (value and the word as typed), and the
    words passed on verbatim."""

    named: dict[str, tuple[object, str]]
    verbatim: tuple[tuple[str, str], ...]


def read_l_words(pairs: Sequence[tuple[str, str]]) -> LWords:
    """Sort `-l` KEY=VALUE pairs into the resources they name and the rest; the same resource
    named twice is a UsageError naming both words."""
    named: dict[str, tuple[object, str]] = {}
    verbatim: list[tuple[str, str]] = []

    def put(field: str, value: object, typed: str) -> None:
        if field in named:
            raise UsageError(
                f"-l {named[field][1]} and -l {typed} both ask for {OPTION_OF[field][2:]}",
                hint="give each resource once",
            )
        named[field] = (value, typed)

    for key, value in pairs:
        typed = f"{key}={value}" if value else key
        word = key.lower()
        if word in _ALREADY_DONE:
            continue
        if word == "gres" and value.startswith("gpu"):
            match = _GRES_GPU_RE.match(value)
            if match is None:
                raise UsageError(f"-l {typed}: not gpu[:TYPE][:COUNT]", hint="e.g. -l gres=gpu:2")
            put("gpus", int(match["count"] or 1), typed)
            if match["type"]:
                put("gpu_type", match["type"], typed)
            continue
        field = _FIELDS.get(word)
        if field is None:
            verbatim.append((key, value))
            continue
        put(field, _convert(field, value, typed), typed)
    return LWords(named, tuple(verbatim))


def key_of(typed: str) -> str:
    return typed.partition("=")[0]


def _convert(field: str, value: str, typed: str) -> object:
    where = f"-l {typed}"
    if field in ("cpus", "gpus"):
        if not value.isdigit() or int(value) < 1:
            raise UsageError(
                f"{where}: not a whole number of {field}", hint=f"e.g. -l {key_of(typed)}=4"
            )
        return int(value)
    if field in ("mem", "disk"):
        return parse_size(value, where)
    if field == "runtime":
        return parse_duration(value, where)
    if not value:
        raise UsageError(f"{where}: needs a value", hint="e.g. -l storage=scratch/a56+gdata/a56")
    return value


def select_equivalent(select: str) -> str:
    """`2:ncpus=48:mem=190GB` -> '--cpus 96 --mem 380GB': the same request in qxub's words, for
    platforms that refuse `-l select`."""
    parts = select.split(":")
    count = int(parts.pop(0)) if parts and parts[0].isdigit() else 1
    words: list[str] = []
    for part in parts:
        key, _, value = part.partition("=")
        field = _FIELDS.get(key.lower())
        if field in ("cpus", "gpus") and value.isdigit():
            words.append(f"{OPTION_OF[field]} {int(value) * count}")
        elif field in ("mem", "disk"):
            try:
                words.append(f"{OPTION_OF[field]} {format_size(parse_size(value) * count)}")
            except UsageError:
                words.append(f"-l {part}")
        elif field is not None:
            words.append(f"-l {part}")
    return " ".join(words) or "--cpus N --mem SIZE"
