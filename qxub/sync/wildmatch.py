"""One gitignore line -> a bytes regex that matches exactly what git's matcher matches.

A faithful translation of git's `dir.c` (parse_path_pattern, match_basename, match_pathname) and
`wildmatch.c` (WM_PATHNAME), working on the raw bytes of paths as git does: `?` matches one
byte, not one character, and names that are not UTF-8 match like any other.

pathspec's GitIgnoreSpec is close but not exact (it matches characters, not bytes, and misses
git's literal-prefix split: in git `a**/b` matches `a/b` and `ax/y/b`), so qxub does it here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NEVER = b"(?!)"
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


@dataclass(frozen=True)
class Pattern:
    """One parsed ignore line. `regex` is matched (fullmatch) against the basename when
    `basename_only`, else against the path relative to the ignore file's folder."""

    regex: bytes
    negative: bool
    dir_only: bool
    basename_only: bool


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


def _bracket(pat: bytes, i: int) -> tuple[bytes, int]:
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
            members.update(range(prev_ch, p_ch + 1))
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
                cls = _CLASSES.get(pat[s : k - 1])
                if cls is None:
                    return NEVER, n
                members |= cls
                j = k
                p_ch = 0
        else:
            members.add(p_ch)
        prev_ch = p_ch
        j += 1
        p_ch = at(j)
        if p_ch == ord("]"):
            return _byte_class(members, negated), j


def _wild(pat: bytes) -> bytes:
    """wildmatch(pat, text, WM_PATHNAME) as a regex; `pat` starts where git's matcher starts
    (which matters: a `**` there counts as following a slash)."""
    out: list[bytes] = []
    i, n = 0, len(pat)
    while i < n:
        c = pat[i]
        if c == _STAR:
            j = i
            while j < n and pat[j] == _STAR:
                j += 1
            if j - i > 1 and (i == 0 or pat[i - 1] == _SLASH):
                if j == n:  # trailing "**": everything
                    out.append(b".*")
                    i = j
                    continue
                if pat[j] == _SLASH:  # "**/": zero or more whole folders
                    out.append(b"(?:.*/)?")
                    i = j + 1
                    continue
                if pat[j : j + 2] == b"\\/":  # "**\/": git skips the zero-folder case
                    out.append(b".*")
                    i = j
                    continue
            out.append(b"[^/]*")
            i = j
        elif c == ord("?"):
            out.append(b"[^/]")
            i += 1
        elif c == ord("["):
            regex, end = _bracket(pat, i)
            if regex == NEVER:
                return NEVER
            out.append(regex)
            i = end + 1
        elif c == _BACKSLASH:
            if i + 1 >= n:  # a lone trailing backslash never matches
                return NEVER
            out.append(re.escape(pat[i + 1 : i + 2]))
            i += 2
        else:
            out.append(re.escape(pat[i : i + 1]))
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


def compile_pattern(line: bytes) -> Pattern | None:
    """One pattern line (already through parse_lines) -> Pattern; None if it matches nothing."""
    negative = line.startswith(b"!")
    if negative:
        line = line[1:]
    dir_only = line.endswith(b"/")
    if dir_only:
        line = line[:-1]
    if not line:
        return None
    basename_only = b"/" not in line
    if basename_only:
        # Matched against the basename only, at any depth below the ignore file's folder.
        regex = _wild(line)
    else:
        # Anchored to the folder. git compares the part before the first wildcard literally
        # and wildmatches only the rest, so the rest starts a fresh match.
        prefix = next((k for k, c in enumerate(line) if c in _GLOB_SPECIAL), len(line))
        if line.startswith(b"/"):
            line, prefix = line[1:], prefix - 1
        rest = _wild(line[prefix:])
        regex = NEVER if rest == NEVER else re.escape(line[:prefix]) + rest
    if regex == NEVER:
        return None
    return Pattern(regex, negative, dir_only, basename_only)
