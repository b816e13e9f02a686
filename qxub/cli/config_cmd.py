"""`qxub config get|set|unset|list|files`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import yaml

from qxub.cli.configured import cli_config, config_schema
from qxub.config import layer_paths, set_value, unset_value
from qxub.errors import ConfigError


def _plain(value: Any) -> Any:
    """Tuples (how checked defaults are kept) as lists, so YAML writes them as YAML."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _show(value: Any) -> str:
    """A value as one line of YAML (flow style for mappings and lists)."""
    text = yaml.safe_dump(_plain(value), default_flow_style=True, width=10**6, allow_unicode=True)
    return text.removesuffix("\n...\n").strip()


_WHERE = [
    click.option(
        "--user", "where", flag_value="user", default=True, help="In your user file (default)."
    ),
    click.option("--project", "where", flag_value="project", help="In this project's .qxub.yaml."),
    click.option("--system", "where", flag_value="system", help="In the system-wide file."),
]


def where_options(function: Any) -> Any:
    """--user (the default), --project, --system: which config file a command changes."""
    for option in reversed(_WHERE):
        function = option(function)
    return function


def file_for(where: str) -> Path:
    """The config file of a layer: user, project or system (the highest-precedence one)."""
    paths = dict((name, path) for name, path in layer_paths(Path.cwd()) if name != "file")
    return paths[where]


@click.group("config")
def config_group() -> None:
    """Read and change qxub's configuration files."""


@config_group.command("get")
@click.argument("key")
def config_get(key: str) -> None:
    """Print the value of KEY (dotted, e.g. defaults.mem)."""
    config = cli_config()
    found = config.lookup(key)
    if found is None:
        raise ConfigError(f"{key} is not set", hint="`qxub config list` shows what is set")
    click.echo(_show(found[0]))


@config_group.command("set")
@click.argument("key")
@click.argument("value")
@where_options
def config_set(key: str, value: str, where: str) -> None:
    """Set KEY to VALUE in one config file. VALUE is read as YAML (4 is a number).

    The file's other lines, comments and order are kept."""
    path = file_for(where)
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        parsed = value
    set_value(path, key, parsed, config_schema())
    click.echo(f"{key} = {_show(parsed)} in {path}", err=True)


@config_group.command("unset")
@click.argument("key")
@where_options
def config_unset(key: str, where: str) -> None:
    """Remove KEY (dotted) from one config file, keeping its other lines and comments."""
    path = file_for(where)
    if not unset_value(path, key, config_schema()):
        config = cli_config()
        found = config.lookup(key)
        elsewhere = (
            f"it is set in {found[1].path} (--{found[1].name})"
            if found and found[1].name in ("user", "project", "system")
            else "`qxub config list` shows what is set, and where"
        )
        raise ConfigError(f"{key} is not set in {path}", hint=elsewhere)
    click.echo(f"{key} removed from {path}", err=True)


@config_group.command("list")
def config_list() -> None:
    """Every value that is set, as YAML, with the file it came from."""
    config = cli_config()
    rows = [(f"{_show(k)}: {_show(v)}", str(layer.path)) for k, v, layer in config.items()]
    if not rows:
        click.echo("nothing is set; `qxub config files` shows where qxub looks", err=True)
        return
    width = max(len(text) for text, _ in rows)
    for text, path in rows:
        click.echo(f"{text:<{width}}  # {path}")


@config_group.command("files")
def config_files() -> None:
    """The files qxub reads, lowest precedence first, and which exist."""
    for name, path in layer_paths(Path.cwd()):
        mark = "exists" if path.is_file() else "absent"
        click.echo(f"{name:<8} {mark:<7} {path}")
