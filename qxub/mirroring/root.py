"""The project a push or a pull works on: the nearest folder marked as a project, never `/`
or the home directory (a push from there would send ssh keys and everything else)."""

from __future__ import annotations

import os
from pathlib import Path

from qxub.errors import UsageError
from qxub.project import find_project_root


def checked_root(cwd: Path) -> Path:
    root = find_project_root(cwd)
    home = os.path.expanduser("~")
    if str(root) == root.anchor or (home != "~" and _same(root, Path(home))):
        what = "/" if str(root) == root.anchor else "your home directory"
        raise UsageError(
            f"refusing to mirror {root}: the project would be {what}",
            hint="run qxub inside a project folder, or mark one as a project with "
            "`git init`, a .qxub.yaml or a .qxubignore in it",
        )
    return root


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
