"""Every exec option typed on the laptop reaches the remote exec unchanged.

The forwarded words are generated from the exec command's own parameters; this property test
generates option sets, forwards them, parses the forwarded words again as the remote qxub
would, and compares the two parses.
"""

from __future__ import annotations

from typing import Any

import click
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from qxub.cli.exec_cmd import exec_command
from qxub.cli.exec_options import forwarded_words
from qxub.cli.exec_words import LAPTOP_ONLY
from qxub.cli.types import AssignmentType, DurationType, SizeType

HOSTILE = st.text(alphabet="ab -'\"$;|&*`\\\n()=,.:/", min_size=0, max_size=12)


def value_strategy(param: click.Option) -> st.SearchStrategy[Any]:
    kind = param.type
    if isinstance(kind, SizeType):
        return st.sampled_from(["16GB", "512MB", "1.5TB", "4g"])
    if isinstance(kind, DurationType):
        return st.sampled_from(["1:30:00", "90m", "2h30m", "45s", "10"])
    if isinstance(kind, click.IntRange):
        return st.integers(min_value=1, max_value=128)
    if isinstance(kind, click.Choice):
        return st.sampled_from(list(kind.choices))
    if isinstance(kind, AssignmentType):
        names = st.from_regex(r"[A-Z_][A-Z0-9_]{0,5}", fullmatch=True)
        values = st.text(alphabet="ab -'\"$;|&*`\\\n()=.:/", max_size=8)
        one = st.builds(lambda k, v: f"{k}={v}", names, values)
        if kind.many:
            return st.lists(one, min_size=1, max_size=3).map(",".join)
        return one
    return HOSTILE


FORWARDABLE = [
    p
    for p in exec_command.params
    if isinstance(p, click.Option) and p.name not in LAPTOP_ONLY and p.name != "help"
]


@st.composite
def option_sets(draw: st.DrawFn) -> list[str]:
    chosen = draw(st.lists(st.sampled_from(FORWARDABLE), unique_by=lambda p: p.name, max_size=12))
    words: list[str] = []
    for param in chosen:
        flag = draw(st.sampled_from([o for o in param.opts]))
        if param.count:
            words += [flag] * draw(st.integers(1, 3))
        elif param.is_flag:
            words.append(flag)
        else:
            count = draw(st.integers(1, 3)) if param.multiple else 1
            for _ in range(count):
                words += [flag, str(draw(value_strategy(param)))]
    return words


def parse(argv: list[str]) -> click.Context:
    return exec_command.make_context("exec", list(argv), resilient_parsing=False)


@settings(max_examples=300, deadline=None)
@given(option_sets(), st.lists(HOSTILE, min_size=1, max_size=4))
def test_remote_parse_equals_local_parse(options: list[str], command: list[str]) -> None:
    try:
        local = parse([*options, "--", *command])
    except click.UsageError:
        # Refused on the laptop already: --template naming a folder, or a value that starts
        # with '-' after an option whose value is optional (`--mail -x` is --mail, then -x).
        assume(False)
    # What the laptop forwards is the command as it parsed it (`--mail -- -- x`: the value of
    # --mail is optional, so the first `--` ends the options and the command is `-- x`).
    remote = parse([*forwarded_words(local), "--", *local.params["command"]])
    for name, value in local.params.items():
        if name in LAPTOP_ONLY:
            continue
        assert remote.params[name] == value, name
        assert remote.get_parameter_source(name) == local.get_parameter_source(name), name


def test_laptop_only_options_are_not_forwarded() -> None:
    ctx = parse(["--remote", "gadi", "--config", "/home/me/x.yaml", "--mem", "1GB", "--", "true"])
    words = forwarded_words(ctx)
    assert words == ["--mem=1GB"]


def test_every_exec_option_is_forwardable() -> None:
    # A new exec option needs no forwarding code: it is forwarded because it is a parameter.
    names = {p.name for p in FORWARDABLE}
    assert {"mem", "cpus", "queue", "env", "mods_each", "sif", "dry", "verbose"} <= names
