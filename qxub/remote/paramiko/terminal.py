"""A remote script on a terminal over a paramiko session: the channel gets a pty of this
terminal's size and type, this terminal goes raw (keys, Ctrl-C included, pass as typed), the
output is written as it comes, and a window resize here resizes the remote pty."""

from __future__ import annotations

import os
import select
import shutil
import signal
import sys
from types import FrameType
from typing import Any

from qxub.terminal import raw_terminal, window_size, write_all


def run_on_channel(channel: Any, command: str) -> int:
    """Run `command` on an opened session `channel` with a pty; its exit status (255 when
    none came: the connection broke)."""
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    size = window_size(stdin) or window_size(stdout)
    rows, cols = size or (shutil.get_terminal_size().lines, shutil.get_terminal_size().columns)
    channel.get_pty(term=os.environ.get("TERM", "xterm"), width=cols, height=rows)
    channel.exec_command(command)

    def resized(signum: int, frame: FrameType | None) -> None:
        new = window_size(stdin) or window_size(stdout)
        if new:
            channel.resize_pty(width=new[1], height=new[0])

    def interrupted(signum: int, frame: FrameType | None) -> None:
        channel.send(b"\x03")  # a Ctrl-C sent to qxub from elsewhere: the program's

    old_winch = signal.signal(signal.SIGWINCH, resized)
    old_int = signal.signal(signal.SIGINT, interrupted)
    inputs: list[Any] = [channel, stdin]
    try:
        with raw_terminal(stdin):
            while True:
                try:
                    ready, _, _ = select.select(inputs, [], [], 0.5)
                except InterruptedError:
                    continue
                if channel in ready:
                    data = channel.recv(65536)
                    if not data:
                        break
                    write_all(stdout, data)
                if stdin in ready:
                    keys = os.read(stdin, 65536)
                    if keys:
                        channel.sendall(keys)
                    else:
                        inputs.remove(stdin)
                        channel.shutdown_write()
                if channel.closed or (not ready and channel.exit_status_ready()):
                    while channel.recv_ready():
                        write_all(stdout, channel.recv(65536))
                    break
    finally:
        signal.signal(signal.SIGWINCH, old_winch)
        signal.signal(signal.SIGINT, old_int)
    status = int(channel.recv_exit_status())  # -1: the channel closed without one
    channel.close()
    return status if status >= 0 else 255
