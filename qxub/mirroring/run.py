"""The laptop's side of `qxub exec --remote`: push, run in the mirror, pull."""

from __future__ import annotations

import shlex
import threading
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from qxub import record as records
from qxub.errors import QxubError, UsageError
from qxub.mirroring.place import mirror_place
from qxub.project import find_project_root
from qxub.remote import warm
from qxub.remote.config import Remote
from qxub.remote.executor import (
    FollowEnd,
    FollowHooks,
    RemoteQxubMissing,
    RemoteRun,
    RemoteVersionError,
)
from qxub.remote.reach import transport_for
from qxub.remote.scripts import (
    exec_script,
    follow_script,
    shell_script,
    snapshot_exec_script,
    subdir,
    terminal_exec_script,
)
from qxub.remote.shown import shown_offset
from qxub.stdin import piped_fd
from qxub.streams import Streams
from qxub.sync import MARKER

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from qxub.options import ExecOptions
    from qxub.remote.forwarding import Forwarder, PortSpec


def remote_exec_script(
    remote: Remote,
    words: Sequence[str],
    cwd: Path,
    remote_path: str | None,
    token: str | None = None,
) -> list[str]:
    """The script that runs `qxub exec <words>` in the mirror, or with `token` in the job's
    own copy of it (the run folder of that name)."""
    place = mirror_place(remote, find_project_root(cwd), remote_path)
    if token is not None:
        return snapshot_exec_script(remote, place.word, subdir(cwd), words, token, MARKER)
    return exec_script(remote, place.word, subdir(cwd), words)


def pull_words(pulls: Sequence[str]) -> list[str]:
    return [word for path in pulls for word in ("--pull", path)]


def run_remote_exec(
    remote: Remote,
    words: Sequence[str],
    cwd: Path,
    remote_path: str | None,
    *,
    quiet: bool,
    verbose: int,
    pulls: Sequence[str] = (),
    follows: bool = True,
    forwards: Sequence[PortSpec] = (),
    hooks: FollowHooks | None = None,
    token: str | None = None,
) -> FollowEnd:
    """Run `qxub exec <words>` in the remote mirror of `cwd` and follow the job to its end.
    `forwards`: tunnels to the job's node while it is followed; `token`: the job runs in its
    own copy of the mirror, the run folder of that name."""
    streams = Streams.standard(quiet)
    stdin_fd = piped_fd()
    if stdin_fd is not None and remote.force_tty:
        raise UsageError(
            f"data is piped into qxub, but {remote.name} has force_tty: true, and a terminal "
            "would not carry it to the job",
            hint=f"set force_tty: null for {remote.name}, or run without piping into qxub",
        )
    script = remote_exec_script(remote, words, cwd, remote_path, token)
    if verbose:
        streams.status(f"on {remote.name} ({remote.url}): {shlex.join(['qxub', 'exec', *words])}")
    transport = transport_for(remote)
    runs: list[RemoteRun] = []

    def follow(remote: Remote, script: list[str]) -> FollowEnd:
        runs.append(
            RemoteRun(
                remote,
                transport,
                script,
                streams,
                stdin_fd=stdin_fd,
                hooks=hooks,
                expect_follow=follows,
                quiet=quiet,
                continue_words=pull_words(pulls),
            )
        )
        return runs[-1].follow()

    forwarder = None
    if forwards:
        from qxub.mirroring.forwards import forward_remote_job

        def submitted() -> tuple[Remote, str] | None:
            run = runs[-1] if runs else None
            job_id = None if run is None else run.submitted_job()
            return None if run is None or job_id is None else (run.remote, job_id)

        forwarder = forward_remote_job(transport, forwards, submitted, streams.status)
        hooks = _heal_on_reattach(hooks or FollowHooks(), forwarder)
    try:
        try:
            end = follow(remote, script)
            said = warm.used()
            if verbose and said:
                streams.status(said)
            return end
        except (RemoteVersionError, RemoteQxubMissing):
            if not remote.auto_install:
                raise
        # The remote qxub stopped before doing anything: install this one (auto_install), again.
        from qxub.mirroring.install import install, record_command

        installed = install(remote, transport, streams.status)
        record_command(remote, installed.command)
        streams.status(f"qxub_command of {remote.name} is now {installed.command}")
        if stdin_fd is not None:
            # ssh may have read some of it already: a second run would get a part of it.
            raise QxubError(
                f"qxub is now installed on {remote.name}, but the data piped into this run "
                "went to the first try, so the job was not run",
                hint="run the same command again",
            )
        remote = records.replace(remote, qxub_command=(installed.command,))
        return follow(remote, remote_exec_script(remote, words, cwd, remote_path, token))
    finally:
        if forwarder is not None:
            forwarder.close()


