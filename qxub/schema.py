"""The one reader of qxub's YAML files: config layers, their remotes, platform files.

Every check names the file, the key path and what is valid, with a close match when a name
is mistyped, so a wrong file is fixed from the message alone.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from qxub.errors import ConfigError, ResourceError

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from typing import Any, NoReturn


def close_matches(name: str, known: Collection[str], n: int = 3) -> list[str]:
    """Names in `known` that look like `name`: same but for case first, then similar ones."""
    same_but_case = [k for k in known if k.lower() == name.lower() and k != name]
    import difflib  # for a mistake's message only

    return (same_but_case or difflib.get_close_matches(name, list(known), n=n, cutoff=0.5))[:n]


def did_you_mean(name: str, known: Collection[str], quote: bool = False, n: int = 3) -> str:
    """'did you mean a or b? ' for (at most `n`) names like `name` in `known`, or ''."""
    close = close_matches(name, known, n)
    if not close:
        return ""
    shown = [repr(c) if quote else c for c in close]
    return f"did you mean {' or '.join(shown)}? "


def load_yaml(text: str, source: str) -> Any:
    """Parse one file's text; a syntax error is a ConfigError with the line and column.
    Parsed once per text: qxub.yaml_cache keeps what it parsed to."""
    from qxub import yaml_cache

    known, data = yaml_cache.cached(source, text)
    if known:
        return data
    import yaml  # only when a file is read, so `qxub --help` stays fast

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(
            f"{source}: not valid YAML{where}: {problem}",
            hint="fix the file, or move it aside to run without it",
        ) from None
    yaml_cache.keep(source, text, data)
    return data


def kind(value: object) -> str:
    """What a YAML value is, as a reader of the file would say it."""
    if value is None:
        return "nothing"
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: f"the text {value!r}",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class Reader:
    """Typed access to one file's parsed YAML. `path` arguments are key paths inside the file
    (`queues.normal.node_cpus`); every failure is a ConfigError naming the file and that path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str, hint: str | None = None) -> NoReturn:
        where = f"{path}: " if path else ""
        raise ConfigError(f"{self.source}: {where}{message}", hint=hint)

    def mapping(
        self,
        value: object,
        path: str,
        valid: Collection[str] | Mapping[str, str],
        example: str | None = None,
    ) -> dict[str, object]:
        """A mapping whose keys are all in `valid` (a mapping of key to what it is for, when
        the hint should say so)."""
        if not isinstance(value, Mapping):
            self.fail(path, f"expected a mapping of keys, got {kind(value)}", example)
        for key in value:
            if not isinstance(key, str) or key not in valid:
                if isinstance(valid, Mapping):
                    listing = "; ".join(f"{k} ({what})" for k, what in valid.items())
                else:
                    listing = ", ".join(valid)
                guess = did_you_mean(str(key), valid, quote=True, n=1)
                self.fail(join(path, str(key)), "unknown key", f"{guess}valid keys: {listing}")
        return {str(k): v for k, v in value.items()}

    def any_keys(self, value: object, path: str, what: str, example: str) -> dict[str, object]:
        """A mapping whose keys another check decides on: `what` says what it holds."""
        if not isinstance(value, Mapping):
            self.fail(path, f"expected {what}, got {kind(value)}", example)
        return {str(k): v for k, v in value.items()}

    def require(
        self, data: Mapping[str, object], key: str, path: str, hint: str | None = None
    ) -> object:
        if data.get(key) is None:
            self.fail(join(path, key), "missing", hint)
        return data[key]

    def string(self, value: object, path: str, hint: str | None = None, strip: bool = True) -> str:
        """A non-empty string; `strip=False` keeps surrounding blanks (an ignore pattern's)."""
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"expected a non-empty string, got {kind(value)}", hint)
        return value.strip() if strip else value

    def integer(self, value: object, path: str, minimum: int = 0) -> int:
        # bool is an int to Python, never to a reader of the file.
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"expected a whole number, got {kind(value)}")
        if value < minimum:
            self.fail(path, f"must be at least {minimum}, got {value}")
        return value

    def number(self, value: object, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(path, f"expected a number, got {kind(value)}")
        if value < 0:
            self.fail(path, f"must not be negative, got {value}")
        return float(value)

    def boolean(self, value: object, path: str) -> bool:
        if not isinstance(value, bool):
            self.fail(path, f"expected true or false, got {kind(value)}")
        return value

    def choice(self, value: object, path: str, values: tuple[str, ...], hint: str) -> str | None:
        """One of `values`, or None for `auto` (or nothing)."""
        if value is None or value == "auto":
            return None
        if value not in values:
            self.fail(path, f"must be {', '.join(values)} or auto, not {value!r}", hint)
        return str(value)

    def size(self, value: object, path: str) -> int:
        from qxub.job.resources import parse_size

        if not isinstance(value, str):
            self.fail(path, f"expected a size such as 190GB, got {kind(value)}")
        try:
            return parse_size(value, what=path)
        except ResourceError as err:
            self.fail(path, err.message, hint=err.hint)

    def duration(self, value: object, path: str) -> int:
        from qxub.job.resources import parse_duration

        # YAML 1.1 reads an unquoted 10:00:00 as the number 36000; insist on strings.
        if not isinstance(value, str):
            self.fail(path, f"expected a quoted duration such as '48h', got {kind(value)}")
        try:
            return parse_duration(value, what=path)
        except ResourceError as err:
            self.fail(path, err.message, hint=err.hint)

    def strings(
        self, value: object, path: str, hint: str | None = None, strip: bool = True
    ) -> tuple[str, ...]:
        """One string or a list of them."""
        if isinstance(value, str):
            return (self.string(value, path, hint, strip),)
        if not isinstance(value, list):
            self.fail(path, f"expected a list of strings, got {kind(value)}", hint)
        return tuple(self.string(v, f"{path}[{i}]", hint, strip) for i, v in enumerate(value))
