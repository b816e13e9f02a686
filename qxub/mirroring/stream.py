"""A first push into an empty mirror as one stream: GNU tar here packs the files (an explicit
NUL-separated list, every name as bytes, links as links), zstd squeezes the stream when it
crosses a network, and one remote command over the shared connection unpacks it into a fresh
folder inside the mirror and renames what it holds into place (remote/unpack.py). rsync and
SFTP pay per file (rsync reads a long file list one byte per read; SFTP waits for replies);
the stream costs what tar costs.

It sends nothing the three-way rule did not decide (the mirror was listed empty just before),
and a file is never left half-written under its real name there: an interrupted stream leaves
only the temporary folder, which the next stream removes. What is recorded as sent is decided
by the caller: everything when the stream says it landed whole, else what a new look at the
mirror finds there."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from qxub import proc
from qxub.mirroring.progress import clear, meter
from qxub.mirroring.remote_state import MirrorState
from qxub.record import field, record
from qxub.remote.config import Remote
from qxub.remote.transport import Transport
from qxub.remote.unpack import unpack_script
from qxub.sync import PART
from qxub.sync.engine import Progress, Transfer
from qxub.sync.push import PushPlan
from qxub.sync.threeway import PushDecision
from qxub.which import which

STREAM_AT_LEAST = 32  # fewer files than this into an empty mirror: the engine is as quick
STAGE = PART + "stream"  # the temporary folder in the mirror (its contents are never listed)
PACK = ["-c", "-f", "-", "--null", "--verbatim-files-from", "--no-unquote", "--no-recursion"]
# A file hard-linked here is sent as a file of its own, as rsync without -H does.
PACK += ["--hard-dereference", "-T", "-"]


def gnu_tar_here() -> str | None:
    """The name of this machine's GNU tar (`tar`, or `gtar` where `tar` is BSD's), or None."""
    for name in ("tar", "gtar"):
        if which(name) is None:
            continue
        found = proc.run([name, "--version"], check=False)
        if "GNU tar" in found.stdout.partition("\n")[0]:
            return name
    return None


def zstd_here() -> bool:
    return which("zstd") is not None


@record
class Streamed:
    transfer: Transfer
    landed: bool  # every file is there as sent; else the mirror must be looked at again
    trouble: list[str] = field(default_factory=list)  # what went wrong, when it did


def first_stream(
    remote: Remote,
    transport: Transport,
    path: str,
    root: Path,
    state: MirrorState,
    plan: PushPlan,
    decision: PushDecision,
    progress: bool,
) -> Streamed | None:
    """A first push into an empty mirror as one tar stream (`stream_push`), where both ends
    can (GNU tar; zstd at both ends when it crosses a network) and the files go over the
    remote's own connection (not a `sync_url` data mover). None when it does not apply."""
    compress = remote.target is not None
    if (
        not state.gnu_tar
        or state.entries
        or decision.delete
        or len(decision.send) < STREAM_AT_LEAST
        or remote.sync_target is not None
        or (compress and not (state.zstd and zstd_here()))
    ):
        return None
    tar = gnu_tar_here()
    if tar is None:
        return None
    sends = decision.send
    sizes = [plan.entries[rel].size for rel in sends]
    show_progress = meter(len(sends), sum(sizes), "pushing") if progress else None
    try:
        return stream_push(
            transport,
            path,
            tar,
            str(root),
            sends,
            sizes,
            compress=compress,
            progress=show_progress,
        )
    finally:
        if progress:
            clear()


def stream_push(
    transport: Transport,
    path: str,
    tar: str,
    root: str,
    files: Sequence[str],
    sizes: Sequence[int],
    *,
    compress: bool,
    progress: Progress | None = None,
) -> Streamed:
    """Send `files` (relative to `root`; `sizes` for progress) into the empty mirror at
    `path` as one tar stream. A broken connection raises SshError; any other failure comes
    back as not `landed`, with what was said."""
    started = time.monotonic()
    transfer = Transfer()
    argv = [tar, *PACK] if progress is None else [tar, "-v", *PACK]
    packer = proc.start(
        argv, stdin=subprocess.PIPE, stderr=subprocess.PIPE, cwd=root, die_with_parent=True
    )
    local: list[proc.Process] = [packer]
    assert packer.stdin is not None and packer.stdout is not None and packer.stderr is not None
    source = packer.stdout
    if compress:
        squeezer = proc.start(
            ["zstd", "-1", "-q", "-c"],
            stdin=source,
            stderr=subprocess.DEVNULL,
            die_with_parent=True,
        )
        source.close()  # zstd holds it: if zstd ends, tar learns so
        local.append(squeezer)
        assert squeezer.stdout is not None
        source = squeezer.stdout
    listing = b"".join(os.fsencode(rel) + b"\0" for rel in files)
    feeder = threading.Thread(target=_feed, args=(packer.stdin, listing), daemon=True)
    feeder.start()
    said_here: list[bytes] = []
    counter = threading.Thread(
        target=_count,
        args=(packer.stderr, f"{tar}: ".encode(), said_here, transfer, files, sizes, progress),
        daemon=True,
    )
    counter.start()
    script = unpack_script(path, STAGE, compressed=compress)
    try:
        remote = transport.popen(script, stdin_fd=source.fileno())
    except BaseException:
        for process in local:
            process.terminate()
        source.close()
        raise
    try:
        said_there: list[bytes] = []
        assert remote.stdout is not None and remote.stderr is not None
        errors = threading.Thread(
            target=lambda: said_there.append(remote.stderr.read()),  # type: ignore[union-attr]
            daemon=True,
        )
        errors.start()
        out = remote.stdout.read()
        code = remote.wait_interruptibly()
        errors.join()
        for process in local:
            if process.poll() is None:  # the remote side stopped reading
                process.terminate()
            process.wait()
        feeder.join()
        counter.join()
    except BaseException:
        for process in local:
            process.terminate()
        remote.terminate()
        raise
    finally:
        source.close()
    stderr = b"".join(said_there).decode(errors="replace")
    error = transport.connection_error(code, stderr)
    if error is not None:
        raise error
    transfer.elapsed = time.monotonic() - started
    trouble = [line for line in stderr.splitlines() if line.strip()][-3:]
    trouble += [line.decode(errors="replace") for line in said_here][-3:]
    landed = code == 0 and b"moved=1" in out and all(p.returncode == 0 for p in local)
    transfer.sent = list(zip(files, sizes, strict=True)) if landed else []
    if code == 0 and b"left=1" in out:
        trouble.append("something was written into the mirror meanwhile")
    return Streamed(transfer, landed, trouble if not landed else [])


def _feed(pipe: IO[bytes], data: bytes) -> None:
    try:
        pipe.write(data)
        pipe.close()
    except BrokenPipeError:
        pass


def _count(
    pipe: IO[bytes],
    prefix: bytes,
    said: list[bytes],
    transfer: Transfer,
    files: Sequence[str],
    sizes: Sequence[int],
    progress: Progress | None,
) -> None:
    """tar's stderr: with -v one line per file packed (its name, quoted), which moves the
    progress on; lines that start with tar's name are its complaints."""
    last = 0.0
    started = time.monotonic()
    for line in pipe:
        if line.startswith(prefix):
            said.append(line.rstrip(b"\n"))
            continue
        done = len(transfer.sent)
        if progress is None or done >= len(files):
            continue
        transfer.sent.append((files[done], sizes[done]))
        now = time.monotonic()
        if now - last > 0.2:
            transfer.elapsed = now - started
            progress(transfer)
            last = now
