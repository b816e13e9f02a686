"""Shell completion: `qxub completion bash|zsh|fish` prints click's script; remote, platform
and queue names complete from the config and the platform files."""

from __future__ import annotations

import click
from click.shell_completion import CompletionItem, get_completion_class

SHELLS = ("bash", "zsh", "fish")


def _quietly(names: list[str], incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(n) for n in sorted(names) if n.startswith(incomplete)]


def remote_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Remotes of the config (a broken config completes nothing rather than failing)."""
    try:
        from pathlib import Path

        from qxub.config import load_config
        from qxub.remote.config import configured_remotes

        return _quietly(list(configured_remotes(load_config(Path.cwd()))), incomplete)
    except Exception:
        return []


def platform_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    try:
        from qxub.platforms.loader import list_platforms

        return _quietly([p.name for p in list_platforms()], incomplete)
    except Exception:
        return []


def queue_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Queues of the platform named with --platform, else of every platform; and `auto`."""
    try:
        from qxub.platforms.loader import list_platforms

        chosen = ctx.params.get("platform") or ctx.params.get("platform_name")
        names = {"auto"}
        for platform in list_platforms():
            if not chosen or platform.name == chosen:
                names.update(q.name for q in platform.queues)
        return _quietly(list(names), incomplete)
    except Exception:
        return []


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion_command(shell: str) -> None:
    """Print the shell completion script for SHELL (bash, zsh or fish).

    \b
    bash:  eval "$(qxub completion bash)"    in ~/.bashrc
    zsh:   eval "$(qxub completion zsh)"     in ~/.zshrc
    fish:  qxub completion fish > ~/.config/fish/completions/qxub.fish"""
    from qxub.cli.main import cli

    complete_class = get_completion_class(shell)
    assert complete_class is not None
    click.echo(complete_class(cli, {}, "qxub", "_QXUB_COMPLETE").source())
