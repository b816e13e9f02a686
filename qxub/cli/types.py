"""Click parameter types that validate a value but keep the text as typed.

Keeping the typed text matters: the options a job came from are recorded in its script, and
`--remote` forwards them verbatim to the remote qxub, which parses them again there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from qxub.errors import ResourceError
from qxub.job.build import parse_assignments
from qxub.job.resources import parse_duration, parse_size


class CheckedText(click.ParamType):  # type: ignore[type-arg,unused-ignore]
    """Text that `check` accepts (it raises ValueError or ResourceError otherwise)."""

    def __init__(self, name: str, check: Callable[[str], object]) -> None:
        self.name = name
        self._check = check

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value)
        try:
            self._check(text)
        except ResourceError as exc:
            self.fail(f"{exc.message} ({exc.hint})" if exc.hint else exc.message, param, ctx)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        return text


class SizeType(CheckedText):
    def __init__(self) -> None:
        super().__init__("size", parse_size)


class DurationType(CheckedText):
    def __init__(self) -> None:
        super().__init__("duration", parse_duration)


class AssignmentType(CheckedText):
    """KEY=VALUE (or a comma-separated list of them, with `many`), KEY a shell name."""

    def __init__(
        self, many: bool = False, shell_names: bool = True, bare_keys: bool = False
    ) -> None:
        self.many = many
        super().__init__(
            "key=value",
            lambda text: parse_assignments(
                text, many=many, shell_names=shell_names, bare_keys=bare_keys
            ),
        )