def _heal_on_reattach(hooks: FollowHooks, forwarder: Forwarder) -> FollowHooks:
    """A follow that re-attaches (maybe over a new connection) puts back the tunnels that
    went with the old one."""

    def reattached(job_id: str) -> None:
        forwarder.heal()
        hooks.reattached(job_id)

    return records.replace(hooks, reattached=reattached)


def run_remote_terminal(
    remote: Remote, words: Sequence[str], cwd: Path, remote_path: str | None
) -> int:
    """`qxub exec --interactive` in the remote mirror of `cwd`, on a terminal there attached
    to this one; the exit code is the job's."""
    place = mirror_place(remote, find_project_root(cwd), remote_path)
    script = terminal_exec_script(remote, place.word, subdir(cwd), words)
    return transport_for(remote).terminal(script)


def run_remote_shell(remote: Remote, cwd: Path, remote_path: str | None) -> int:
    """`qxub remote shell`: a login shell in the mirror of where `cwd` stands."""
    place = mirror_place(remote, find_project_root(cwd), remote_path)
    return transport_for(remote).terminal(shell_script(place.word, subdir(cwd)))


def pull_after_job(
    remote: Remote,
    cwd: Path,
    remote_path: str | None,
    pulls: Sequence[str],
    streams: Streams,
    verbose: int,
    *,
    token: str | None = None,
    job_id: str | None = None,
) -> None:
    """`--pull` once the job is over (finished, failed or cancelled), from the job's run folder
    (`token`, else the one of `job_id` if it has one) or the mirror. A failed pull is said
    with the command that retries it; it never changes the exit code, which is the job's."""
    from qxub.mirroring.pull import pull

    retry = ["qxub", "remote", "pull", remote.name, *pulls]
    try:
        source = None
        if token is not None or job_id is not None:
            from qxub.mirroring.runs import find_run, run_folder
            from qxub.mirroring.sync_context import open_sync

            ctx, path = open_sync(remote, cwd, remote_path)
            if token is not None:
                source = run_folder(path, token)
            elif job_id is not None:
                source = find_run(remote, ctx.transport, path, job_id)
            if source is not None and job_id is not None:
                retry[4:4] = ["--job", job_id]
        result = pull(
            remote,
            cwd,
            remote_path,
            pulls,
            streams.status,
            verbose=max(0, verbose - 1),
            source=source,
        )
    except QxubError as exc:
        streams.status(f"the pull after the job failed: {exc.message}")
        streams.status(f"retry it with: {shlex.join(retry)}")
        return
    if result.unresolved:
        streams.status("some files were not overwritten; see above")


