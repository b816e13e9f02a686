"""Click parameter types that validate a value but keep the text as typed.

Keeping the typed text matters: the options a job came from are recorded in its script, and
`--remote` forwards them verbatim to the remote qxub, which parses them again there.
"""

from __future__ import annotations

import re
from typing import Any

import click

from qxub.errors import ResourceError
from qxub.job.resources import parse_duration, parse_size

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Validated(click.ParamType):  # type: ignore[type-arg,unused-ignore]
    def check(self, value: str) -> None:
        raise NotImplementedError

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value)
        try:
            self.check(text)
        except ResourceError as exc:
            self.fail(f"{exc.message} ({exc.hint})" if exc.hint else exc.message, param, ctx)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        return text


class SizeType(_Validated):
    name = "size"

    def check(self, value: str) -> None:
        parse_size(value)


class DurationType(_Validated):
    name = "duration"

    def check(self, value: str) -> None:
        parse_duration(value)


def split_assignments(text: str) -> list[tuple[str, str]]:
    """'A=1,B=2' -> [('A', '1'), ('B', '2')]; raises ValueError saying what is wrong."""
    pairs = []
    for part in text.split(","):
        if "=" not in part:
            raise ValueError(f"{part!r} is not KEY=VALUE")
        key, value = part.split("=", 1)
        pairs.append((key.strip(), value))
    return pairs


class AssignmentType(_Validated):
    """KEY=VALUE (or a comma-separated list of them, with `many`), KEY a shell name."""

    name = "key=value"

    def __init__(self, many: bool = False, shell_names: bool = True) -> None:
        self.many = many
        self.shell_names = shell_names

    def check(self, value: str) -> None:
        pairs = split_assignments(value) if self.many else [_one_assignment(value)]
        for key, _ in pairs:
            if self.shell_names and not _NAME.match(key):
                raise ValueError(f"{key!r} is not a valid variable name")
            if not key:
                raise ValueError(f"{value!r} has an empty key")


def _one_assignment(value: str) -> tuple[str, str]:
    if "=" not in value:
        raise ValueError(f"{value!r} is not KEY=VALUE (e.g. --var OMP_NUM_THREADS=4)")
    key, rest = value.split("=", 1)
    return key, rest
