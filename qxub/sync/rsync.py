"""The rsync engine: every transfer is an explicit NUL-separated file list, so rsync's own
filter rules never decide anything; qxub's ignore engine already did."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from qxub import proc
from qxub.errors import QxubError
from qxub.record import record
from qxub.sync.engine import Progress, Transfer

OUT_FORMAT = "%i %l %n"
LIST_MAX = 2000  # more paths than this go to rsync as arguments (see RsyncEngine.push)
GUARD = "qxub-guard:"  # what a check in --rsync-path says when it refuses (remote/scripts.py)


class RemoteCheckFailed(QxubError):
    """The check that runs before rsync's server refused: nothing was written there."""


_OCTAL = re.compile(r"\\#([0-7]{3})")


@record(frozen=True)
class Endpoint:
    """Where the other side is: `prefix` is `host:` for a remote, '' for this machine;
    `rsh` the ssh command rsync should use (sharing qxub's master connection)."""

    prefix: str = ""
    rsh: str | None = None

    @property
    def remote(self) -> bool:
        return bool(self.prefix)


def unescape(name: str) -> str:
    """rsync prints bytes it will not show as \\#ooo; give the real name back."""
    if "\\#" not in name:
        return name
    raw = _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), name)
    return os.fsdecode(raw.encode("latin-1", errors="surrogateescape"))


def parse_itemized(line: str, transfer: Transfer) -> None:
    """One line of `--out-format '%i %l %n'` output."""
    if line.startswith("*deleting"):
        _, _, name = line[len("*deleting") :].strip().partition(" ")
        transfer.deleted.append(unescape(name))
        return
    parts = line.split(" ", 2)
    if len(parts) < 3 or len(parts[0]) < 2:
        return
    code, size, name = parts
    update, kind = code[0], code[1]
    if (update in "<>" and kind == "f") or (update in "c<>" and kind == "L"):
        transfer.sent.append((unescape(name), int(size) if size.isdigit() else 0))


def rsync_argv(
    *,
    source: str,
    dest: str,
    endpoint: Endpoint,
    delete_missing: bool = False,
    dry_run: bool = False,
    force_times: bool = False,
    paths: Sequence[str] | None = None,
) -> list[str]:
    """rsync keeping links as links, modification times and execute bits; not owners. The
    files come as a NUL-separated list on stdin, or, given `paths` (relative to the current
    folder), as arguments."""
    argv = ["rsync", "-ltE", "-s", "--mkpath"]
    argv += ["--files-from=-", "--from0"] if paths is None else ["-R"]
    argv += ["--out-format", OUT_FORMAT]
    if endpoint.remote:
        argv.append("-z")
    if endpoint.rsh:
        argv += ["-e", endpoint.rsh]
    if delete_missing:
        argv.append("--delete-missing-args")
    if dry_run:
        argv.append("--dry-run")
    if force_times:
        # A same-size edit within the same second passes rsync's quick check unseen.
        argv.append("--ignore-times")
    if paths is not None:
        return [*argv, "--", *paths, dest]
    return [*argv, source, dest]


def pull_argv(
    endpoint: Endpoint, remote_path: str, dest: str, *, recursive: bool, dry_run: bool
) -> list[str]:
    """rsync from the mirror into `dest`, with the same rules as a push."""
    argv = ["rsync", "-ltE", "-s", "--files-from=-", "--from0", "--out-format", OUT_FORMAT]
    if recursive:
        argv.append("-r")
    if dry_run:
        argv.append("--dry-run")
    if endpoint.remote:
        argv.append("-z")
    if endpoint.rsh:
        argv += ["-e", endpoint.rsh]
    return [*argv, f"{endpoint.prefix}{remote_path}/", dest]


class RsyncEngine:
    """The sync engine on rsync: one rsync run per call, with an explicit file list."""

    name = "rsync"

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

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
        rsync_path: str | None = None,
    ) -> Transfer:
        """The files plus the deletions, as missing args. rsync reads a `--files-from` list
        one byte per read(): a long list (a first or full push) goes as arguments instead, in
        as few runs as the system's argument limit allows (usually one). `rsync_path`: the
        remote command that starts rsync there (a check that may refuse first:
        RemoteCheckFailed)."""
        paths = [*files, *deleted]
        dest = f"{self.endpoint.prefix}{remote_path}/"

        def argv(chunk: Sequence[str] | None) -> list[str]:
            words = rsync_argv(
                source=f"{root}/",
                dest=dest,
                endpoint=self.endpoint,
                delete_missing=bool(deleted),
                dry_run=dry_run,
                force_times=force_times,
                paths=chunk,
            )
            if rsync_path is not None:
                words.insert(1, f"--rsync-path={rsync_path}")
            return words

        if len(paths) <= LIST_MAX:
            return run_rsync(argv(None), paths, progress=progress)
        total = Transfer()
        started = time.monotonic()
        for chunk in argument_chunks(paths):
            done = run_rsync(argv(chunk), [], progress=progress, cwd=str(root), list_input=False)
            total.sent += done.sent
            total.deleted += done.deleted
        total.elapsed = time.monotonic() - started
        return total

    def plan_pull(self, root: Path, paths: Sequence[str], remote_path: str) -> Transfer:
        argv = pull_argv(self.endpoint, remote_path, f"{root}/", recursive=True, dry_run=True)
        return run_rsync(argv, list(paths))

    def fetch(
        self,
        remote_path: str,
        files: Sequence[str],
        dest: Path,
        *,
        progress: Progress | None = None,
    ) -> Transfer:
        argv = pull_argv(self.endpoint, remote_path, f"{dest}/", recursive=False, dry_run=False)
        return run_rsync(argv, list(files), progress=progress)


