"""What YAML files said, kept so that the next run does not parse them again: a run that
reads the config (every run) would otherwise import and run the YAML parser, about 15 ms
before anything else can happen (`exec --remote` waits on it).

One file in the cache folder maps a file's name to its text and what the text parsed to, as
`marshal` writes it (no import to read it). An entry is used only when the text read now is
the same text: a changed file is parsed anew, so the cache can never give stale values. What
marshal cannot hold (YAML dates) is simply not kept. qxub.cli.configured keeps here too what
a config's `defaults:` entries were checked to (click does that check).
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys

from qxub.state import cache_home

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from typing import Any

_FILE = "yaml.marshal"
_MOST = 64  # entries kept: the config layers, platform files and `defaults:` of a few projects
_TAG = f"qxub yaml cache {sys.version_info[0]}.{sys.version_info[1]}"

_entries: dict[str, tuple[str, bytes]] | None = None  # read once per run


def _load() -> dict[str, tuple[str, bytes]]:
    global _entries
    if _entries is None:
        _entries = {}
        with contextlib.suppress(OSError, ValueError, EOFError, TypeError):
            with open(cache_home() / _FILE, "rb") as handle:
                tag, entries = marshal.load(handle)
            if tag == _TAG and isinstance(entries, dict):
                _entries = entries
    return _entries


def cached(source: str, text: str) -> tuple[bool, Any]:
    """(True, data) when `text` is what `source` held when it was last parsed."""
    found = _load().get(source)
    if isinstance(found, tuple) and len(found) == 2 and found[0] == text:
        with contextlib.suppress(ValueError, EOFError, TypeError):
            return True, marshal.loads(found[1])  # new objects each time: callers may change them
    return False, None


def keep(source: str, text: str, data: Any) -> None:
    """Remember what `text` of `source` parsed to. Written whole under a temporary name, then
    renamed; any failure only costs the next run a parse."""
    try:
        parsed = marshal.dumps(data)
    except ValueError:
        return
    entries = _load()
    entries.pop(source, None)
    entries[source] = (text, parsed)
    while len(entries) > _MOST:
        entries.pop(next(iter(entries)))
    folder = cache_home()
    temporary = folder / f"{_FILE}.{os.getpid()}.tmp"
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        with open(temporary, "wb") as handle:
            marshal.dump((_TAG, entries), handle)
        os.replace(temporary, folder / _FILE)
    with contextlib.suppress(OSError):
        os.unlink(temporary)
