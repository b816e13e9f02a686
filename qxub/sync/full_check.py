"""The full check of a push, from one listing of the mirror: which selected files rsync would
find different there, so that only those go in its file list (rsync reads a list one byte per
`read()`; the whole selection's costs it seconds, a listing and a short list do not).

The comparison is rsync's quick check, and errs towards sending: a file is the same there
when it is there with the same kind, size and modification second, and with execute bits as
`rsync -E` leaves them; a link when it points to the same place. Anything else (missing,
different, not in the listing, a name the listing could not carry) goes in the list, where
rsync decides again.
"""

from __future__ import annotations

import math
import os
import re
import stat

from qxub.sync.entries import Selection

_RECORD = re.compile("([^\0]*)\0" * 6)  # kind, size, mtime, mode, link target, path


def _same_exec_bits(local_mode: int, there: int) -> bool:
    """rsync -E: an executable file is executable there where it is readable; else not."""
    if local_mode & 0o111:
        return (there & 0o444) >> 2 == there & 0o111
    return not there & 0o111


def differing(root: str, selection: Selection, listing: str) -> list[str]:
    """The selected files that rsync could find different from what `listing` (the mirror's,
    see remote/scripts.listing_script) says is there. The listing is read as a stream against
    the selection: nothing is kept per listed file. A name that could not be decoded (it holds
    U+FFFD) matches nothing: its file is sent."""
    files = selection.files
    index = {rel: i for i, rel in enumerate(files)}
    same = bytearray(len(files))
    sizes, mtimes, modes = selection.sizes, selection.mtimes, selection.modes
    for record in _RECORD.finditer(listing):
        kind, size, mtime, mode, target, path = record.groups()
        i = index.get(path[2:] if path.startswith("./") else path)
        if i is None or "\ufffd" in path:
            continue
        if stat.S_ISLNK(modes[i]):
            same[i] = kind == "l" and target == _link(root, files[i])
            continue
        try:
            seconds = math.floor(float(mtime))
            there_mode = int(mode, 8)
        except ValueError:
            continue
        same[i] = (
            kind == "f"
            and size == str(sizes[i])
            and seconds == mtimes[i] // 1_000_000_000
            and _same_exec_bits(modes[i], there_mode)
        )
    return [rel for rel, alike in zip(files, same, strict=True) if not alike]


def _link(root: str, rel: str) -> str | None:
    try:
        return os.fsdecode(os.readlink(os.path.join(root, rel)))
    except OSError:
        return None
