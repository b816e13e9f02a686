"""A lock beside a file (`<file>.lock`), held across processes: one writer at a time of the
file it guards. Apart from the records that use it, so that taking it imports none of them."""

from __future__ import annotations

import contextlib

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold the lock of the file at `path` (made with its folder if need be) until the block
    ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+b") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks here; pushes are not concurrent there
            yield
            return
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
