"""`qxub remote watch`: a full push, then a push of each change, until Ctrl-C."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from qxub.errors import QxubError
from qxub.job.resources import format_duration, format_size_human
from qxub.mirroring.in_use import say_in_use
from qxub.mirroring.push import Pusher
from qxub.mirroring.report import files, say_conflicts
from qxub.remote.config import Remote
from qxub.sync.ignore import IgnoreRules
from qxub.sync.watch import Batcher, ProjectEvents, start_observer

Say = Callable[[str], None]
RETRY_FIRST, RETRY_MOST = 1.0, 8.0


def _stamp() -> str:
    return time.strftime("%H:%M:%S")


def watch(
    remote: Remote,
    cwd: Path,
    remote_path: str | None,
    say: Say,
    *,
    quiet_period: float = 0.1,
    cap: float = 1.0,
    verbose: int = 0,
) -> int:
    """Keep the mirror in step with the project; returns 0 when stopped with Ctrl-C."""
    pusher = Pusher(remote, cwd, remote_path)
    batcher = Batcher(quiet=quiet_period, cap=cap)
    rules = IgnoreRules(pusher.root, remote.sync_ignore)
    observer = start_observer(pusher.root, ProjectEvents(pusher.root, rules, batcher))
    try:
        # Events from now on are queued, so nothing saved during the first push is missed.
        first = pusher.push(full=True)
        transfer, selected = first.transfer, first.selected
        say_conflicts(remote.name, first.conflicts, say)
        say_in_use(remote.name, pusher.root, bool(transfer.sent or transfer.deleted), say)
        say(
            f"{_stamp()} pushed {files(len(transfer.sent))} "
            f"({format_size_human(transfer.sent_bytes)}); {remote.name}:{pusher.path} "
            f"mirrors {files(selected)}; watching for changes (Ctrl-C stops)"
        )
        _loop(pusher, batcher, remote.name, say, verbose)
    except KeyboardInterrupt:
        say(f"{_stamp()} stopped watching")
        return 0
    finally:
        observer.stop()
    return 0


def _loop(pusher: Pusher, batcher: Batcher, name: str, say: Say, verbose: int) -> None:
    pending: set[str] = set()
    reported: set[str] = set()  # conflicts already said
    retry: float | None = None  # seconds until the next try, while the connection is down
    while True:
        batch = batcher.next_batch(timeout=retry)
        if batch is not None:
            pending |= batch.paths
        elif retry is None:
            continue
        started = time.monotonic()
        try:
            result = pusher.push(also=pending)
        except QxubError as exc:
            if retry is None:
                first = str(exc).strip().splitlines()[0]
                say(f"{_stamp()} cannot push to {name} ({first}); retrying, changes are kept")
                retry = RETRY_FIRST
            else:
                retry = min(retry * 2, RETRY_MOST)
            continue
        if retry is not None:
            say(f"{_stamp()} {name} is back; pushed what changed meanwhile")
            retry = None
        pending.clear()
        transfer = result.transfer
        say_conflicts(name, [c for c in result.conflicts if c not in reported], say)
        reported = set(result.conflicts)
        if not transfer.sent and not transfer.deleted:
            continue
        took = format_duration(time.monotonic() - started)
        done = []
        if transfer.sent:
            size = format_size_human(transfer.sent_bytes)
            done.append(f"sent {files(len(transfer.sent))} ({size})")
        if transfer.deleted:
            done.append(f"deleted {len(transfer.deleted)}")
        say(f"{_stamp()} {', '.join(done)} [{took}]")
        if verbose:
            for rel, _ in transfer.sent:
                say(f"  sent {rel}")
            for rel in transfer.deleted:
                say(f"  deleted {rel}")
        say_in_use(name, pusher.root, True, say)
