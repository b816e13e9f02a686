"""The three-way rule, as Mutagen's one-way-safe mode and unison apply it: each path is seen
here, there and in the record of its last synced state (the base). A side that still equals
the base did not change; a side that differs changed, and a change is never overwritten or
deleted without --force.

Push (here -> there): changed here and unchanged there -> send; deleted here and unchanged
there -> delete there; changed there (a job wrote it) -> a conflict, left alone. Pull (there ->
here): changed there and unchanged here -> fetch; changed at both ends -> a conflict (the copy
from there is kept beside the one here). Equal at both ends -> recorded as synced, nothing
moves. A file that came from the remote is therefore never sent back unless edited here."""

from __future__ import annotations

import heapq
import itertools
import operator
from collections.abc import Mapping
from typing import NamedTuple

from qxub.record import field, record
from qxub.sync.manifest import Entry


class There(NamedTuple):
    """A path in the mirror: size, mtime in whole seconds, and "file", "link" or "dir"."""

    size: int
    mtime: int
    kind: str


def same(here: Entry | None, there: There | None) -> bool:
    """Do a copy here (or the base) and one there hold the same (size, second, kind)?"""
    if here is None or there is None:
        return here is None and there is None
    return (here.size, here.mtime_ns // 1_000_000_000, here.kind) == (
        there.size,
        there.mtime,
        there.kind,
    )


@record
class PushDecision:
    send: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    # Folders there that stand where a file is sent: removed first when qxub made them.
    replace_folders: list[str] = field(default_factory=list)
    in_sync: list[str] = field(default_factory=list)  # equal at both ends: record, move nothing
    forget: list[str] = field(default_factory=list)  # gone at both ends: out of the record
    conflicts: list[str] = field(default_factory=list)  # changed there since the base
    changed_there: list[str] = field(default_factory=list)  # only there: for a pull to bring


def decide_push(
    here: Mapping[str, Entry | None],
    base: dict[str, Entry],
    there: Mapping[str, There | None],
    *,
    from_remote: set[str] | frozenset[str] = frozenset(),
    touched: set[str] | frozenset[str] = frozenset(),
    force: bool = False,
) -> PushDecision:
    """What a push does with each path of `here` (None: gone here). `there` holds what the
    mirror has at these paths (None or absent: nothing). A path in `from_remote` (pulled, not
    sent since) that is gone here is left there: deleting a pulled copy frees space here."""
    decision = PushDecision()
    order = sorted(here)
    quiet = _as_synced_at_both_ends(order, here, base, there) - touched
    for rel in itertools.filterfalse(quiet.__contains__, order):
        local, last, remote = here[rel], base.get(rel), there.get(rel)
        if local is None and rel in from_remote:
            decision.forget.append(rel)
            continue
        if remote is not None and remote.kind == "dir":
            if local is None:
                decision.forget.append(rel)  # a folder there now: not ours to touch
            elif force or _owned_folder(rel, base):
                decision.replace_folders.append(rel)
                decision.send.append(rel)
            else:
                decision.conflicts.append(rel)
            continue
        if local is None:
            if remote is None:
                decision.forget.append(rel)
            elif force or same(last, remote):
                decision.delete.append(rel)
            else:
                decision.conflicts.append(rel)
            continue
        if last is not None and same(last, remote):  # unchanged there since the base
            if local != last or rel in touched:
                decision.send.append(rel)
            else:
                decision.in_sync.append(rel)
        elif same(local, remote):
            decision.in_sync.append(rel)
        elif remote is None:
            decision.send.append(rel)
        elif last is not None and local == last:
            decision.changed_there.append(rel)  # even --force leaves what only changed there
        elif force:
            decision.send.append(rel)
        else:
            decision.conflicts.append(rel)
    if quiet:
        synced = filter(quiet.__contains__, order)
        # Both in order: merged (heapq.merge is a Python step per path: only when needed).
        if decision.in_sync:
            decision.in_sync = list(heapq.merge(synced, decision.in_sync))
        else:
            decision.in_sync = list(synced)
    return decision


def _as_synced_at_both_ends(
    order: list[str],
    here: Mapping[str, Entry | None],
    base: dict[str, Entry],
    there: Mapping[str, There | None],
) -> set[str]:
    """The paths whose copy here is the record's own Entry (plan_push keeps it for a file
    as last synced) and whose copy there is as the record says: in sync, as the loop of
    decide_push finds them, but at C speed (most paths of a full push are these)."""
    lasts = list(map(base.get, order))
    kept = list(map(operator.is_, map(here.__getitem__, order), lasts))
    candidates = list(itertools.compress(order, kept))
    found = list(itertools.compress(lasts, kept))
    del lasts, kept
    if None in found:  # gone here and not in the record: not one of these
        pairs = [(rel, last) for rel, last in zip(candidates, found, strict=True) if last]
        candidates = [rel for rel, _ in pairs]
        found = [last for _, last in pairs]
    recorded: list[Entry] = found  # type: ignore[assignment]  # no None left
    seconds = map(operator.floordiv, map(_MTIME_NS, recorded), itertools.repeat(10**9))
    as_there = zip(map(_SIZE, recorded), seconds, map(_KIND, recorded), strict=True)
    equal = map(operator.eq, as_there, map(there.get, candidates))
    return set(itertools.compress(candidates, equal))


_SIZE, _MTIME_NS, _KIND = map(operator.itemgetter, range(3))


def _owned_folder(rel: str, base: dict[str, Entry]) -> bool:
    prefix = rel + "/"
    return any(path.startswith(prefix) for path in base)


@record
class PullDecision:
    fetch: list[str] = field(default_factory=list)
    in_sync: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # changed here only: the push sends it
    conflicts: list[str] = field(default_factory=list)  # changed at both ends


def decide_pull(
    there: dict[str, There],
    here: dict[str, Entry | None],
    base: dict[str, Entry],
    *,
    force: bool = False,
) -> PullDecision:
    """What a pull does with each file or link of `there`; `here` holds the local copies
    (None: nothing here, or not a file or link)."""
    decision = PullDecision()
    for rel in sorted(there):
        remote, local, last = there[rel], here.get(rel), base.get(rel)
        if same(local, remote):
            decision.in_sync.append(rel)
        elif local is None or force or local == last:
            decision.fetch.append(rel)
        elif same(last, remote):
            decision.kept.append(rel)
        else:
            decision.conflicts.append(rel)
    return decision