def argument_chunks(paths: Sequence[str]) -> list[list[str]]:
    """`paths` in runs that fit the system's limit on arguments (half of it: the environment
    and rsync's own options take the rest); paths that start with '-' are written `./-...`."""
    try:
        limit = min(os.sysconf("SC_ARG_MAX") // 2, 1 << 20)
    except (ValueError, OSError, AttributeError):
        limit = 128 * 1024
    limit -= sum(len(k) + len(v) + 2 for k, v in os.environ.items())
    limit = max(limit, 32 * 1024)
    chunks: list[list[str]] = [[]]
    used = 0
    for path in paths:
        word = f"./{path}" if path.startswith("-") else path
        cost = len(os.fsencode(word)) + 1 + 8  # the bytes, the NUL, the pointer
        if used + cost > limit and chunks[-1]:
            chunks.append([])
            used = 0
        chunks[-1].append(word)
        used += cost
    return chunks


def run_rsync(
    argv: Sequence[str],
    paths: Sequence[str],
    *,
    progress: Progress | None = None,
    cwd: str | None = None,
    list_input: bool = True,
) -> Transfer:
    """Run rsync with `paths` as its NUL-separated file list (or, without `list_input`, with
    its paths in `argv`); collect what it did."""
    transfer = Transfer()
    started = time.monotonic()
    try:
        stdin = subprocess.PIPE if list_input else subprocess.DEVNULL
        process = proc.start(argv, stdin=stdin, cwd=cwd, die_with_parent=True)
    except FileNotFoundError:
        raise QxubError(
            "rsync: command not found",
            hint="install rsync on this machine (apt/brew install rsync), or set sync_engine: sftp",
        ) from None
    assert process.stdout is not None and process.stderr is not None
    payload = b"".join(os.fsencode(p) + b"\0" for p in paths)

    def feed() -> None:
        if process.stdin is None:
            return
        try:
            process.stdin.write(payload)
            process.stdin.close()
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    errors: list[bytes] = []
    reader = threading.Thread(target=lambda: errors.append(process.stderr.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    last_report = 0.0
    try:
        for raw in process.stdout:
            parse_itemized(raw.decode(errors="surrogateescape").rstrip("\n"), transfer)
            now = time.monotonic()
            if progress is not None and now - last_report > 0.2:
                transfer.elapsed = now - started
                progress(transfer)
                last_report = now
    except BaseException:
        # Ctrl-C: stop rsync too; on SIGTERM it removes the file it was writing, so nothing
        # half-sent is left under a real name.
        process.terminate()
        process.wait()
        raise
    code = process.wait()
    writer.join()
    reader.join()
    transfer.elapsed = time.monotonic() - started
    said = b"".join(errors).decode(errors="replace").strip()
    if code != 0 and GUARD in said:
        raise RemoteCheckFailed(said.split(GUARD, 1)[1].splitlines()[0].strip())
    if code not in (0, 24):  # 24: some files vanished while rsync ran, which is not an error here
        raise QxubError(
            f"rsync failed with exit code {code}:\n{_tail(said)}",
            hint=_hint(code, said),
        )
    return transfer


def _tail(text: str, lines: int = 8) -> str:
    return "\n".join(text.splitlines()[-lines:]) or "(rsync said nothing)"


def _hint(code: int, said: str) -> str:
    if code == 127 or "command not found" in said or "rsync: not found" in said:
        return "install rsync on the remote (or ask its admins), or set sync_engine: sftp"
    if code == 255 or code == 12:
        return "the connection broke; check it with `qxub remote test` and try again"
    if code == 23:
        return "some files could not be transferred (permissions?); see rsync's words above"
    return "see rsync's words above"


__all__ = [
    "Endpoint",
    "RemoteCheckFailed",
    "RsyncEngine",
    "Transfer",
    "pull_argv",
    "rsync_argv",
    "run_rsync",
]
