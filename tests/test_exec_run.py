"""`qxub exec [OPTIONS] -- COMMAND` without click (qxub.cli.exec_run, with
qxub.cli.exec_words), on the laptop (`--remote`), here, and as the remote end of a laptop's
run (`qxub _await`): the same options, the same words forwarded, the same job, the same
errors, for every form it takes; every other form goes through click as before."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qxub.cli import exec_words
from qxub.cli.configured import options_as_typed, options_command
from qxub.cli.exec_cmd import exec_command
from qxub.cli.exec_options import defaults_validator, forwarded_words
from qxub.cli.types import AssignmentType, DurationType, SizeType
from qxub.options import ExecOptions
from qxub.remote import handover
from qxub.schedulers import NAMES

import children
from helpers import QXUB, assert_one_line_error, imported, qxub


def _kind(param: click.Option) -> str:
    if param.count:
        return exec_words.COUNT
    if param.is_flag:
        return exec_words.PAIR if param.secondary_opts else exec_words.FLAG
    if param.multiple:
        return exec_words.MANY
    return exec_words.OPTIONAL if param._flag_needs_value else exec_words.ONE


def _check(param: click.Option) -> str:
    kind = param.type
    if param.is_flag or param.count:
        return exec_words.TEXT  # no value to check
    if isinstance(kind, SizeType):
        return exec_words.SIZE
    if isinstance(kind, DurationType):
        return exec_words.DURATION
    if isinstance(kind, click.IntRange):
        assert (kind.min, kind.max, kind.min_open, kind.clamp) == (1, None, False, False)
        return exec_words.POSITIVE
    if isinstance(kind, AssignmentType):
        if not kind.many:
            assert kind.shell_names and not kind.bare_keys
            return exec_words.ASSIGNMENT
        if kind.shell_names:
            assert not kind.bare_keys
            return exec_words.ASSIGNMENTS
        assert kind.bare_keys
        return exec_words.RESOURCES
    if isinstance(kind, click.Choice):
        assert tuple(kind.choices) == NAMES and kind.case_sensitive
        return exec_words.SCHEDULER
    if isinstance(kind, click.Path):
        assert not (kind.exists or kind.resolve_path or kind.writable or kind.executable)
        assert kind.readable and kind.file_okay != kind.dir_okay
        return exec_words.FILE if kind.file_okay else exec_words.DIRECTORY
    assert kind is click.STRING, kind
    return exec_words.TEXT


def test_its_words_are_the_exec_options_as_click_declares_them() -> None:
    declared = [
        (p.name, (*p.opts, *p.secondary_opts), _kind(p), _check(p))
        for p in exec_command.params
        if isinstance(p, click.Option)
    ]
    assert list(exec_words.WORDS) == declared
    assert {name for name, *_ in exec_words.WORDS} | {"command", "typed"} == set(
        ExecOptions.__record_fields__  # type: ignore[attr-defined]
    )


def click_parse(args: list[str]) -> click.Context | None:
    try:
        return exec_command.make_context("exec", list(args))
    except click.ClickException:
        return None


_VALUES = [
    "16GB", "1x", "0", "3", " 4", "-1", "", "a=b", "A=1,B=2", "1bad=x", "ncpus=4,foo",
    "pbs", "Slurm", "1:30:00", "90m", "soon", "x y", "afile", "adir", "-q", "--quiet", "--",
    "=", "--mem=1GB", "é",
]  # fmt: skip
_OPTION_WORDS = sorted(
    {word for _, words, _, _ in exec_words.WORDS for word in words}
    | {"-vv", "-h", "--help", "--nosuch", "-x", "--version"}
)
_token = st.one_of(
    st.sampled_from(_OPTION_WORDS).map(lambda word: [word]),
    st.tuples(st.sampled_from(_OPTION_WORDS), st.sampled_from(_VALUES)).map(list),
    st.tuples(st.sampled_from(_OPTION_WORDS), st.sampled_from(_VALUES)).map(
        lambda pair: [f"{pair[0]}={pair[1]}"]
    ),
)
_defaults = st.lists(
    st.tuples(
        st.sampled_from(["mem", "cpus", "queue", "mods_each", "mod", "verbose", "dry", "sync"]),
        st.sampled_from(["4GB", 2, ["a", "b"], True, "normal"]),
    ),
    max_size=3,
)


def _checked(defaults: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The entries a config's `defaults:` would hold: those its check takes, as it gives
    them."""
    check, kept = defaults_validator(options_command()), []
    for key, value in defaults:
        try:
            kept.append((key, check(key, value)))
        except ValueError:
            continue
    return kept


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    tokens=st.lists(_token, max_size=6),
    command=st.sampled_from([[], ["true"], ["echo", "--mem", "1"]]),
    dashes=st.booleans(),
    defaults=_defaults,
)
def test_what_it_takes_it_reads_as_click_does(
    tmp_path: Path,
    tokens: list[list[str]],
    command: list[str],
    dashes: bool,
    defaults: list[tuple[str, Any]],
) -> None:
    (tmp_path / "afile").touch()
    (tmp_path / "adir").mkdir(exist_ok=True)
    os.chdir(tmp_path)
    args = [word for token in tokens for word in token] + (["--"] if dashes else []) + command
    defaults = _checked(defaults)
    parsed = exec_words.parse(args)
    if parsed is None:
        return
    ctx = click_parse(args)
    assert ctx is not None, f"click refuses {args}, exec_words takes it"
    values, typed = parsed
    as_typed = tuple(exec_words.typed_words(values, typed, frozenset({"config_file"})))
    assert ExecOptions(**values, typed=as_typed) == options_as_typed(ctx)
    assert exec_words.forwarded(values, typed, defaults) == forwarded_words(ctx, tuple(defaults))


