"""One gitignore line -> a bytes regex that matches exactly what git's matcher matches.

A faithful translation of git's `dir.c` (parse_path_pattern, match_basename, match_pathname) and
`wildmatch.c` (WM_PATHNAME), working on the raw bytes of paths as git does: `?` matches one
byte, not one character, and names that are not UTF-8 match like any other. With `casefold`
(git's core.ignoreCase), patterns are compiled for text that the caller has lowered
(ASCII only, as git's tolower), following wildmatch's WM_CASEFOLD rules.

Backtracking: a regex for `*a*a*a...` backtracks exponentially where git's wildmatch gives up
at once. A `*` followed by a fixed run of bytes and another `*` (all within one path
component) takes the earliest place where the run matches, and never tries another (an atomic
group, written as a lookahead and a back-reference so that Python 3.10 has it too): a later
place could only leave the next `*` less to match. The group names are placeholders until
`number_groups` gives each regex of an alternation its own.

pathspec's GitIgnoreSpec is close but not exact (it matches characters, not bytes, and misses
git's literal-prefix split: in git `a**/b` matches `a/b` and `ax/y/b`), so qxub does it here.
"""

from __future__ import annotations

import re

from qxub.record import record

NEVER = b"(?!)"
_MARK = b"\0"  # a group name placeholder: a NUL never reaches a regex any other way
_SLASH = ord("/")
_STAR = ord("*")
_BACKSLASH = ord("\\")
_GLOB_SPECIAL = frozenset(b"*?[\\")


def _span(first: str, last: str) -> frozenset[int]:
    return frozenset(range(ord(first), ord(last) + 1))


_UPPER, _LOWER, _DIGIT = _span("A", "Z"), _span("a", "z"), _span("0", "9")
_PRINT = _span(" ", "~")
# Git's own ctype table (sane_ctype): ASCII only, and "space" is only \t \n \r and ' '.
_CLASSES: dict[bytes, frozenset[int]] = {
    b"alnum": _UPPER | _LOWER | _DIGIT,
    b"alpha": _UPPER | _LOWER,
    b"blank": frozenset(b" \t"),
    b"cntrl": frozenset(range(32)) | {127},
    b"digit": _DIGIT,
    b"graph": _PRINT - {32},
    b"lower": _LOWER,
    b"print": _PRINT,
    b"punct": _PRINT - _UPPER - _LOWER - _DIGIT - {32},
    b"space": frozenset(b"\t\n\r "),
    b"upper": _UPPER,
    b"xdigit": _DIGIT | _span("a", "f") | _span("A", "F"),
}


@record(frozen=True)
class Pattern:
    """One parsed ignore line. `regex` is matched (fullmatch) against the basename when
    `basename_only`, else against the path relative to the ignore file's folder."""

    regex: bytes
    negative: bool
    dir_only: bool
    basename_only: bool
    literal: bytes | None = None  # no wildcard: the name (or the path) itself
    suffix: bytes | None = None  # `*` then no wildcard: names ending with this


