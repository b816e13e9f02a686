"""When the reader of qxub's output goes away (`qxub exec ... | head -3`)."""

from __future__ import annotations

import os
import sys


def silence_stdout() -> None:
    """Point stdout at /dev/null once its reader has gone, so that nothing written or flushed
    later (at exit, or by another thread) fails again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
