"""The compiled lines of one ignore file, and how they decide about one path.

Each line is compiled by wildmatch.py; here a file's lines become a few regexes (one
alternation each for name lines and path lines, for folders and for files), so deciding about
a path costs at most two regex matches however many lines the file has.
"""

from __future__ import annotations

import re

from qxub.sync.wildmatch import Pattern, compile_pattern, parse_lines

_Regex = re.Pattern[bytes]
_Alternation = tuple[_Regex | None, tuple[tuple[int, bool], ...]]


def _alternation(items: list[tuple[int, Pattern]]) -> _Alternation:
    """One regex for many lines, later lines first: re takes the first alternative that
    matches, and in git the last matching line wins. Each alternative is one group."""
    if not items:
        return None, ()
    ordered = sorted(items, key=lambda item: -item[0])
    regex = re.compile(b"|".join(b"(" + p.regex + b")" for _, p in ordered), re.DOTALL)
    return regex, ((-1, False), *((index, p.negative) for index, p in ordered))


class Source:
    """The compiled lines of one ignore file (or one list of lines) and the folder, relative
    to the git worktree top and ending in '/', that they are relative to."""

    __slots__ = ("base_len", "name_dir", "name_file", "path_dir", "path_file")

    def __init__(self, patterns: list[tuple[int, Pattern]], base: bytes) -> None:
        self.base_len = len(base)
        names = [item for item in patterns if item[1].basename_only]
        paths = [item for item in patterns if not item[1].basename_only]
        self.name_dir = _alternation(names)
        self.name_file = _alternation([item for item in names if not item[1].dir_only])
        self.path_dir = _alternation(paths)
        self.path_file = _alternation([item for item in paths if not item[1].dir_only])

    @classmethod
    def parse(cls, data: bytes, base: bytes) -> Source | None:
        """The source for an ignore file's bytes; None if no line holds a pattern."""
        patterns = [
            (i, p) for i, line in enumerate(parse_lines(data)) if (p := compile_pattern(line))
        ]
        return cls(patterns, base) if patterns else None

    def decide(self, path: bytes, name_start: int, is_dir: bool) -> bool | None:
        """True if the last matching line ignores `path`, False if it re-includes it, None if
        no line matches. `path` lies below this source's folder; its name starts at name_start."""
        best, negative = -1, False
        regex, info = self.name_dir if is_dir else self.name_file
        if regex is not None and (m := regex.fullmatch(path, name_start)) is not None:
            best, negative = info[m.lastindex or 0]
        regex, info = self.path_dir if is_dir else self.path_file
        if regex is not None and (m := regex.fullmatch(path, self.base_len)) is not None:
            index, neg = info[m.lastindex or 0]
            if index > best:
                best, negative = index, neg
        return None if best < 0 else not negative