def number_groups(regex: bytes, first: int = 0) -> tuple[bytes, int]:
    """`regex` with its atomic groups' placeholder names made unique (a0, a1 ... from
    `first`); returns it and how many groups it holds."""
    pieces = regex.split(_MARK)
    if len(pieces) == 1:
        return regex, 0
    out = [pieces[0]]
    for k, piece in enumerate(pieces[1:]):
        out += [b"a%d" % (first + k // 2), piece]
    return b"".join(out), (len(pieces) - 1) // 2


def _atomic(inner: bytes) -> bytes:
    return b"(?=(?P<" + _MARK + b">" + inner + b"))(?P=" + _MARK + b")"


def _byte_class(members: set[int], negated: bool) -> bytes:
    """A regex class for the bytes a bracket expression matches ('/' never does)."""
    chosen = [b for b in range(1, 256) if (b in members) != negated and b != _SLASH]
    if not chosen:
        return NEVER
    parts: list[str] = []
    start = prev = chosen[0]
    for byte in [*chosen[1:], -1]:
        if byte == prev + 1:
            prev = byte
            continue
        parts.append(f"\\x{start:02x}" if start == prev else f"\\x{start:02x}-\\x{prev:02x}")
        start = prev = byte
    return ("[" + "".join(parts) + "]").encode()


def _fold_range(low: int, high: int, casefold: bool) -> range | set[int]:
    """The bytes a range `[low-high]` matches; with casefold, wildmatch also takes a lower-case
    byte whose upper case is in the range (the text is lowered, the range is not)."""
    if not casefold:
        return range(low, high + 1)
    return {b for b in range(256) if low <= b <= high or (b in _LOWER and low <= b - 32 <= high)}


def _bracket(pat: bytes, i: int, casefold: bool = False) -> tuple[bytes, int]:
    """Translate the bracket expression opening at pat[i]; returns (regex, index of its ']').
    Malformed or unclosed brackets make git abort the whole match: NEVER."""
    n = len(pat)

    def at(k: int) -> int:
        return pat[k] if k < n else 0

    j = i + 1
    p_ch = at(j)
    negated = p_ch in (ord("!"), ord("^"))
    if negated:
        j += 1
        p_ch = at(j)
    members: set[int] = set()
    prev_ch = 0
    while True:  # git's do { ... } while (prev_ch = p_ch, (p_ch = *++p) != ']')
        if not p_ch:
            return NEVER, n
        if p_ch == _BACKSLASH:
            j += 1
            p_ch = at(j)
            if not p_ch:
                return NEVER, n
            members.add(p_ch)
        elif p_ch == ord("-") and prev_ch and at(j + 1) not in (0, ord("]")):
            j += 1
            p_ch = at(j)
            if p_ch == _BACKSLASH:
                j += 1
                p_ch = at(j)
                if not p_ch:
                    return NEVER, n
            members.update(_fold_range(prev_ch, p_ch, casefold))
            p_ch = 0
        elif p_ch == ord("[") and at(j + 1) == ord(":"):
            s = k = j + 2
            while k < n and pat[k] != ord("]"):
                k += 1
            if k >= n:
                return NEVER, n
            if k - s - 1 < 0 or pat[k - 1] != ord(":"):
                # No ":]": the '[' is an ordinary member and scanning goes on after it.
                members.add(p_ch)
            else:
                name = pat[s : k - 1]
                cls = _CLASSES.get(name)
                if cls is None:
                    return NEVER, n
                members |= _UPPER | _LOWER if casefold and name == b"upper" else cls
                j = k
                p_ch = 0
        else:
            members.add(p_ch)
        prev_ch = p_ch
        j += 1
        p_ch = at(j)
        if p_ch == ord("]"):
            return _byte_class(members, negated), j


_STAR_RE = b"[^/]*"
_FIXED, _STARRED, _OTHER = 0, 1, 2  # token kinds: one byte but '/', `*`, anything else


def _wild(pat: bytes, casefold: bool = False) -> bytes:
    """wildmatch(pat, text, WM_PATHNAME) as a regex; `pat` starts where git's matcher starts
    (which matters: a `**` there counts as following a slash)."""
    tokens: list[tuple[int, bytes]] = []
    i, n = 0, len(pat)
    while i < n:
        c = pat[i]
        if c == _STAR:
            j = i
            while j < n and pat[j] == _STAR:
                j += 1
            if j - i > 1 and (i == 0 or pat[i - 1] == _SLASH):
                if j == n:  # trailing "**": everything
                    tokens.append((_OTHER, b".*"))
                    i = j
                    continue
                if pat[j] == _SLASH:  # "**/": zero or more whole folders
                    tokens.append((_OTHER, b"(?:.*/)?"))
                    i = j + 1
                    continue
                if pat[j : j + 2] == b"\\/":  # "**\/": git skips the zero-folder case
                    tokens.append((_OTHER, b".*"))
                    i = j
                    continue
            tokens.append((_STARRED, _STAR_RE))
            i = j
        elif c == ord("?"):
            tokens.append((_FIXED, b"[^/]"))
            i += 1
        elif c == ord("["):
            regex, end = _bracket(pat, i, casefold)
            if regex == NEVER:
                return NEVER
            tokens.append((_FIXED, regex))
            i = end + 1
        elif c == _BACKSLASH:
            if i + 1 >= n:  # a lone trailing backslash never matches
                return NEVER
            tokens.append(_literal(pat[i + 1 : i + 2], casefold))
            i += 2
        else:
            tokens.append(_literal(pat[i : i + 1], casefold))
            i += 1
    return _render(tokens)


def _literal(byte: bytes, casefold: bool) -> tuple[int, bytes]:
    kind = _OTHER if byte == b"/" else _FIXED
    return kind, re.escape(byte.lower() if casefold else byte)


def _render(tokens: list[tuple[int, bytes]]) -> bytes:
    """The tokens as one regex; `*`, a fixed run, `*` becomes an atomic group (see above)."""
    out: list[bytes] = []
    i, n = 0, len(tokens)
    while i < n:
        kind, regex = tokens[i]
        if kind == _STARRED:
            j = i + 1
            while j < n and tokens[j][0] == _FIXED:
                j += 1
            if j > i + 1 and j < n and tokens[j][0] == _STARRED:
                fixed = b"".join(t for _, t in tokens[i + 1 : j])
                out.append(_atomic(b"[^/]*?" + fixed))
                i = j
                continue
        out.append(regex)
        i += 1
    return b"".join(out)


def _trim_trailing_spaces(line: bytes) -> bytes:
    """git's trim_trailing_spaces: unescaped trailing spaces (not tabs) go."""
    last_space = -1
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == ord(" "):
            if last_space < 0:
                last_space = i
        elif c == _BACKSLASH:
            i += 1
            if i >= n:
                return line
            last_space = -1
        else:
            last_space = -1
        i += 1
    return line[:last_space] if last_space >= 0 else line


def parse_lines(data: bytes) -> list[bytes]:
    """The pattern lines of an ignore file, as git reads them: a UTF-8 BOM skipped, CRLF
    accepted, blank lines and `#` comments dropped, trailing spaces trimmed."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = []
    for raw in data.split(b"\n"):
        if not raw or raw.startswith(b"#"):
            continue
        line = raw[:-1] if raw.endswith(b"\r") else raw
        line = _trim_trailing_spaces(line.split(b"\0", 1)[0])
        if line:
            lines.append(line)
    return lines


def compile_pattern(line: bytes, casefold: bool = False) -> Pattern | None:
    """One pattern line (already through parse_lines) -> Pattern; None if it matches nothing.
    With `casefold`, the pattern is for lowered text (core.ignoreCase)."""
    negative = line.startswith(b"!")
    if negative:
        line = line[1:]
    dir_only = line.endswith(b"/")
    if dir_only:
        line = line[:-1]
    if not line:
        return None
    basename_only = b"/" not in line
    literal = suffix = None
    if basename_only:
        # Matched against the basename only, at any depth below the ignore file's folder.
        regex = _wild(line, casefold)
        wild = [k for k, c in enumerate(line) if c in _GLOB_SPECIAL]
        if not wild:
            literal = line.lower() if casefold else line
        elif wild == [0] and line[0] == _STAR and len(line) > 1:
            suffix = line[1:].lower() if casefold else line[1:]
    else:
        # Anchored to the folder. git compares the part before the first wildcard literally
        # and wildmatches only the rest, so the rest starts a fresh match.
        prefix = next((k for k, c in enumerate(line) if c in _GLOB_SPECIAL), len(line))
        if line.startswith(b"/"):
            line, prefix = line[1:], prefix - 1
        head = line[:prefix].lower() if casefold else line[:prefix]
        rest = _wild(line[prefix:], casefold)
        regex = NEVER if rest == NEVER else re.escape(head) + rest
        if prefix == len(line):
            literal = head
    if regex == NEVER:
        return None
    return Pattern(regex, negative, dir_only, basename_only, literal, suffix)
