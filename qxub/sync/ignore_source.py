"""The compiled lines of ignore files, and how the lines that apply to one folder decide about
the entries in it.

A folder's rules are a stack of sources (ignore files and lists of lines), highest layer
first; the first source with a matching line decides, and within it the last matching line.
A `Matcher` turns a whole stack into one ranking: literal names, simple suffixes (`*.log`)
and literal paths are looked up in dicts, and only the other lines are tried as regexes, one
alternation for names and one for paths, ordered by rank so that the first alternative that
matches is the one that decides. A stack is compiled once and shared by every folder that has
the same ignore files above it.
"""

from __future__ import annotations

import re
import sys

from qxub.sync.wildmatch import Pattern, compile_pattern, number_groups, parse_lines

NONE = sys.maxsize
"""The code of "no line matches". A line's code orders it against every other line that can
apply to a folder, the best first: (its source's rank, its place in the file from the end),
times two, plus one if the line re-includes. Codes do not depend on the rest of the stack, so
a folder's rules are its parent's plus its own ignore files'."""

_LINES = 1 << 20  # lines counted per file; more are ranked as the 2**20th from the end


def rank(band: int, within: int) -> int:
    """A source's rank (smaller wins): its layer's band, then its place within the layer."""
    return band * 4096 + min(max(within, 0), 4095)


class Source:
    """The compiled lines of one ignore file (or one list of lines), in file order; the folder,
    relative to the git worktree top and ending in '/', that they are relative to; its rank."""

    __slots__ = ("base", "patterns", "rank")

    def __init__(self, patterns: list[Pattern], base: bytes, rank: int) -> None:
        self.patterns = patterns
        self.base = base
        self.rank = rank

    @classmethod
    def parse(cls, data: bytes, base: bytes, rank: int, casefold: bool = False) -> Source | None:
        """The source for an ignore file's bytes; None if no line holds a pattern."""
        found = [p for line in parse_lines(data) if (p := compile_pattern(line, casefold))]
        return cls(found, base, rank) if found else None

    def ranked(self, casefold: bool) -> list[tuple[int, bytes, Pattern]]:
        """Each line with its code and base (lowered for casefold)."""
        base = self.base.lower() if casefold else self.base
        top = self.rank * _LINES * 2
        last = len(self.patterns) - 1  # the last line of a file wins: it gets the best code
        return [
            (top + 2 * min(last - i, _LINES - 1) + p.negative, base, p)
            for i, p in enumerate(self.patterns)
        ]


_Ranked = list[tuple[int, bytes, Pattern]]
_Alts = list[tuple[int, bytes]]
_COMPILED: dict[bytes, re.Pattern[bytes]] = {}
"""Alternations by their text: folders whose ignore files add only literal names and suffixes
share their parent's."""


def _alternation(items: _Alts) -> tuple[re.Pattern[bytes] | None, list[int]]:
    """One regex for `items` (code, regex), best code first, and the code of each group."""
    if not items:
        return None, []
    codes = [NONE]
    parts = []
    for code, regex in items:
        numbered, inner = number_groups(regex, len(codes))
        parts.append(b"(" + numbered + b")")
        codes += [code] * (1 + inner)
    text = b"|".join(parts)
    compiled = _COMPILED.get(text)
    if compiled is None:
        if len(_COMPILED) > 4096:  # a bound for long-lived processes (watch)
            _COMPILED.clear()
        compiled = _COMPILED[text] = re.compile(text, re.DOTALL)
    return compiled, codes


def _keep_best(table: dict[bytes, int], key: bytes, code: int) -> None:
    if code < table.get(key, NONE):
        table[key] = code


