"""Click parameter types that validate a value but keep the text as typed.

Keeping the typed text matters: the options a job came from are recorded in its script, and
`--remote` forwards them verbatim to the remote qxub, which parses them again there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from qxub.errors import ResourceError


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


# The parsers are imported when a value is checked: most runs type none of these options.
def _size(text: str) -> object:
    from qxub.job.resources import parse_size

    return parse_size(text)


def _duration(text: str) -> object:
    from qxub.job.resources import parse_duration

    return parse_duration(text)


class SizeType(CheckedText):
    def __init__(self) -> None:
        super().__init__("size", _size)


class DurationType(CheckedText):
    def __init__(self) -> None:
        super().__init__("duration", _duration)


class AssignmentType(CheckedText):
    """KEY=VALUE (or a comma-separated list of them, with `many`), KEY a shell name."""

    def __init__(
        self, many: bool = False, shell_names: bool = True, bare_keys: bool = False
    ) -> None:
        self.many = many
        self.shell_names = shell_names
        self.bare_keys = bare_keys
        super().__init__("key=value", self._parse)

    def _parse(self, text: str) -> object:
        from qxub.job.build import parse_assignments

        return parse_assignments(
            text, many=self.many, shell_names=self.shell_names, bare_keys=self.bare_keys
        )
