#!/bin/bash
# qxub 0.0-test job script, submitted from laptop
# options: --mem 16GB --cpus 4 --runtime 2h
# command: python3 train.py --lr 0.1 'a b' 'it'"'"'s' '$HOME' 'new\nline'
# context: conda

__qxub_log=/state/qxub/jobs/J
__qxub_finish() {
    __qxub_rc=$?
    exec 1>&- 2>&-
    [ -n "${__qxub_direct:-}" ] || read -r -t 10 -u 19 __qxub_done
    rm -rf -- "$__qxub_fifos"
    printf '%s\n' "$__qxub_rc" > "$__qxub_log/exit_code.tmp"
    mv -f "$__qxub_log/exit_code.tmp" "$__qxub_log/exit_code"
}
trap __qxub_finish EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
__qxub_fifos=$(mktemp -d "${TMPDIR:-/tmp}/qxub-job.XXXXXX") || exit 1
mkfifo "$__qxub_fifos/o" "$__qxub_fifos/e" "$__qxub_fifos/r" || exit 1
exec 19<>"$__qxub_fifos/r"
__qxub_py=
for __qxub_try in python3 python3; do
    "$__qxub_try" -I -S -c "" 2>/dev/null && { __qxub_py=$__qxub_try; break; }
done
__qxub_capture='"""The job'"'"'s output writer: runs beside the job (started by the job script) and keeps the
order of its stdout and stderr.

`python3 -I -S -c "<this program>" FIFOS LOG OUT ERR` (the job script carries it): the job
script points the job'"'"'s stdout and stderr at the FIFOs FIFOS/o and FIFOS/e once this has opened
them (it says `ready` on FIFOS/r, and `done` there once both are drained); this reads both as
data arrives and appends each piece, in the
order it read them, to LOG as one frame (qxub.protocol: `o` or `e`, length, bytes), and to
the plain files OUT and ERR (the job'"'"'s stdout and stderr, or the user'"'"'s --out/--err). One
reader for both streams keeps their relative order as far as the job'"'"'s own buffering and the
kernel'"'"'s scheduling allow; the log is what every follower reads, the plain files are for
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

    # A scheduler'"'"'s TERM to the whole job must not stop the writer before it drained the
    # job'"'"'s last words; it ends by itself when the job'"'"'s streams close.
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, signal.SIG_IGN)
    capture(*sys.argv[-4:])
'
[ -n "$__qxub_py" ] && "$__qxub_py" -I -S -c "$__qxub_capture" "$__qxub_fifos" "$__qxub_log/output" /state/qxub/jobs/J/stdout /state/qxub/jobs/J/stderr </dev/null >/dev/null 2>>"$__qxub_log/capture.err" 19>&- &
if [ -n "$__qxub_py" ] && read -r -t 60 -u 19 __qxub_ready; then
    exec 1<>"$__qxub_fifos/o" 2<>"$__qxub_fifos/e"
else
    __qxub_direct=1
    echo "qxub: no output writer (python3) ran on $(hostname): the output is in the job's files only, not streamed" >>"$__qxub_log/capture.err"
    exec 1>>/state/qxub/jobs/J/stdout 2>>/state/qxub/jobs/J/stderr
fi
printf '%s\n' "${EPOCHREALTIME:-$(date +%s)}" > "$__qxub_log/started"
export PYTHONUNBUFFERED=1

# context: conda
if ! command -v conda >/dev/null 2>&1; then
    echo "qxub: conda is not on PATH on $(hostname); load it with --mod or fix your PATH" >&2
    exit 127
fi
eval "$(conda shell.bash hook)"
conda activate pytorch || { echo 'qxub: conda activate pytorch failed' >&2; exit 1; }

cd -- '/home/me/my project' || exit 1
export OMP_NUM_THREADS=4
export TAG='x y'

# --pre
__qxub_pre() {
echo starting
}
__qxub_pre || exit $?

# the command
python3 train.py --lr 0.1 'a b' 'it'"'"'s' '$HOME' 'new
line'
__qxub_cmd_rc=$?

# --post (runs whatever the command's exit code)
echo done
exit $__qxub_cmd_rc
