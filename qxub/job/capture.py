"""The job's output writer: runs beside the job (started by the job script) and keeps the
order of its stdout and stderr.

`python3 -I -S -c "<this program>" FIFOS LOG OUT ERR` (the job script carries it): the job
script points the job's stdout and stderr at the FIFOs FIFOS/o and FIFOS/e once this has opened
them (it says `ready` on FIFOS/r, and `done` there once both are drained); this reads both as
data arrives and appends each piece, in the
order it read them, to LOG as one frame (qxub.protocol: `o` or `e`, length, bytes), and to
the plain files OUT and ERR (the job's stdout and stderr, or the user's --out/--err). One
reader for both streams keeps their relative order as far as the job's own buffering and the
kernel's scheduling allow; the log is what every follower reads, the plain files are for
people. It ends when every writer of both FIFOs has closed them. Standard library only: it
starts once per job, on a compute node.
"""

from __future__ import annotations

import os
import select
import sys

CHUNK = 65536


def capture(fifos: str, log: str, out: str, err: str) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    log_fd = os.open(log, flags, 0o600)
    sinks = {}
    for kind, fifo, plain in ((b"o", "o", out), (b"e", "e", err)):
        fd = os.open(os.path.join(fifos, fifo), os.O_RDONLY | os.O_NONBLOCK)
        sinks[fd] = (kind, os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))
    ready = os.open(os.path.join(fifos, "r"), os.O_WRONLY)
    os.write(ready, b"ready\n")
    poller = select.poll()
    for fd in sinks:
        poller.register(fd, select.POLLIN)
    while sinks:
        for fd, _ in poller.poll():
            try:
                data = os.read(fd, CHUNK)
            except BlockingIOError:
                continue
            if not data:
                poller.unregister(fd)
                os.close(sinks.pop(fd)[1])
                os.close(fd)
                continue
            kind, plain_fd = sinks[fd]
            _write_all(log_fd, kind + len(data).to_bytes(4, "big") + data)
            _write_all(plain_fd, data)
    os.close(log_fd)
    os.write(ready, b"done\n")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


if __name__ == "__main__":
    import signal

    # A scheduler's TERM to the whole job must not stop the writer before it drained the
    # job's last words; it ends by itself when the job's streams close.
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, signal.SIG_IGN)
    capture(*sys.argv[-4:])
