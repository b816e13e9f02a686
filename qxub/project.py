"""The project root: the nearest ancestor holding .qxub.yaml, .qxubignore or .git."""

from __future__ import annotations

import os
from pathlib import Path

MARKERS = (".qxub.yaml", ".qxubignore", ".git")


def find_project_root(start: Path) -> Path:
    """The nearest ancestor of `start` (itself, or its folder if it is a file, included) that
    holds `.qxub.yaml`, `.qxubignore` or `.git` (a file or a folder, a dangling link too);
    `start` itself when there is none. Made absolute, symlinks left as they are."""
    start = Path(os.path.abspath(start))
    if not start.is_dir():
        start = start.parent
    for folder in (start, *start.parents):
        if any(os.path.lexists(folder / marker) for marker in MARKERS):
            return folder
    return start
