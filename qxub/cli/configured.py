"""What every command shares: the config as the CLI reads it, checked against the exec
options (for `defaults:`) and the remotes schema, and the exec options as typed records.
click (and the exec options built with it) is imported only when a `defaults:` entry is
checked (the first time: see `_check_default`) or click reads the options: a push, and an
exec in plain words, read the config without it (qxub.cli.push_run, qxub.cli.exec_run)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from qxub import record as records
from qxub.config import Config, Schema, load_config

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from collections.abc import Callable, Collection
    from typing import Any

    import click

    from qxub.options import ExecOptions


@cache
def options_command() -> click.Command:
    """A bare command holding the exec options: what config `defaults:` are checked against."""
    import click

    from qxub.cli.exec_options import exec_options

    return click.command("exec")(exec_options(lambda **_: None))


@cache
def _defaults_check() -> Callable[[str, Any], Any]:
    from qxub.cli.exec_options import defaults_validator

    return defaults_validator(options_command())


def _check_default(key: str, value: Any) -> Any:
    """Checks one `defaults:` entry; the checker is built on first use (few configs have
    defaults, and building it costs a second set of the exec options, and click).

    What an entry was checked to is kept (qxub.yaml_cache) for the same key and value, by
    this qxub: the next run takes it from there without click. A path is checked each time:
    what it may be depends on the files here."""
    from qxub import __version__, yaml_cache
    from qxub.cli.exec_words import PATH_CHECKS, check_of, default_name

    name = default_name(key)
    kept = name is not None and check_of(name) not in PATH_CHECKS
    source, text = f"exec defaults.{key}", f"{__version__} {value!r}"
    if kept:
        found, checked = yaml_cache.cached(source, text)
        if found:
            return checked
    checked = _defaults_check()(key, value)
    if kept:
        yaml_cache.keep(source, text, checked)
    return checked


def config_schema() -> Schema:
    from qxub.remote.config import remote_parser

    return Schema(defaults=_check_default, remotes=remote_parser(_check_default))


def cli_config(explicit: str | None = None) -> Config:
    """The layered config as every command reads it: from here, checked against the exec
    options and the remotes schema. Its `jobs_dir:` is where this run keeps job folders."""
    from qxub.state import use_jobs_dir

    config = load_config(Path.cwd(), Path(explicit) if explicit else None, config_schema())
    found = config.lookup("jobs_dir")
    use_jobs_dir(str(found[0]) if found else None)
    return config


def remote_path(config: Config) -> str | None:
    """The config's `remote_path:`: where this project's mirror is, when set."""
    found = config.lookup("remote_path")
    return str(found[0]) if found else None


def use_user_jobs_dir() -> None:
    """Take the user's `jobs_dir:` (wait, status, cancel, jobs clean: no project involved)."""
    from qxub.config import user_jobs_dir
    from qxub.state import use_jobs_dir

    use_jobs_dir(user_jobs_dir())


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple) else value


def options_as_typed(ctx: click.Context, skip: frozenset[str] = frozenset()) -> ExecOptions:
    """The exec options of `ctx` (the exec command, or one that carries its options), as
    typed: no config defaults yet."""
    from qxub.cli.exec_options import typed_options
    from qxub.options import ExecOptions  # when a command runs, not for its --help

    values = {k: _frozen(v) for k, v in ctx.params.items() if k not in skip}
    return ExecOptions(**values, typed=tuple(typed_options(ctx, skip=skip | {"config_file"})))


def with_config_defaults(
    typed: Collection[str], options: ExecOptions, config: Config
) -> ExecOptions:
    """Fill the options the user did not type (`typed`: the names of those typed) from the
    config's `defaults:`: the one place where they are applied (a remote qxub applies its
    own, there)."""
    from qxub.cli.exec_words import default_name

    changes: dict[str, Any] = {}
    for key, (value, _layer) in config.defaults().items():
        name = default_name(key)
        if name is not None and name not in typed:
            changes[name] = _frozen(value)  # checked and converted when the file was loaded
    return records.replace(options, **changes)