@pytest.mark.parametrize(
    "args",
    [
        ["--remote", "gadi", "--", "true"],
        ["--remote=gadi", "--sync", "--pull", "out/", "-v", "--", "python3", "x.py"],
        ["--remote", "gadi", "--mem", "16GB", "--cpus", "4", "-l", "ncpus=2", "--", "true"],
        ["--env", "torch", "--mod", "a", "--mod=b", "--no-sync", "--remote", "g", "--", "x"],
        ["--remote", "gadi", "--var", "A=1", "--time", "1:00:00", "--scheduler", "pbs", "--", "x"],
    ],
)
def test_the_everyday_forms_are_taken(args: list[str]) -> None:
    """Not every form is left to click: those a user types every day are parsed here."""
    assert exec_words.parse(args) is not None


@pytest.mark.parametrize(
    "args",
    [
        ["--remote", "gadi", "true"],  # no `--`
        ["--remote", "gadi", "--"],  # no command
        ["--remote", "gadi", "-vv", "--", "true"],
        ["--remote", "gadi", "--help", "--", "true"],
        ["--remote", "gadi", "--mail", "--", "true"],
        ["--remote", "gadi", "--mem", "lots", "--", "true"],
        ["--remote", "gadi", "--cpus", "0", "--", "true"],
        ["--remote", "gadi", "--scheduler", "sge", "--", "true"],
        ["--remote", "gadi", "--quiet=yes", "--", "true"],
        ["--remote", "gadi", "--nosuch", "--", "true"],
    ],
)
def test_every_other_form_is_left_to_click(args: list[str]) -> None:
    assert exec_words.parse(args) is None


