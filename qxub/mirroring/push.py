"""`qxub remote push` and `exec --sync`: the project's files sent to its mirror on a remote,
by the three-way rule (qxub/sync/threeway.py): what changed here is sent, what a job wrote or
changed there is never overwritten or deleted (a conflict, reported with its fix)."""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

from qxub.errors import QxubError
from qxub.locks import file_lock
from qxub.mirroring.background import Background
from qxub.mirroring.in_use import say_in_use
from qxub.mirroring.place import (
    Mirror,
    check_mirror,
    owner_prefix,
)
from qxub.mirroring.progress import clear, meter
from qxub.mirroring.push_ahead import after_push, prepare
from qxub.mirroring.push_dry import dry_push
from qxub.mirroring.remote_state import MirrorState, check_ours, delete_there, mirror_state
from qxub.mirroring.report import PushResult, Say, push_summary, say_conflicts, show_str
from qxub.mirroring.root import checked_root
from qxub.mirroring.stream import first_stream
from qxub.mirroring.sync_context import engine_for, open_sync
from qxub.remote import warm, warm_list
from qxub.remote.config import Remote
from qxub.remote.scripts import guarded_rsync_path
from qxub.sync import MARKER
from qxub.sync.engine import SyncEngine, Transfer
from qxub.sync.git_select import start_listing
from qxub.sync.ignore import DEFAULT_IGNORES, Selection, select_files
from qxub.sync.manifest import Entry, Manifest, load_manifest
from qxub.sync.project import find_git_repo
from qxub.sync.push import PushPlan, emptied_folders, plan_push, record_push, run_push, to_decide
from qxub.sync.rsync import RemoteCheckFailed, RsyncEngine
from qxub.sync.threeway import PushDecision, decide_push

# Up to this many files changed here (and none deleted), a push over rsync checks the mirror
# in the command that starts rsync there (one round trip); more, and it looks first.
GUARDED_AT_MOST = 64


# A push compares every file with the mirror (one listing of it) at least this often; in
# between it looks only at what changed here since the last sync, and a push with nothing to
# send makes no connection.
FULL_EVERY = 600.0


