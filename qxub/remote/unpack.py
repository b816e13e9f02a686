"""The remote end of a first push by stream: a tar archive (GNU tar, zstd-compressed over a
network) read from stdin, unpacked into a fresh folder inside the mirror, then renamed into
place, so that nothing ever stands half-written under a real name there."""

from __future__ import annotations

import shlex

# What `stream_tools_script` prints when the remote can unpack a stream, and with what.
GNU_TAR, ZSTD = "gnutar=1", "zstd=1"
TOOLS_PROBE = [
    "tar --version 2>/dev/null | head -n 1 | grep -q 'GNU tar' && printf 'gnutar=1\\0'",
    "command -v zstd >/dev/null 2>&1 && printf 'zstd=1\\0'",
]
# tar as rsync -ltE sets what it writes: links as links, times kept, execute bits as here,
# the remote's umask for the rest; owners never (GNU tar keeps them when run by root).
UNPACK = "tar -x -f - --no-same-owner --no-same-permissions"


def unpack_script(path: str, stage: str, *, compressed: bool) -> list[str]:
    """Unpack the archive on stdin into `stage` (a folder in the mirror at `path`, made
    fresh: one a killed push left is removed), then move each of its entries into the mirror,
    unless something stands there already. Prints NUL-ended fields: `moved=1` when every entry
    moved, `left=1` when something stood in the way (the stage is then removed, and what it
    held did not land). A failed unpack removes the stage and exits with tar's code."""
    s = shlex.quote(stage)
    unpack = f"zstd -d -q | {UNPACK}" if compressed else UNPACK
    return [
        "set -o pipefail",
        f"cd -- {shlex.quote(path)} || exit 97",
        f"rm -rf -- {s} && mkdir -- {s} || exit 97",
        f"(cd -- {s} && {unpack}) || {{ __e=$?; rm -rf -- {s}; exit $__e; }}",
        # `mv -n` leaves an entry whose name is taken there (a job wrote it meanwhile).
        f"find {s} -mindepth 1 -maxdepth 1 -exec mv -n -t . -- {{}} +",
        f"if rmdir -- {s} 2>/dev/null; then printf '\\0moved=1\\0'; else",
        f"  rm -rf -- {s}; printf '\\0left=1\\0'",
        "fi",
    ]
