"""What a selection says about the entries it finds on disk: how a path is shown to a person,
and the warning a symlink gets when it will not work on the remote."""

from __future__ import annotations

import os


def show(rel: bytes) -> str:
    """A path for a human: printable as it is, else quoted with escapes."""
    text = rel.decode("utf-8", "backslashreplace") or "."
    return text if text.isprintable() else repr(text)


def check_link(path: bytes, rel: bytes, inside: bytes, warnings: list[str]) -> None:
    """Symlinks are sent as links; warn when the link will not work on the remote. `inside`:
    the project root with links resolved, ending in '/'."""
    try:
        target = os.readlink(path)
    except OSError:
        return
    resolved = os.path.realpath(path)
    if not (resolved + b"/").startswith(inside):
        warnings.append(
            f"symlink {show(rel)} points outside the project ({show(target)}): "
            "the link is sent, what it points to is not"
        )
    elif os.path.isabs(target):
        warnings.append(
            f"symlink {show(rel)} has an absolute target ({show(target)}): "
            "on the remote it points to that path there"
        )
