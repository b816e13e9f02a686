"""The project root: the nearest ancestor holding .qxub.yaml, .qxubignore or .git."""

from __future__ import annotations

from pathlib import Path

MARKERS = (".qxub.yaml", ".qxubignore", ".git")


def find_project_root(start: Path) -> Path:
    """The nearest ancestor of `start` (itself included) holding a marker, else `start`."""
    start = start.absolute()
    for folder in (start, *start.parents):
        if any((folder / marker).exists() for marker in MARKERS):
            return folder
    return start
