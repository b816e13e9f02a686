"""What the laptop and the remote qxub say when a session opened ahead hands a run over
(qxub.remote.warm sends, qxub.awaited answers): the hidden command, the environment variable
that carries the mirror's folder, the line that says the remote qxub awaits the rest, and the
rest itself. Imports nothing of qxub: both ends load it at start-up."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from collections.abc import Sequence

WORD = "_await"  # qxub's hidden command for this
ROOT_ENV = "QXUB_AWAIT_ROOT"  # the mirror's folder, as the remote shell expanded it
READY = b"\x1eqxub-await 1\n"  # said first by the remote qxub: the laptop may send the rest
_TAG = b"qxub-await 1"
EXIT_NO_DIR = 97  # the mirror's folder could not be made or entered (by the script, or here)
# A --dry run's folder in a mirror that does not exist: the remote qxub shows the job as if it
# stood there, from where the login left it, and the folder is not made (--dry changes nothing).
ABSENT_ENV = "QXUB_ABSENT_FOLDER"


class HandOver(list[str]):
    """A script's lines, and the same run in two parts: `prelude`, which a session opened
    ahead may run before this run knows the rest, and `payload`, the rest, for the remote
    qxub the prelude starts (qxub.awaited) to read on its stdin."""

    def __init__(self, lines: Sequence[str], prelude: Sequence[str], payload: bytes) -> None:
        super().__init__(lines)
        self.prelude = tuple(prelude)
        self.payload = payload


def is_dry(words: Sequence[str]) -> bool:
    """Do qxub's words (`exec [OPTIONS] -- COMMAND`) ask for a dry run?"""
    options = words[: words.index("--")] if "--" in words else words
    return "--dry" in options


def payload(sub: str, words: Sequence[str]) -> bytes:
    """What the laptop sends: `sub` (where the user stands in the project, "." for its top)
    and the words of qxub's command line, NUL-separated (no word can hold a NUL)."""
    return b"\0".join([_TAG, os.fsencode(sub), *(os.fsencode(word) for word in words)]) + b"\0"


def parse(data: bytes) -> tuple[str, list[str]] | None:
    """`payload`'s inverse; None for anything else (an empty stdin among it)."""
    parts = data.split(b"\0")
    if len(parts) < 3 or parts[0] != _TAG or parts[-1] != b"":
        return None
    return os.fsdecode(parts[1]), [os.fsdecode(word) for word in parts[2:-1]]
