"""Watch a project for changes: filesystem events, filtered by the push's own ignore rules,
coalesced into batches. Idle, it costs nothing: the observer thread blocks in the kernel
(inotify, FSEvents, ReadDirectoryChangesW) and so does the consumer."""

from __future__ import annotations

import os
import posixpath
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qxub.sync.ignore import IGNORE_FILE_NAMES, IgnoreRules

# Events that say nothing about content. Folders' own "modified" events only echo the
# creations and deletions inside them, which arrive as events of their own.
_QUIET_TYPES = {"opened", "closed_no_write"}


@dataclass
class Batch:
    paths: set[str] = field(default_factory=set)  # changed paths, relative to the root
    rules_changed: bool = False  # an ignore file changed: selection must be re-read
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

    def add(self, paths: set[str], rules_changed: bool = False) -> None:
        with self._cond:
            now = self.clock()
            if not self._batch.events:
                self._first = now
            self._last = now
            self._batch.paths |= paths
            self._batch.rules_changed |= rules_changed
            self._batch.events += 1
            self._cond.notify_all()

    def next_batch(self, timeout: float | None = None) -> Batch | None:
        """Block until a batch is ready; None if `timeout` passes with no event at all."""
        with self._cond:
            if not self._batch.events and not self._cond.wait_for(
                lambda: self._batch.events > 0, timeout
            ):
                return None
            while True:
                now = self.clock()
                ready = min(self._last + self.quiet, self._first + self.cap)
                if now >= ready:
                    batch, self._batch = self._batch, Batch()
                    return batch
                self._cond.wait(ready - now)


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
            name = posixpath.basename(rel)
            if rel.split("/")[0] == ".git":
                if rel == ".git/info/exclude":
                    rules_changed = True
                continue
            if name in IGNORE_FILE_NAMES:
                rules_changed = True
            with self.lock:
                if rules_changed:
                    self.rules.reload(rel if name in IGNORE_FILE_NAMES else None)
                try:
                    ignored = self.rules.is_ignored(rel, event.is_directory)
                except (ValueError, OSError):
                    ignored = False
            if not ignored:
                paths.add(rel)
        if paths or rules_changed:
            self.batcher.add(paths, rules_changed)


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
