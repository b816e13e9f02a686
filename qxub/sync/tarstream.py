"""A few files as one tar stream (POSIX pax): what a small push sends in the same remote
command that checks the mirror and puts the files in place. Names are bytes as they are
(names that are not UTF-8 included), links stay links, and modification times keep their
nanoseconds (a pax `mtime` written exactly, not through a float)."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Sequence
from pathlib import Path


def tar_stream(root: Path, files: Sequence[str], under: str = "") -> bytes:
    """`files` (relative to `root`; files or symlinks) as a pax tar stream, each under its
    relative name, as they are now; with `under`, inside that folder (first in the stream,
    mode 0700). A file that is gone or is no longer a file or link raises OSError: the
    caller sends another way."""
    out = io.BytesIO()
    with tarfile.open(
        fileobj=out, mode="w", format=tarfile.PAX_FORMAT, errors="surrogateescape"
    ) as tar:
        if under:
            folder = tarfile.TarInfo(under)
            folder.type, folder.mode = tarfile.DIRTYPE, 0o700
            tar.addfile(folder)
        for rel in files:
            path = os.path.join(root, rel)
            info = os.lstat(path)
            member = tar.gettarinfo(path, arcname=f"{under}/{rel}" if under else rel)
            if not (member.isreg() or member.issym()):
                raise OSError(f"{rel} is no longer a file or a link")
            seconds, nanos = divmod(info.st_mtime_ns, 1_000_000_000)
            member.mtime = seconds
            member.pax_headers = {"mtime": f"{seconds}.{nanos:09d}"}
            member.uname = member.gname = ""
            if member.isreg():
                with open(path, "rb") as handle:
                    tar.addfile(member, handle)
            else:
                tar.addfile(member)
    return out.getvalue()
