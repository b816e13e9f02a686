"""`qxub remote add|remove|install|login`: setting a remote up, from the command line."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path
from typing import Any

import click

from qxub.cli.completion import platform_names, remote_names
from qxub.cli.config_cmd import file_for, where_options
from qxub.cli.configured import cli_config, config_schema
from qxub.errors import ConfigError, QxubError, UsageError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def _key_value(values: tuple[str, ...]) -> dict[str, Any]:
    import yaml

    found: dict[str, Any] = {}
    for item in values:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--default {item!r} is not KEY=VALUE", hint="e.g. --default mem=16GB")
        try:
            found[key] = yaml.safe_load(text) if text else text
        except yaml.YAMLError:
            found[key] = text
    return found


@click.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--working-dir", metavar="DIR", help="Where project mirrors live there.")
@click.option(
    "--platform",
    metavar="NAME",
    help="Platform the remote qxub uses.",
    shell_complete=platform_names,
)
@click.option("--conda-env", metavar="ENV", help="Conda environment that provides qxub there.")
@click.option("--qxub-command", metavar="COMMAND", help="How to call qxub there.")
@click.option("--ssh-config", metavar="FILE", help="The ssh config file to use (config:).")
@click.option("--force-tty/--no-force-tty", default=None, help="Force a terminal, or none.")
@click.option(
    "--default", "defaults", multiple=True, metavar="KEY=VALUE", help="An exec default there."
)
@click.option("--sync-url", metavar="URL", help="A data-mover host for transfers.")
@click.option("--sync/--no-sync", "sync_auto", default=None, help="Push before every exec.")
@click.option("--sync-ignore", multiple=True, metavar="PATTERN", help="An extra ignore line.")
@click.option("--sync-pull", multiple=True, metavar="PATH", help="A path `remote pull` brings.")
@click.option("--transport", type=click.Choice(["openssh", "paramiko", "auto"]))
@click.option("--sync-engine", type=click.Choice(["rsync", "sftp", "auto"]))
@click.option(
    "--auto-install/--no-auto-install",
    default=None,
    help="Install this qxub there when it is missing or another version.",
)
@click.option("--control-persist", metavar="TIME", help="How long ssh's master stays, e.g. 8h.")
@click.option("--follow-segment", metavar="TIME", help="How long one remote follower streams.")
@click.option("--follow-retry", metavar="TIME", help="How long a lost follow is re-attached.")
@click.option("--make-default", is_flag=True, help="Also set default_remote to NAME.")
@click.option("--no-test", is_flag=True, help="Do not run the checks of `qxub remote test`.")
@where_options
def remote_add(
    name: str,
    url: str,
    where: str,
    make_default: bool,
    no_test: bool,
    defaults: tuple[str, ...],
    sync_auto: bool | None,
    sync_ignore: tuple[str, ...],
    sync_pull: tuple[str, ...],
    ssh_config: str | None,
    **settings: Any,
) -> None:
    """Add remote NAME at URL (ssh://[user@]host[:port]) to a config file, then check it.

    The file's comments and order are kept. Every setting of a remote has an option."""
    from qxub.config import set_value
    from qxub.remote.config import configured_remotes

    if not _NAME.fullmatch(name) or name == "local":
        raise UsageError(
            f"{name!r} cannot name a remote",
            hint="use letters, digits, - and _ (and not `local`, the built-in one)",
        )
    config = cli_config()
    remotes = configured_remotes(config)
    if name in remotes:
        raise ConfigError(
            f"remote {name} already exists (in {remotes[name].source})",
            hint=f"change one setting with `qxub config set remotes.{name}.KEY VALUE`, or"
            f" `qxub remote remove {name}` first",
        )
    entry: dict[str, Any] = {"url": url}
    entry.update({k: v for k, v in settings.items() if v is not None and v != "auto"})
    if ssh_config is not None:
        entry["config"] = ssh_config
    if defaults:
        entry["defaults"] = _key_value(defaults)
    sync: dict[str, Any] = {}
    if sync_auto is not None:
        sync["auto"] = sync_auto
    if sync_ignore:
        sync["ignore"] = list(sync_ignore)
    if sync_pull:
        sync["pull"] = list(sync_pull)
    if sync:
        entry["sync"] = sync
    path = file_for(where)
    set_value(path, f"remotes.{name}", entry, config_schema())
    if make_default:
        set_value(path, "default_remote", name, config_schema())
    click.echo(f"remote {name} added to {path}", err=True)
    if no_test:
        return
    print_checks(name, after_add=True)


def print_checks(name: str, *, after_add: bool = False) -> bool:
    """Print the verdicts of `qxub remote test`; True when none failed."""
    from qxub.mirroring.check import FAIL, run_checks
    from qxub.remote.config import find_remote

    remote = find_remote(cli_config(), name)
    failed = []
    for check in run_checks(remote):
        click.echo(f"{check.verdict:<5} {check.what:<12} {check.detail}")
        if check.fix:
            click.echo(f"{'':<5} {'':<12} fix: {check.fix}")
        if check.verdict == FAIL:
            failed.append(check.what)
    if failed and after_add:
        click.echo(
            f"qxub: {name} is configured; fix what failed ({', '.join(failed)}), then check"
            f" again with `qxub remote test {shlex.quote(name)}`",
            err=True,
        )
    return not failed


@click.command("remove")
@click.argument("name", shell_complete=remote_names)
@where_options
@click.pass_context
def remote_remove(ctx: click.Context, name: str, where: str) -> None:
    """Remove remote NAME from the config file that defines it (or the one chosen)."""
    from click.core import ParameterSource

    from qxub.config import unset_value
    from qxub.remote.config import configured_remotes

    remotes = configured_remotes(cli_config())
    chosen = ctx.get_parameter_source("where") is not ParameterSource.DEFAULT
    if name in remotes and remotes[name].target is not None and not chosen:
        path = Path(remotes[name].source)
    else:
        path = file_for(where)
    if not unset_value(path, f"remotes.{name}", config_schema()):
        known = ", ".join(n for n in remotes if n != "local") or "none"
        raise ConfigError(f"no remote {name} in {path}", hint=f"configured remotes: {known}")
    default = cli_config().lookup("default_remote")
    if default and default[0] == name and default[1].path == path:
        unset_value(path, "default_remote", config_schema())
        click.echo(f"default_remote {name} removed too", err=True)
    click.echo(f"remote {name} removed from {path}", err=True)


@click.command("install")
@click.argument("name", required=False, shell_complete=remote_names)
@click.option("--python", metavar="PATH", help="The Python there to make the venv with.")
@click.option(
    "--prefix", metavar="DIR", help="Folder for the venv there (default: its data home/qxub)."
)
def remote_install(name: str | None, python: str | None, prefix: str | None) -> None:
    """Install this qxub (same version) on remote NAME and point qxub_command at it.

    No package index is needed there: the wheels of qxub, click and PyYAML are built from what
    is installed here and sent over the remote's own connection. Quick when already done."""
    from qxub import __version__
    from qxub.mirroring.install import install, record_command
    from qxub.remote.config import find_remote
    from qxub.remote.reach import transport_for

    remote = find_remote(cli_config(), name)
    if prefix is not None and not prefix.startswith(("/", "{{home}}")):
        raise UsageError(f"--prefix {prefix!r} is not an absolute path", hint="e.g. {{home}}/apps")

    def say(message: str) -> None:
        click.echo(f"qxub: {message}", err=True)

    installed = install(remote, transport_for(remote), say, python=python, prefix=prefix)
    if installed.fresh:
        say(f"installed qxub {__version__} on {remote.name}")
    else:
        say(f"qxub {__version__} is installed on {remote.name} already")
    if remote.qxub_command != (installed.command,):
        source = record_command(remote, installed.command)
        say(f"qxub_command of {remote.name} is now {installed.command} (in {source})")


@click.command("login")
@click.argument("name", required=False, shell_complete=remote_names)
def remote_login(name: str | None) -> None:
    """Log in to NAME once, on this terminal (password, one-time code), and keep the
    connection for the commands that follow (for the remote's control_persist, default 10m)."""
    from qxub.remote.config import find_remote
    from qxub.remote.openssh import OpenSshTransport
    from qxub.remote.reach import transport_for

    remote = find_remote(cli_config(), name)
    transport = transport_for(remote)
    if not isinstance(transport, OpenSshTransport):
        raise QxubError(
            f"{remote.name} is not reached through OpenSSH, which keeps a login for later commands",
            hint="set transport: openssh for it (paramiko logs in with keys only)",
        )
    if not sys.stdin.isatty():
        raise UsageError(
            "qxub remote login needs a terminal to type a password or code into",
            hint="run it in a terminal",
        )
    transport.login()
    click.echo(
        f"qxub: logged in to {remote.name}; commands reuse this connection while it is used,"
        f" and for {remote.control_persist} after",
        err=True,
    )