class _Table:
    """The lines of a stack that apply to folders (every line) or to files (no `dir/` lines)."""

    __slots__ = (
        "lengths",
        "name_alts",
        "name_codes",
        "name_first",
        "name_re",
        "names",
        "path_alts",
        "path_codes",
        "path_first",
        "path_re",
        "paths",
        "suffixes",
    )
    name_alts: _Alts
    name_re: re.Pattern[bytes] | None
    name_codes: list[int]
    path_alts: _Alts
    path_re: re.Pattern[bytes] | None
    path_codes: list[int]

    def __init__(self, ranked: _Ranked, parent: _Table | None = None) -> None:
        self.names: dict[bytes, int] = dict(parent.names) if parent else {}
        self.suffixes: dict[bytes, int] = dict(parent.suffixes) if parent else {}
        self.paths: dict[bytes, int] = dict(parent.paths) if parent else {}
        name_alts: _Alts = []
        path_alts: _Alts = []
        for code, base, p in ranked:
            if p.basename_only:
                if p.literal is not None:
                    _keep_best(self.names, p.literal, code)
                elif p.suffix is not None:
                    _keep_best(self.suffixes, p.suffix, code)
                else:
                    name_alts.append((code, p.regex))
            elif p.literal is not None:
                _keep_best(self.paths, base + p.literal, code)
            else:
                path_alts.append((code, re.escape(base) + p.regex))
        self.lengths = tuple(sorted({len(s) for s in self.suffixes}))
        if parent is not None and not name_alts:
            self.name_alts, self.name_re, self.name_codes = (
                parent.name_alts,
                parent.name_re,
                parent.name_codes,
            )
        else:
            self.name_alts = sorted([*(parent.name_alts if parent else ()), *name_alts])
            self.name_re, self.name_codes = _alternation(self.name_alts)
        if parent is not None and not path_alts:
            self.path_alts, self.path_re, self.path_codes = (
                parent.path_alts,
                parent.path_re,
                parent.path_codes,
            )
        else:
            self.path_alts = sorted([*(parent.path_alts if parent else ()), *path_alts])
            self.path_re, self.path_codes = _alternation(self.path_alts)
        self.name_first = self.name_alts[0][0] if self.name_alts else NONE
        self.path_first = self.path_alts[0][0] if self.path_alts else NONE

    def decide(self, path: bytes, name: bytes) -> int:
        """The code of the line that decides about `path` (relative to the worktree top; its
        last component is `name`); NONE if no line matches."""
        best = self.names.get(name, NONE)
        for length in self.lengths:
            code = self.suffixes.get(name[-length:], NONE)
            if code < best:
                best = code
        if self.paths:
            code = self.paths.get(path, NONE)
            if code < best:
                best = code
        if self.name_first < best and self.name_re is not None:
            m = self.name_re.fullmatch(name)
            if m is not None and self.name_codes[m.lastindex or 0] < best:
                best = self.name_codes[m.lastindex or 0]
        if self.path_first < best and self.path_re is not None:
            m = self.path_re.fullmatch(path)
            if m is not None and self.path_codes[m.lastindex or 0] < best:
                best = self.path_codes[m.lastindex or 0]
        return best


class Matcher:
    """A stack of sources compiled for the entries of a folder: `plus` adds a folder's own."""

    __slots__ = ("casefold", "dirs", "files", "sources")
    dirs: _Table
    files: _Table

    def __init__(
        self, sources: frozenset[Source], casefold: bool = False, parent: Matcher | None = None
    ) -> None:
        self.sources = sources
        self.casefold = casefold
        new = sources - parent.sources if parent is not None else sources
        ranked = [item for source in new for item in source.ranked(casefold)]
        self.dirs = _Table(ranked, parent.dirs if parent else None)
        self.files = _Table(
            [item for item in ranked if not item[2].dir_only], parent.files if parent else None
        )

    def plus(self, sources: frozenset[Source]) -> Matcher:
        """The matcher for `sources`, built on this one if it holds a part of them."""
        if self.sources <= sources:
            return Matcher(sources, self.casefold, self)
        return Matcher(sources, self.casefold)

    def excluded(self, path: bytes, name_start: int, is_dir: bool) -> bool:
        """Whether `path` (lowered under core.ignoreCase) is ignored by a rule for itself."""
        code = (self.dirs if is_dir else self.files).decide(path, path[name_start:])
        return not code & 1 and code != NONE
