"""The XDG base folders, with `os` alone (qxub.remote.warm reads its store before anything
else is imported); qxub.state gives them as paths."""

from __future__ import annotations

import os


def xdg_dir(name: str, fallback: str) -> str:
    """$`name` when it is an absolute path, else `fallback` under the home folder."""
    value = os.environ.get(name)
    if value and os.path.isabs(value):
        return value
    return os.path.join(os.path.expanduser("~"), fallback)


def state_dir() -> str:
    """qxub's state folder: $XDG_STATE_HOME/qxub (~/.local/state/qxub)."""
    return os.path.join(xdg_dir("XDG_STATE_HOME", os.path.join(".local", "state")), "qxub")