def test_a_completion_request_is_left_to_click(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_QXUB_COMPLETE", "bash_complete")
    assert exec_words.parse(["--remote", "gadi", "--", "true"]) is None


def test_an_everyday_remote_exec_imports_no_click(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / ".git").mkdir(parents=True)
    args = ["exec", "--remote", "local", "--quiet", "--", "sh", "-c", "echo hi; exit 3"]
    done, modules = imported(*args, cwd=project)
    assert (done.returncode, done.stdout) == (3, "hi\n"), done.stderr
    assert "click" not in modules and "qxub.mirroring.run" in modules
    done, modules = imported("exec", "--remote", "local", "-vv", "--", "true", cwd=project)
    assert "click" in modules and done.returncode == 0, done.stderr  # a form left to click
    done, modules = imported("exec", "--remote", "local", "--nosuch", "--", "true", cwd=project)
    assert "click" in modules  # and click's message
    assert_one_line_error(done)
    assert "No such option '--nosuch'" in done.stderr


def test_an_everyday_exec_here_imports_no_click_and_runs_as_through_click(
    tmp_path: Path,
) -> None:
    args = ["exec", "--scheduler", "local", "--quiet", "--", "sh", "-c", "echo hi; exit 3"]
    done, modules = imported(*args, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (3, "hi\n"), done.stderr
    assert "click" not in modules and "qxub.execute" in modules
    # The same job script, config defaults applied (checked with click's types: a config
    # with `defaults:` imports click), as the form click parses (no `--`).
    (tmp_path / ".qxub.yaml").write_text("defaults:\n  cpus: 3\n  scheduler: local\n")
    fast = qxub("exec", "--dry", "--mem", "2GB", "--", "echo", "hi", cwd=tmp_path)
    slow = qxub("exec", "--dry", "--mem", "2GB", "echo", "hi", cwd=tmp_path)
    assert (fast.returncode, fast.stdout, fast.stderr) == (0, slow.stdout, slow.stderr)
    assert "cannot honour --mem, --cpus" in fast.stdout  # --cpus from `defaults:`


def test_config_defaults_checked_once_need_no_click_the_next_time(tmp_path: Path) -> None:
    """A `defaults:` entry is checked with click's types, then kept: the next run takes the
    checked value without click. A changed or wrong value is checked anew; a path each time."""
    config = tmp_path / ".qxub.yaml"
    args = ["exec", "--quiet", "--dry", "--", "true"]
    config.write_text("defaults:\n  mem: 2GB\n  mod: [a, b]\n  scheduler: local\n")
    first, modules = imported(*args, cwd=tmp_path)
    assert first.returncode == 0 and "click" in modules, first.stderr
    again, modules = imported(*args, cwd=tmp_path)
    assert (again.returncode, again.stdout) == (0, first.stdout) and "click" not in modules
    assert "# context: module" in again.stdout and "cannot honour --mem" in again.stdout
    config.write_text("defaults:\n  mem: lots\n  scheduler: local\n")
    for _ in range(2):
        wrong, modules = imported(*args, cwd=tmp_path)
        assert_one_line_error(wrong)
        assert "defaults.mem" in wrong.stderr and "click" in modules
    (tmp_path / "run").mkdir()
    config.write_text("defaults:\n  execdir: run\n  scheduler: local\n")
    for _ in range(2):
        done, modules = imported(*args, cwd=tmp_path)
        assert done.returncode == 0 and "click" in modules, done.stderr  # checked each time


def test_the_remote_end_of_a_laptops_run_imports_no_click(tmp_path: Path) -> None:
    """`qxub _await` (qxub.awaited): READY, then the payload's `exec` in plain words."""
    mirror = tmp_path / "mirror"
    payload = handover.payload("sub", ["exec", "--scheduler", "local", "--", "sh", "-c", "pwd"])
    argv = [sys.executable, "-X", "importtime", *QXUB[1:], handover.WORD]
    env = {**os.environ, handover.ROOT_ENV: str(mirror)}
    done = children.run(argv, input=payload, capture_output=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == handover.READY + f"{mirror / 'sub'}\n".encode()
    modules = {line.rpartition(b"|")[2].strip() for line in done.stderr.splitlines()}
    assert b"click" not in modules and b"qxub.execute" in modules


def test_qx_takes_the_same_forms(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / ".git").mkdir(parents=True)
    argv = [sys.executable, "-c", "import sys; from qxub.entry import qx_main; qx_main()"]
    done = children.run(
        [*argv, "--remote", "local", "--quiet", "--", "sh", "-c", "exit 4"],
        capture_output=True, text=True, timeout=60, cwd=project, check=False,
    )  # fmt: skip
    assert done.returncode == 4, done.stderr


@pytest.mark.parametrize("words", [["--quiet"], ["--mem", "1GB", "-v"]])
def test_errors_read_as_through_click(tmp_path: Path, words: list[str]) -> None:
    """An unknown remote: the same message, hint and exit code as the form click parses."""
    fast = qxub("exec", "--remote", "nosuch", *words, "--", "true", cwd=tmp_path)
    slow = qxub("exec", "--remote", "nosuch", "-vv", "--", "true", cwd=tmp_path)
    assert_one_line_error(fast)
    assert (fast.returncode, fast.stderr, fast.stdout) == (slow.returncode, slow.stderr, "")
    assert "unknown remote 'nosuch'" in fast.stderr


def test_a_broken_config_is_named_as_through_click(tmp_path: Path) -> None:
    (tmp_path / ".qxub.yaml").write_text("remotes: [1, 2\n")
    fast = qxub("exec", "--remote", "local", "--", "true", cwd=tmp_path)
    slow = qxub("exec", "--remote", "local", "-vv", "--", "true", cwd=tmp_path)
    assert_one_line_error(fast)
    assert (fast.returncode, fast.stderr) == (slow.returncode, slow.stderr)
    assert ".qxub.yaml" in fast.stderr
