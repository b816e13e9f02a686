"""Job arrays: `--array 1-10`, `1-100:2`, `1,3,7` (or a mix, `1-3,7`) -> the sub-jobs' indices.

Every scheduler gets the text in its own words (PBS `-J`, which takes one range; Slurm
`--array`; the local runner runs the indices itself). Each sub-job finds its index in
$QXUB_ARRAY_INDEX and writes its files into `<log dir>/<index>/`.
"""

from __future__ import annotations

import re

from qxub.errors import UsageError

MAX_SUBJOBS = 10000
_ITEM_RE = re.compile(r"^(?P<start>\d+)(?:-(?P<end>\d+)(?::(?P<step>\d+))?)?$")
HINT = "e.g. --array 1-10, --array 1-100:2 or --array 1,3,7"


def array_indices(text: str) -> tuple[int, ...]:
    """The indices `text` names, ascending and each once; UsageError if it names none or
    is not an array spec."""
    indices: set[int] = set()
    for item in text.split(","):
        match = _ITEM_RE.match(item.strip())
        if match is None:
            raise UsageError(f"--array {text}: {item.strip()!r} is not N, A-B or A-B:STEP", HINT)
        start = int(match["start"])
        end = int(match["end"]) if match["end"] is not None else start
        step = int(match["step"]) if match["step"] is not None else 1
        if end < start or step < 1:
            raise UsageError(f"--array {text}: {item.strip()} is an empty range", hint=HINT)
        if (end - start) // step + 1 + len(indices) > MAX_SUBJOBS:
            raise UsageError(
                f"--array {text} names more than {MAX_SUBJOBS} sub-jobs",
                hint="split the work into fewer, larger sub-jobs",
            )
        indices.update(range(start, end + 1, step))
    return tuple(sorted(indices))


def single_range(text: str) -> tuple[int, int, int] | None:
    """(start, end, step) when `text` is one range of two or more indices (what PBS's -J
    takes), else None."""
    match = _ITEM_RE.match(text.strip())
    if match is None or match["end"] is None:
        return None
    start, end, step = int(match["start"]), int(match["end"]), int(match["step"] or 1)
    return (start, end, step) if end > start else None