class Pusher:
    """Pushes one project to one remote, again and again (watch keeps one): the connection,
    the mirror check and the ignore rules are set up once."""

    def __init__(self, remote: Remote, cwd: Path, remote_path: str | None) -> None:
        self.remote = remote
        self.cwd = cwd
        root = checked_root(cwd)
        self.began_ns = time.time_ns()  # the first push looks at the files after this
        # The first push's selection is made while the mirror is checked there.
        self.selecting: Background[Selection] | None = Background(
            lambda: select_files(root, remote.sync_ignore)
        )
        self.ctx, self.path = open_sync(remote, cwd, remote_path)
        self.engine: SyncEngine | None = None  # chosen at the first push that sends anything
        # The record open_sync read: the first push takes it as it is while the file still
        # holds it (the record is read once per `qxub remote push`); later ones read afresh.
        self._known: Manifest | None = self.ctx.manifest
        # Found empty (but for its marker) just now: the first push need not list it.
        checked = self.ctx.checked
        self.empty: Mirror | None = checked if checked is not None and checked.empty else None
        self.warnings: list[str] = []  # of the last push: links outside, unreadable files
        self.entries: dict[str, Entry] = {}  # of the last push: the files it selected
        self._prepared = False  # the last push wrote the next one's list (push_ahead.py)

    @property
    def root(self) -> Path:
        return self.ctx.root

    def push(
        self,
        *,
        full: bool = False,
        force: bool = False,
        also: Collection[str] = (),
        progress: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> PushResult:
        """One push, under the project's sync lock (a watch, a pull and an exec --sync never
        race). `full`: compare every selected file with the mirror, not only those changed
        here since the last sync; `force`: overwrite (and delete) what changed there; `also`:
        paths a watcher saw written here (pulled ones excepted: a pull's own writes)."""
        ctx = self.ctx
        # When this push began looking at the files: the first one's selection started with
        # the Pusher; a later one selects now.
        began_ns = self.began_ns if self.selecting is not None else time.time_ns()
        self._prepared = False
        with file_lock(ctx.manifest.path):
            manifest = load_manifest(self.remote.name, ctx.root, self._known)
            self._known = None
            result = self._push(manifest, full, force, also, progress, clock)
        transfer = result.transfer
        engine = self.engine
        after_push(
            self.remote,
            ctx.transport,
            self.cwd,
            ctx.root,
            self.entries,
            began_ns,
            sent=bool(transfer.sent or transfer.deleted),
            small=isinstance(engine, RsyncEngine) and engine.endpoint.remote,
            prepared=self._prepared,
        )
        return result

    def _push(
        self,
        manifest: Manifest,
        full: bool,
        force: bool,
        also: Collection[str],
        progress: bool,
        clock: Callable[[], float],
    ) -> PushResult:
        ctx = self.ctx
        loaded = (manifest.remote_path, manifest.location_key, manifest.rsync_there)
        if manifest.remote_path != self.path:  # claimed by open_sync; kept by the lock
            manifest.remote_path = ctx.manifest.remote_path
            manifest.location_key = ctx.manifest.location_key
        started = clock()
        full = full or started - manifest.verified_at > FULL_EVERY
        empty, self.empty = self.empty, None
        if not full or manifest.synced:
            empty = None
        # A full push lists the whole mirror (unless it was found empty just now): that runs
        # there while the files are selected here.
        listing = None
        if not full:
            warm_list.not_due(manifest.verified_at + FULL_EVERY)
        elif not empty:
            # Started at start-up (warm_list), the listing counts only if it is not older
            # than the record: another push may have written both since.
            warm_list.not_before(manifest.written_ns)
            due = started + FULL_EVERY
            listing = Background(lambda: self._state(full=True, due=due))
        selecting, self.selecting = self.selecting, None
        selection = selecting.result() if selecting is not None else None
        plan = plan_push(ctx.root, manifest, self.remote.sync_ignore, selection)
        self.entries = plan.entries
        self.warnings = [*plan.selection.warnings]
        self.warnings += [f"cannot read {u}; not sent" for u in plan.selection.unreadable]
        result = PushResult(selected=len(plan.files))
        touched = {rel for rel in also if rel not in manifest.from_remote}
        here = to_decide(plan, manifest, full=full, touched=touched)
        if not here:
            if listing is not None:
                listing.result()
            return result
        if self.engine is None:
            self.engine = engine_for(ctx, manifest)
        if not full and not force:
            sent, after = self._checked_send(plan, here, manifest, progress)
            if sent is not None:
                record_push(manifest, plan, sent=list(here))
                if after is not None:
                    manifest.write(after)  # prepared while the files travelled
                else:
                    manifest.save()
                result.transfer = sent
                return result

        def decide(state: MirrorState) -> PushDecision:
            return decide_push(
                here,
                manifest.synced,
                state.entries,
                from_remote=manifest.from_remote,
                touched=touched,
                force=force,
            )

        if empty is not None:  # only a stream goes on this: the engine is told what is there
            state = MirrorState(True, gnu_tar=empty.gnu_tar, zstd=empty.zstd)
        else:
            state = self._look(here, full=full, listing=listing)
        decision = decide(state)
        stays = _record_stays(decision, manifest, plan)
        streamed = first_stream(
            self.remote, self.ctx.transport, self.path, self.root, state, plan, decision, progress
        )
        del state  # the mirror's listing (a big one on a full push): not kept while sending
        listing = None
        if streamed is not None and streamed.landed:
            record_push(manifest, plan, sent=decision.send, equal=decision.in_sync)
            result.transfer, result.streamed = streamed.transfer, True
        else:
            if streamed is not None:  # some may have landed
                self.warnings.append(
                    "the stream into the mirror stopped "
                    f"({'; '.join(streamed.trouble) or 'no reason given'}); "
                    f"the rest went with {self.engine.name}"
                )
            if streamed is not None or empty is not None:
                decision = decide(self._look(here, full=True))
            result.conflicts = decision.conflicts
            result.transfer = self._apply(plan, decision, manifest, result, progress)
        result.changed_there = decision.changed_there
        if full and not result.conflicts:
            manifest.verified_at = started
        kept = loaded == (manifest.remote_path, manifest.location_key, manifest.rsync_there)
        if stays and kept and streamed is None:
            manifest.save_verified()  # a full push that found both ends as recorded
        else:
            manifest.save()
        return result

    def _checked_send(
        self,
        plan: PushPlan,
        here: Mapping[str, Entry | None],
        manifest: Manifest,
        progress: bool,
    ) -> tuple[Transfer | None, str | None]:
        """The common push (a few files changed here, nothing deleted) over rsync in one
        remote command that checks the mirror first (its marker, and that no file about to
        be sent changed there since the last sync): a small one carries the files itself
        (small_push.py), a larger one starts rsync's server after the check. No transfer
        when it does not apply or the check refused (nothing was written then): the push then
        looks at the mirror first and decides path by path. With a small one, the record's
        text once the files are there, prepared while they travelled."""
        engine = self.engine
        if (
            not isinstance(engine, RsyncEngine)
            or not engine.endpoint.remote
            or len(here) > GUARDED_AT_MOST
            or any(entry is None for entry in here.values())
        ):
            return None, None
        # Here, not at the top: a push with nothing to send needs neither it nor tarfile.
        from qxub.mirroring.small_push import NotSent, Refused, as_found, small_push

        changed = {rel: entry for rel, entry in here.items() if entry is not None}
        after: list[str] = []

        def meanwhile() -> None:
            """While the files travel: the record's text, and the next push's list."""
            after.append(manifest.encoded(changed))
            prepare(self.remote, self.cwd, self.root, plan.entries)
            self._prepared = True

        try:
            sent = small_push(
                self.remote,
                self.ctx.transport,
                self.root,
                self.path,
                owner_prefix(self.root),
                changed,
                manifest.synced,
                meanwhile=meanwhile,
            )
            return sent, after[0] if after else None
        except Refused:
            return None, None
        except NotSent:
            pass  # too large, or it could not start there: rsync's server carries it
        expected = []
        for rel, local in changed.items():
            last = manifest.synced.get(rel, local)
            expected.append((rel, as_found(last), as_found(local)))
        guard = guarded_rsync_path(self.path, MARKER, owner_prefix(self.root), expected)
        sends = sorted(changed)
        total = sum(plan.entries[rel].size for rel in sends if rel in plan.entries)
        show_progress = meter(len(sends), total, "pushing") if progress else None
        try:
            sent = engine.push(
                self.root,
                sends,
                [],
                self.path,
                force_times=True,
                progress=show_progress,
                rsync_path=guard,
            )
            return sent, None
        except RemoteCheckFailed:
            return None, None
        finally:
            if progress:
                clear()

    def _state(
        self, *, full: bool, here: Collection[str] = (), due: float | None = None
    ) -> MirrorState:
        """The mirror at these paths (or all of it, and the tools a stream needs there).
        `due`: when the next full push is (its listing may then start at start-up)."""
        return mirror_state(
            self.remote,
            self.ctx.transport,
            self.path,
            paths=() if full else sorted(here),
            under=["."] if full else (),
            tools=full,
            ahead=due,
        )

    def _look(
        self,
        here: Mapping[str, object],
        *,
        full: bool,
        listing: Background[MirrorState] | None = None,
    ) -> MirrorState:
        """The mirror at these paths (or all of it: `listing`, when started already), its
        marker checked: one remote command. A mirror that is gone (purged) or lost its marker
        is checked again as a new one."""
        ctx = self.ctx
        state = listing.result() if listing else self._state(full=full, here=list(here))
        if state.exists and state.marker:
            check_ours(state, self.remote, ctx.root, self.path)
            return state
        # Claimed again if empty; refused if it holds files and no marker of this project.
        check_mirror(self.remote, ctx.transport, ctx.place, ctx.root)
        return state if state.exists else MirrorState(exists=True)

    def _apply(
        self,
        plan: PushPlan,
        decision: PushDecision,
        manifest: Manifest,
        result: PushResult,
        progress: bool,
    ) -> Transfer:
        """Deletions first (a folder there that a file replaces must go before the file
        comes), recorded at once; then the files, recorded once they are there."""
        ctx = self.ctx
        folders = emptied_folders(decision.delete, ctx.root)
        folders += [f for f in decision.replace_folders if f not in folders]
        kept = delete_there(self.remote, ctx.transport, self.path, decision.delete, folders)
        sends = [rel for rel in decision.send if rel not in kept]
        result.conflicts += [rel for rel in decision.send if rel in kept]
        record_push(manifest, plan, forget=[*decision.delete, *decision.forget])
        if decision.delete:
            manifest.save()
        transfer = Transfer()
        if sends:
            assert self.engine is not None
            total = sum(plan.entries[rel].size for rel in sends if rel in plan.entries)
            show_progress = meter(len(sends), total, "pushing") if progress else None
            try:
                transfer = run_push(ctx.root, sends, self.engine, self.path, progress=show_progress)
            finally:
                if progress:
                    clear()
        transfer.deleted = list(decision.delete)
        record_push(manifest, plan, sent=sends, equal=decision.in_sync)
        return transfer


def _record_stays(decision: PushDecision, manifest: Manifest, plan: PushPlan) -> bool:
    """Whether recording `decision` leaves the record's paths as they are: nothing to send,
    delete or forget, and each path found equal at both ends recorded in that very state."""
    if decision.send or decision.delete or decision.forget or decision.replace_folders:
        return False
    equal = decision.in_sync
    return all(map(operator.eq, map(manifest.synced.get, equal), map(plan.entries.get, equal)))


def start_selection(cwd: Path) -> None:
    """Let git start listing the project (where git can list the selection) while qxub
    reads its config and the record: a push calls this first thing."""
    try:
        root = checked_root(cwd)
    except QxubError:
        return  # the push itself says why
    if find_git_repo(root) is not None:
        start_listing(root, DEFAULT_IGNORES)


def push(
    remote: Remote,
    cwd: Path,
    remote_path: str | None,
    say: Say,
    *,
    dry_run: bool = False,
    verbose: int = 0,
    progress: bool = False,
    full: bool = False,
    force: bool = False,
) -> PushResult:
    """Push the project to its mirror on `remote`; say what was done in one line, and each
    conflict with its fix."""
    if dry_run:
        return dry_push(remote, cwd, remote_path, say, force=force)
    pusher = Pusher(remote, cwd, remote_path)
    result = pusher.push(full=full, force=force, progress=progress)
    transfer = result.transfer
    for warning in pusher.warnings:
        say(f"warning: {warning}")
    if verbose:
        if warm.used():
            say("the ssh session of this push was opened at start-up")
        if warm_list.used():
            say(f"the listing of the mirror on {remote.name} was started at start-up")
        if result.streamed:
            say(f"into the empty mirror as one stream: {len(transfer.sent)} files")
        for rel, _ in transfer.sent:
            say(f"sent {show_str(rel)}")
        for rel in transfer.deleted:
            say(f"deleted {show_str(rel)}")
        for rel in result.changed_there:
            say(f"changed on {remote.name} since the last sync: {show_str(rel)} (left there)")
    say_conflicts(remote.name, result.conflicts, say)
    say_in_use(remote.name, pusher.root, bool(transfer.sent or transfer.deleted), say)
    say(push_summary(remote.name, pusher.path, result.selected, transfer))
    return result
