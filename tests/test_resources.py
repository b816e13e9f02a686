"""Parsing and formatting of sizes and durations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qxub.errors import ResourceError
from qxub.job.resources import format_clock, format_size, parse_duration, parse_size

GB = 1024**3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16GB", 16 * GB),
        ("16G", 16 * GB),
        ("16gb", 16 * GB),
        ("512MB", 512 * 1024**2),
        ("1.5TB", int(1.5 * 1024**4)),
        ("100KB", 102400),
        ("2GiB", 2 * GB),
        (" 4 GB ", 4 * GB),
    ],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["lots", "16", "", "GB", "-1GB", "0GB", "16PB", "1.2.3GB"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(ResourceError) as info:
        parse_size(text)
    assert info.value.hint


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1:30:00", 5400),
        ("90m", 5400),
        ("2h30m", 9000),
        ("45s", 45),
        ("90", 5400),
        ("1d", 86400),
        ("2-00:00:00", 172800),
        ("48:00:00", 172800),
        ("1h", 3600),
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "", "1:30", "1:61:00", "0", "h", "-5m", "1.5h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ResourceError):
        parse_duration(text)


@given(st.integers(min_value=1, max_value=10**15))
def test_format_size_round_trips(nbytes: int) -> None:
    assert parse_size(format_size(nbytes)) == nbytes


@given(st.integers(min_value=1, max_value=10**7))
def test_format_clock_round_trips(seconds: int) -> None:
    assert parse_duration(format_clock(seconds)) == seconds
