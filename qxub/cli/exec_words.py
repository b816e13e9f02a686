"""The words of `qxub exec`'s options as plain data, and a parse of them without click, for
`qxub exec [OPTIONS] -- COMMAND` (qxub.cli.exec_run): on the laptop, on a login node, and as
the remote end of a laptop's run.

Importing click and the exec command and parsing with them cost 20 to 60 ms of CPU, by
machine (about a fifth of a local `qxub exec -- true`); this parse of the same words costs
well under one. It reads only the plain forms: each option as
`--name VALUE`, `--name=VALUE` or `-x VALUE`, each value checked by the same function as
click's type for it, then `--` and the command. Anything else (an unknown word, `-vv`,
`--help`, `--mail`, a value its check refuses, a command without `--`, shell completion)
returns None, and click parses the words as it always does, with its own messages.

`WORDS` is the exec options as click declares them (qxub.cli.exec_options), in the same
order: a test checks the two agree, so an option cannot be added to one alone.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence
    from typing import Any

# How an option takes its value.
FLAG = "flag"  # no value: True
COUNT = "count"  # no value: one more each time
PAIR = "pair"  # its first word True, its second (--no-x) False
ONE = "one"  # one value; the last one typed wins
MANY = "many"  # one value each time, all kept
OPTIONAL = "optional"  # a value or none (is_flag=False with a flag_value): left to click

# What a value must be (the check of click's type for it): no check, or a function's name.
TEXT = ""
SIZE = "size"
DURATION = "duration"
POSITIVE = "positive"  # click.IntRange(min=1)
ASSIGNMENT = "assignment"  # KEY=VALUE
ASSIGNMENTS = "assignments"  # KEY=VALUE[,KEY=VALUE]
RESOURCES = "resources"  # -l: K=V[,K=V], bare keys allowed, any key
SCHEDULER = "scheduler"  # one of qxub.schedulers.NAMES
DIRECTORY = "directory"  # click.Path(file_okay=False): not an existing file here
FILE = "file"  # click.Path(dir_okay=False): not an existing folder here

# name, its words, how it takes its value, what the value must be
WORDS: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("env", ("--env",), ONE, TEXT),
    ("mods_each", ("--mod",), MANY, TEXT),
    ("mods_list", ("--mods",), MANY, TEXT),
    ("sif", ("--sif",), ONE, TEXT),
    ("bind", ("--bind",), MANY, TEXT),
    ("default_context", ("--default",), FLAG, TEXT),
    ("mem", ("--mem", "--memory"), ONE, SIZE),
    ("cpus", ("--cpus", "--threads"), ONE, POSITIVE),
    ("runtime", ("--runtime", "--time"), ONE, DURATION),
    ("disk", ("--disk", "--jobfs"), ONE, SIZE),
    ("gpus", ("--gpus",), ONE, POSITIVE),
    ("gpu_type", ("--gpu-type",), ONE, TEXT),
    ("resources", ("-l", "--resources"), MANY, RESOURCES),
    ("volumes", ("--volumes", "--storage"), ONE, TEXT),
    ("internet", ("--internet",), FLAG, TEXT),
    ("queue", ("-q", "--queue"), ONE, TEXT),
    ("name", ("-N", "--name"), ONE, TEXT),
    ("project", ("-P", "--project"), ONE, TEXT),
    ("array", ("--array",), ONE, TEXT),
    ("array_parallel", ("--array-parallel",), ONE, POSITIVE),
    ("after", ("--after",), MANY, TEXT),
    ("after_any", ("--after-any",), MANY, TEXT),
    ("mail", ("--mail",), OPTIONAL, TEXT),
    ("mail_on", ("--mail-on",), ONE, TEXT),
    ("execdir", ("--execdir",), ONE, DIRECTORY),
    ("out", ("--out",), ONE, FILE),
    ("err", ("--err",), ONE, FILE),
    ("var_each", ("--var",), MANY, ASSIGNMENT),
    ("vars_list", ("--vars",), MANY, ASSIGNMENTS),
    ("pre", ("--pre",), ONE, TEXT),
    ("post", ("--post",), ONE, TEXT),
    ("template", ("--template",), ONE, FILE),
    ("platform", ("--platform",), ONE, TEXT),
    ("scheduler", ("--scheduler",), ONE, SCHEDULER),
    ("dry", ("--dry",), FLAG, TEXT),
    ("interactive", ("--interactive",), FLAG, TEXT),
    ("forward", ("--forward",), MANY, TEXT),
    ("terse", ("--terse",), FLAG, TEXT),
    ("detach", ("--detach",), FLAG, TEXT),
    ("quiet", ("--quiet",), FLAG, TEXT),
    ("verbose", ("-v", "--verbose"), COUNT, TEXT),
    ("config_file", ("--config",), ONE, FILE),
    ("remote", ("--remote",), ONE, TEXT),
    ("sync", ("--sync", "--no-sync"), PAIR, TEXT),
    ("snapshot", ("--snapshot", "--no-snapshot"), PAIR, TEXT),
    ("pull", ("--pull",), MANY, TEXT),
)
# Options that belong to the laptop: never forwarded to a remote qxub (they name local files
# or choose the remote itself).
LAPTOP_ONLY = frozenset({"remote", "config_file", "sync", "snapshot", "pull", "forward"})
# Options that only steer this invocation: never taken from config `defaults:`.
NOT_DEFAULTABLE = LAPTOP_ONLY | {"dry", "terse", "detach", "command", "interactive"}

# word -> (name, how it takes its value, its check, the value of a flag)
_BY_WORD = {
    word: (name, kind, check, kind != PAIR or word == words[0])
    for name, words, kind, check in WORDS
    if kind != OPTIONAL
    for word in words
}
_ORDER = {name: index for index, (name, *_) in enumerate(WORDS)}


def parse(args: Sequence[str]) -> tuple[dict[str, Any], list[str]] | None:
    """The options and command of `exec <args>` as click would parse them (the values of the
    options typed, the names typed in the order typed), or None for any form this parse does
    not take (click then parses them)."""
    if "--" not in args or "_QXUB_COMPLETE" in os.environ or "_QX_COMPLETE" in os.environ:
        return None
    end = list(args).index("--")
    values: dict[str, Any] = {}
    typed: list[str] = []
    words = iter(args[:end])
    for word in words:
        key, equals, joined = word.partition("=") if word.startswith("--") else (word, "", "")
        found = _BY_WORD.get(key)
        if found is None:
            return None
        name, kind, check, flag = found
        if kind in (FLAG, COUNT, PAIR):
            if equals:
                return None
            value: Any = values.get(name, 0) + 1 if kind == COUNT else flag
        else:
            text = joined if equals else next(words, None)
            if text is None:
                return None
            value = _checked(text, check)
            if value is None:
                return None
            if kind == MANY:
                value = (*values.get(name, ()), value)
        values[name] = value
        if name not in typed:
            typed.append(name)
    command = tuple(args[end + 1 :])
    if not command:
        return None
    return {**values, "command": command}, typed


def _checked(text: str, check: str) -> Any:
    """The value `text` stands for (what click's type for it returns), or None where click
    would refuse it (click says why)."""
    try:
        if check == POSITIVE:
            number = int(text)
            return number if number >= 1 else None
        if check == SCHEDULER:
            from qxub.schedulers import NAMES

            return text if text in NAMES else None
        if check in (DIRECTORY, FILE):
            return text if _path_taken(text, check) else None
        if check in (SIZE, DURATION):
            from qxub.job.resources import parse_duration, parse_size

            (parse_size if check == SIZE else parse_duration)(text)
        elif check:
            from qxub.job.build import parse_assignments

            parse_assignments(
                text,
                many=check != ASSIGNMENT,
                shell_names=check != RESOURCES,
                bare_keys=check == RESOURCES,
            )
    except Exception:  # whatever it is, click says it
        return None
    return text


def _path_taken(text: str, check: str) -> bool:
    """What click.Path (neither `exists` nor `resolve_path`) takes: a path that is not here,
    or one here of the kind it wants that can be read."""
    import stat

    try:
        mode = os.stat(text).st_mode
    except OSError:
        return True
    wrong = stat.S_ISREG(mode) if check == DIRECTORY else stat.S_ISDIR(mode)
    return not wrong and os.access(text, os.R_OK)


def option_words(name: str, value: Any, joined: bool = False) -> list[str]:
    """One option with its value as argv words; `joined` gives `--opt=value`, which no value
    (one starting with a dash, say) can be mistaken in."""
    words, kind = next((words, kind) for key, words, kind, _ in WORDS if key == name)
    flag = next((word for word in words if word.startswith("--")), words[0])
    if kind == COUNT:
        return [flag] * int(value)
    if kind in (FLAG, PAIR):
        return [flag] if value else []
    items = value if kind == MANY else [value]
    if joined:
        return [f"{flag}={item}" for item in items]
    return [word for item in items for word in (flag, str(item))]


def typed_words(
    values: Mapping[str, Any], typed: Iterable[str], skip: frozenset[str], joined: bool = False
) -> list[str]:
    """The options `typed` (names), with their `values`, as argv words in a canonical order:
    that of `WORDS`."""
    names = sorted(
        (name for name in typed if name in _ORDER and name not in skip), key=_ORDER.__getitem__
    )
    return [word for name in names for word in option_words(name, values[name], joined)]


PATH_CHECKS = frozenset({DIRECTORY, FILE})  # what they take depends on the files here


def check_of(name: str) -> str:
    """How the value of option `name` is checked (TEXT, SIZE, FILE...)."""
    return next(check for key, _, _, check in WORDS if key == name)


def default_name(key: str) -> str | None:
    """The option a config `defaults:` key sets (its name, or its long word without the
    dashes, `-` or `_` alike), or None."""
    key = key.replace("-", "_")
    for name, words, _, _ in WORDS:
        longs = {word[2:].replace("-", "_") for word in words if word.startswith("--")}
        if name not in NOT_DEFAULTABLE and key in {name} | longs:
            return name
    return None


def forwarded(
    values: Mapping[str, Any], typed: Collection[str], defaults: Iterable[tuple[str, Any]]
) -> list[str]:
    """What a remote qxub exec gets: the options typed here (but the laptop's own), then the
    remote's `defaults:` for options not typed, each as argv words."""
    words = typed_words(values, typed, LAPTOP_ONLY, joined=True)
    for key, value in defaults:
        name = default_name(key)
        if name is not None and name not in typed:
            words += option_words(name, value, joined=True)
    return words