def run_remote_job(
    remote: Remote,
    options: ExecOptions,
    words: Sequence[str],
    cwd: Path,
    remote_path: str | None,
) -> int:
    """`qxub exec --remote`: push (with --sync, else the remote's sync.auto), run `qxub exec
    <words>` there, follow the job to its end, then pull --pull paths whatever its exit code
    (Ctrl-C, which cancels the job, included). Exits with the job's exit code."""
    sync = remote.sync_auto if options.sync is None else options.sync
    pulls, quiet, verbose = options.pull, options.silent, options.verbose
    streams = Streams.standard(quiet)
    forwards = _forwards(options)
    token = snapshot_token(remote, options)
    if pulls and options.detach:
        raise UsageError(
            "--pull waits for the job's end, and --detach does not wait",
            hint="submit with --detach, then pull when it is over with: "
            f"qxub wait --remote {remote.name} JOB_ID --pull PATH",
        )
    if pulls:  # refuse a bad path before the job runs, not after
        from qxub.sync.pull import project_paths

        project_paths(pulls, find_project_root(cwd), cwd)
    noticing: threading.Thread | None = None
    if sync:
        from qxub.mirroring.push import push

        # --dry submits nothing, so it pushes nothing either: it shows what a push would do.
        push(
            remote,
            cwd,
            remote_path,
            streams.status,
            verbose=max(0, verbose - 1),
            dry_run=options.dry,
        )
    elif not quiet:  # said beside the run: a big project takes a while to walk
        from qxub.mirroring.staleness import say_stale_notice

        noticing = say_stale_notice(remote, cwd, streams.status)
    if options.interactive:
        if noticing is not None:
            noticing.join()  # before the terminal is the remote's
        code = run_remote_terminal(remote, words, cwd, remote_path)
        if pulls:
            pull_after_job(remote, cwd, remote_path, pulls, streams, verbose)
        return code
    follows = not (options.detach or options.terse or options.dry)
    hooks = FollowHooks(over=partial(_job_over, remote))
    if token is None:  # the job runs in the mirror itself: a push there changes what it runs
        from qxub.mirroring.in_use import note_job

        noting = partial(note_job, remote.name, find_project_root(cwd))
        hooks = records.replace(hooks, submitted=noting)
    end = run_remote_exec(
        remote,
        words,
        cwd,
        remote_path,
        quiet=quiet,
        verbose=verbose,
        pulls=pulls,
        follows=follows,
        forwards=forwards,
        hooks=hooks,
        token=token,
    )
    if noticing is not None:
        noticing.join()
    if options.detach and end.job_id is not None and end.exit_code == 0:
        streams.status(f"follow it with: qxub wait --remote {remote.name} {end.job_id}")
    if pulls and end.job_ended:
        pull_after_job(
            remote, cwd, remote_path, pulls, streams, verbose, token=token, job_id=end.job_id
        )
    return end.exit_code


def snapshot_token(remote: Remote, options: ExecOptions) -> str | None:
    """A fresh run folder name when the job runs in its own copy of the mirror (--snapshot,
    else the remote's sync.snapshot); None when it runs in the mirror itself."""
    if options.interactive:
        if options.snapshot:
            raise UsageError(
                "--snapshot is for batch jobs: an interactive session runs in the mirror itself",
                hint="drop --snapshot (or --interactive)",
            )
        return None
    wanted = remote.sync_snapshot if options.snapshot is None else options.snapshot
    if not wanted or options.dry:  # --dry submits nothing: nothing to copy the mirror for
        return None
    from qxub.mirroring.runs import new_token

    return new_token()


def _job_over(remote: Remote, job_id: str) -> None:
    from qxub.mirroring.in_use import job_over

    job_over(remote.name, job_id)


def wait_remote_job(
    remote: Remote,
    job_id: str,
    cwd: Path,
    remote_path: str | None,
    *,
    new: bool,
    pulls: Sequence[str],
    quiet: bool,
) -> int:
    """`qxub wait --remote NAME ID`: the job's output from the start (or, with `new`, what
    this laptop has not shown yet), then --pull once it is over (from the job's run folder
    when it ran in its own copy of the mirror); the job's exit code."""
    streams = Streams.standard(quiet)
    if pulls:
        from qxub.sync.pull import project_paths

        project_paths(pulls, find_project_root(cwd), cwd)
    offset = shown_offset(remote.name, job_id) if new else 0
    run = RemoteRun(
        remote,
        transport_for(remote),
        follow_script(remote, job_id, offset, quiet=quiet),
        streams,
        job_id=job_id,
        start_offset=offset,
        cancel_on_interrupt=False,
        quiet=quiet,
        hooks=FollowHooks(over=partial(_job_over, remote)),
        continue_words=pull_words(pulls),
    )
    end = run.follow()
    if pulls and end.job_ended:
        pull_after_job(remote, cwd, remote_path, pulls, streams, 0, job_id=job_id)
    return end.exit_code


def _forwards(options: ExecOptions) -> list[PortSpec]:
    """The --forward specs, checked before anything is pushed or submitted."""
    if not options.forward:
        return []
    if options.detach or options.terse:
        raise UsageError(
            "--forward lasts while qxub follows the job, and --detach does not follow it",
            hint="drop --detach, or forward later with: qxub forward --remote NAME JOB_ID PORT",
        )
    if options.interactive:
        raise UsageError(
            "--forward with --interactive --remote is not supported",
            hint="run the service in a batch job with --forward, or forward by hand with ssh -L",
        )
    from qxub.remote.forwarding import PortSpec, check_all_free  # sockets: only for --forward

    specs = [PortSpec.parse(text) for text in options.forward]
    check_all_free(specs)
    return specs
