"""What a sync engine does, whichever carries the bytes (rsync, or SFTP where rsync is missing).

The decisions (which files, what may be deleted, what a pull may overwrite) are taken before an
engine is called; an engine only moves the files it is given, with rsync's rules: unchanged
files (same size and modification second) are skipped, links stay links, modification times
and execute bits are kept, owners are not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from qxub.record import field, record


@record
class Transfer:
    """What one engine run did (or, with dry_run, would do)."""

    sent: list[tuple[str, int]] = field(default_factory=list)  # (path, size) of files sent
    deleted: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def sent_bytes(self) -> int:
        return sum(size for _, size in self.sent)


Progress = Callable[[Transfer], None]


class SyncEngine(Protocol):
    """Moves files between the project (here) and its mirror (there)."""

    @property
    def name(self) -> str: ...

    def push(
        self,
        root: Path,
        files: Sequence[str],
        deleted: Sequence[str],
        remote_path: str,
        *,
        dry_run: bool = False,
        force_times: bool = False,
        progress: Progress | None = None,
    ) -> Transfer:
        """Send `files` (relative to `root`) that differ there, and delete `deleted` there.
        `force_times` sends them even when size and modification time match."""
        ...

    def plan_pull(self, root: Path, paths: Sequence[str], remote_path: str) -> Transfer:
        """The files under `paths` there (folders recursively) that differ from those here."""
        ...

    def fetch(
        self,
        remote_path: str,
        files: Sequence[str],
        dest: Path,
        *,
        progress: Progress | None = None,
    ) -> Transfer:
        """Copy `files` from the mirror into the folder `dest`, under the same relative paths."""
        ...
