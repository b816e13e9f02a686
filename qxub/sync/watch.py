"""Watch a project for changes: filesystem events, filtered by the push's own ignore rules,
coalesced into batches. Idle, it costs nothing: the observer thread blocks in the kernel
(inotify, FSEvents, ReadDirectoryChangesW) and so does the consumer."""

from __future__ import annotations

import os
import posixpath
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qxub.record import field, record
from qxub.sync.ignore import IGNORE_FILE_NAMES, IgnoreRules

# Events that say nothing about content. Folders' own "modified" events only echo the
# creations and deletions inside them, which arrive as events of their own.
_QUIET_TYPES = {"opened", "closed_no_write"}
# The repository's own ignore file, relative to a project at the top of its worktree.
GIT_EXCLUDE = ".git/info/exclude"


@record
class Batch:
    """Paths changed (relative to the root) since the last batch. A batch may hold no paths:
    an ignore file changed, and the push must look at the selection again."""

    paths: set[str] = field(default_factory=set)
    events: int = 0


class Batcher:
    """Collects paths from the observer thread; hands them out in batches once events pause
    for `quiet` seconds, or at the latest `cap` seconds after the first of a batch."""

    def __init__(
        self, quiet: float = 0.1, cap: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.quiet = quiet
        self.cap = cap
        self.clock = clock
        self._cond = threading.Condition()
        self._batch = Batch()
        self._first = 0.0
        self._last = 0.0

    def add(self, paths: set[str]) -> None:
        with self._cond:
            now = self.clock()
            if not self._batch.events:
                self._first = now
            self._last = now
            self._batch.paths |= paths
            self._batch.events += 1
            self._cond.notify_all()

    def take(self) -> Batch | None:
        """The batch if it is ready by the clock, else None; never waits."""
        with self._cond:
            return self._take_if_ready(self.clock())

    def next_batch(self, timeout: float | None = None) -> Batch | None:
        """Block until a batch is ready; None if `timeout` passes with no event at all."""
        with self._cond:
            if not self._batch.events and not self._cond.wait_for(
                lambda: self._batch.events > 0, timeout
            ):
                return None
            while True:
                now = self.clock()
                batch = self._take_if_ready(now)
                if batch is not None:
                    return batch
                self._cond.wait(self._ready_at() - now)

    def _ready_at(self) -> float:
        return min(self._last + self.quiet, self._first + self.cap)

    def _take_if_ready(self, now: float) -> Batch | None:
        if not self._batch.events or now < self._ready_at():
            return None
        batch, self._batch = self._batch, Batch()
        return batch


class ProjectEvents:
    """Turns raw watchdog events into relevant project paths for a Batcher."""

    def __init__(self, root: Path, rules: IgnoreRules, batcher: Batcher) -> None:
        self.root = os.fsencode(os.path.abspath(root))
        self.rules = rules
        self.batcher = batcher
        self.lock = threading.Lock()

    def _relative(self, path: str | bytes) -> str | None:
        raw = os.fsencode(path)
        if not raw.startswith(self.root + b"/"):
            return None
        return os.fsdecode(raw[len(self.root) + 1 :])

    def dispatch(self, event: Any) -> None:
        """Called by watchdog's thread for every event."""
        if event.event_type in _QUIET_TYPES or (
            event.is_directory and event.event_type == "modified"
        ):
            return
        paths: set[str] = set()
        rules_changed = False
        for raw in (event.src_path, getattr(event, "dest_path", "") or ""):
            rel = self._relative(raw) if raw else None
            if not rel:
                continue
            if rel.split("/")[0] == ".git":
                if rel == GIT_EXCLUDE:
                    rules_changed = True
                    with self.lock:
                        self.rules.reload()  # everything: the exclude file applies everywhere
                continue
            with self.lock:
                if posixpath.basename(rel) in IGNORE_FILE_NAMES:
                    rules_changed = True
                    self.rules.reload(rel)  # its folder and those below
                try:
                    ignored = self.rules.is_ignored(rel, event.is_directory)
                except (ValueError, OSError):
                    ignored = False
            if not ignored:
                paths.add(rel)
        # A rules change alone makes a batch too: files it brings in must be pushed.
        if paths or rules_changed:
            self.batcher.add(paths)


def start_observer(root: Path, events: ProjectEvents) -> Any:
    """A running watchdog observer that feeds `events` (watchdog is imported only here)."""
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: Any) -> None:
            events.dispatch(event)

    observer = Observer()
    observer.schedule(Handler(), os.fspath(root), recursive=True)
    observer.daemon = True
    observer.start()
    return observer
