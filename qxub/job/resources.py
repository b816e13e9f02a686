"""Parse and format resource amounts: memory and disk sizes, wall times.

Sizes use binary multiples, as PBS Pro and Slurm do: 1GB = 1024**3 bytes.
"""

from __future__ import annotations

import math
import re

from qxub.errors import ResourceError

_SIZE_UNITS = {
    "": None,
    "B": 1,
    "K": 1024,
    "KB": 1024,
    "KIB": 1024,
    "M": 1024**2,
    "MB": 1024**2,
    "MIB": 1024**2,
    "G": 1024**3,
    "GB": 1024**3,
    "GIB": 1024**3,
    "T": 1024**4,
    "TB": 1024**4,
    "TIB": 1024**4,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


def parse_size(text: str, what: str = "size") -> int:
    """'16GB', '512M', '1.5TB' -> bytes. A bare number is refused: its unit is a guess."""
    match = _SIZE_RE.match(text)
    unit = match.group(2).upper() if match else ""
    if not match or unit not in _SIZE_UNITS:
        raise ResourceError(
            f"cannot read {what} {text!r}",
            hint="write a number with a unit, e.g. 16GB, 512MB or 1.5TB",
        )
    multiplier = _SIZE_UNITS[unit]
    if multiplier is None:
        raise ResourceError(
            f"{what} {text!r} has no unit",
            hint=f"write it with a unit, e.g. {match.group(1)}GB or {match.group(1)}MB",
        )
    value = math.ceil(float(match.group(1)) * multiplier)
    if value <= 0:
        raise ResourceError(f"{what} {text!r} must be more than zero", hint="e.g. 16GB")
    return value


def format_size(nbytes: int) -> str:
    """Bytes -> the largest whole unit, PBS style: 17179869184 -> '16GB'."""
    for unit, multiplier in (("TB", 1024**4), ("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if nbytes % multiplier == 0:
            return f"{nbytes // multiplier}{unit}"
    return f"{nbytes}B"


def format_size_human(nbytes: float) -> str:
    """Bytes -> a short human figure: 1536 -> '1.5KB'."""
    value = float(nbytes)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    raise AssertionError("unreachable")


_DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_CLOCK_RE = re.compile(r"^(?:(\d+)-)?(\d+):(\d{1,2}):(\d{1,2})$")


def parse_duration(text: str, what: str = "runtime") -> int:
    """'1:30:00', '90m', '2h30m', '45s', '1d', '2-00:00:00', '90' (minutes) -> seconds."""
    s = text.strip().lower()
    seconds: int | None = None
    if s.isdigit():
        seconds = int(s) * 60
    elif match := _CLOCK_RE.match(s):
        days, hours, minutes, secs = (int(g) if g else 0 for g in match.groups())
        if minutes < 60 and secs < 60:
            seconds = ((days * 24 + hours) * 60 + minutes) * 60 + secs
    elif s and (match := _DURATION_RE.match(s)):
        days, hours, minutes, secs = (int(g) if g else 0 for g in match.groups())
        seconds = ((days * 24 + hours) * 60 + minutes) * 60 + secs
    if seconds is None:
        raise ResourceError(
            f"cannot read {what} {text!r}",
            hint="write e.g. 1:30:00, 90m, 2h30m, 45s or 90 (minutes)",
        )
    if seconds <= 0:
        raise ResourceError(f"{what} {text!r} must be more than zero", hint="e.g. 1h")
    return seconds


def format_clock(seconds: int) -> str:
    """Seconds -> 'HH:MM:SS' with hours past 24 kept (PBS walltime)."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def format_duration(seconds: float) -> str:
    """Seconds -> a short human figure: 5400 -> '1h30m', 2.5 -> '2.5s'."""
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"
