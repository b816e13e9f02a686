"""The typed exec options: one field per click parameter, built once, defaults applied once."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from qxub import record as records
from qxub.cli.configured import cli_config, options_as_typed, with_config_defaults
from qxub.cli.exec_cmd import exec_command
from qxub.cli.exec_options import typed_names
from qxub.options import ExecOptions


def test_every_exec_parameter_has_its_field_and_every_field_its_parameter() -> None:
    params = {p.name for p in exec_command.params if p.name != "help"}
    fields = set(records.fields(ExecOptions)) - {"typed"}
    assert params == fields


def parse(*argv: str) -> click.Context:
    return exec_command.make_context("exec", list(argv))


def test_options_as_typed_are_frozen_and_keep_what_was_typed() -> None:
    ctx = parse("--mem", "16GB", "--mod", "a", "--mod", "b", "-v", "-v", "--", "echo", "hi")
    options = options_as_typed(ctx)
    assert options.mem == "16GB"
    assert options.mods_each == ("a", "b")
    assert options.verbose == 2
    assert options.command == ("echo", "hi")
    # In the options' own order, whatever the order typed.
    assert options.typed == ("--mod", "a", "--mod", "b", "--mem", "16GB", "--verbose", "--verbose")
    with pytest.raises(records.FrozenInstanceError):
        options.mem = "1GB"  # type: ignore[misc]


def test_config_defaults_fill_only_what_was_not_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".qxub.yaml").write_text("defaults:\n  mem: 4GB\n  cpus: 2\n  mod: [x, y]\n")
    ctx = parse("--cpus", "8", "--", "true")
    options = with_config_defaults(typed_names(ctx), options_as_typed(ctx), cli_config())
    assert (options.mem, options.cpus, options.mods_each) == ("4GB", 8, ("x", "y"))
    assert options.typed == ("--cpus", "8")  # the job's header shows what was typed
