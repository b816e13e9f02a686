"""`shutil.which` without importing shutil, which brings the compression modules with it
(about 2 ms of every push). The same answer: POSIX's search of PATH (or the system's default
path when PATH is unset), each folder once, the first entry that this process may execute
and is not a folder. A name with a folder in it, and Windows (PATHEXT), go to shutil."""

from __future__ import annotations

import os
import sys


def which(command: str) -> str | None:
    """The path `command` would run as, like `shutil.which(command)`; None if none."""
    if sys.platform == "win32" or os.path.dirname(command):
        import shutil

        return shutil.which(command)
    path = os.environ.get("PATH")
    if path is None:
        try:
            path = os.confstr("CS_PATH")
        except (AttributeError, ValueError):
            path = os.defpath
    if not path:
        return None
    seen = set()
    for folder in path.split(os.pathsep):
        if folder in seen:
            continue
        seen.add(folder)
        name = os.path.join(folder, command)
        if os.access(name, os.X_OK) and not os.path.isdir(name):
            return name
    return None
