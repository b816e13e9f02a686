"""`qxub config get|set|list|files`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import yaml

from qxub.cli.configured import cli_config, config_schema
from qxub.config import layer_paths, set_value
from qxub.errors import ConfigError


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return yaml.safe_dump(value, default_flow_style=True).strip()
    return str(value)


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
@click.option(
    "--user", "where", flag_value="user", default=True, help="In your user file (default)."
)
@click.option("--project", "where", flag_value="project", help="In this project's .qxub.yaml.")
@click.option("--system", "where", flag_value="system", help="In the system-wide file.")
def config_set(key: str, value: str, where: str) -> None:
    """Set KEY to VALUE in one config file. VALUE is read as YAML (4 is a number)."""
    paths = dict((name, path) for name, path in layer_paths(Path.cwd()) if name != "file")
    path = paths[where]
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        parsed = value
    set_value(path, key, parsed, config_schema())
    click.echo(f"{key} = {_show(parsed)} in {path}", err=True)


@config_group.command("list")
def config_list() -> None:
    """Every value that is set, with the file it came from."""
    config = cli_config()
    rows = [(key, _show(value), str(layer.path)) for key, value, layer in config.items()]
    if not rows:
        click.echo("nothing is set; `qxub config files` shows where qxub looks", err=True)
        return
    width = max(len(f"{k} = {v}") for k, v, _ in rows)
    for key, value, path in rows:
        click.echo(f"{f'{key} = {value}':<{width}}  # {path}")


@config_group.command("files")
def config_files() -> None:
    """The files qxub reads, lowest precedence first, and which exist."""
    for name, path in layer_paths(Path.cwd()):
        mark = "exists" if path.is_file() else "absent"
        click.echo(f"{name:<8} {mark:<7} {path}")
