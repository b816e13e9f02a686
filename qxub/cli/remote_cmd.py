"""`qxub remote list|show|test|explain|shell|push|pull|watch` (and add|remove|install|login,
from remote_setup)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click

from qxub.cli.completion import remote_names
from qxub.cli.configured import cli_config, options_as_typed, remote_path
from qxub.cli.exec_options import SectionedCommand, exec_options, forwarded_words
from qxub.cli.outcome import sayer
from qxub.config import Config
from qxub.errors import UsageError
from qxub.mirroring.place import mirror_place
from qxub.project import find_project_root
from qxub.remote.config import Remote, configured_remotes, find_remote
from qxub.remote.reach import transport_for
from qxub.remote.scripts import subdir


def _config() -> Config:
    return cli_config()


def _remote(name: str | None) -> Remote:
    return find_remote(_config(), name)


# Commands that set remotes up (qxub/cli/remote_setup.py, which brings in the config writer
# and YAML): imported when one of them runs or help lists them, not for a push.
_SETUP = {
    "add": "remote_add",
    "install": "remote_install",
    "login": "remote_login",
    "remove": "remote_remove",
}


class _RemoteGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*self.commands, *_SETUP])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _SETUP:
            from qxub.cli import remote_setup

            command = getattr(remote_setup, _SETUP[cmd_name])
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)


@click.group("remote", cls=_RemoteGroup)
def remote_group() -> None:
    """Remotes: the machines `qxub exec --remote NAME` runs jobs on."""


@remote_group.command("list")
def remote_list() -> None:
    """Every remote, with its url, working dir and where it is configured."""
    config = _config()
    remotes = configured_remotes(config)
    default = config.lookup("default_remote")
    rows = [("NAME", "URL", "WORKING DIR", "CONFIGURED IN")]
    for remote in remotes.values():
        mark = " (default)" if default and default[0] == remote.name else ""
        rows.append((remote.name + mark, remote.url, remote.working_dir, remote.source))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[3])


@remote_group.command("show")
@click.argument("name", required=False, shell_complete=remote_names)
def remote_show(name: str | None) -> None:
    """All settings of one remote (default: default_remote)."""
    from qxub.mirroring.engines import engine_choice
    from qxub.remote.reach import transport_kind

    remote = _remote(name)
    target = remote.target
    mover = remote.sync_target
    fields: list[tuple[str, Any]] = [
        ("name", remote.name),
        ("url", remote.url),
        ("working_dir", remote.working_dir),
        ("platform", remote.platform or "(detected there)"),
        ("conda_env", remote.conda_env or "(none)"),
        ("qxub_command", shlex.join(remote.qxub_command)),
        ("config", (target.config_file if target else None) or "(ssh's own)"),
        ("force_tty", "(automatic)" if remote.force_tty is None else remote.force_tty),
        ("transport", "{} ({})".format(*transport_kind(remote))),
        ("sync_engine", "{} ({})".format(*engine_choice(remote, None))),
        ("sync_url", (mover and f"ssh://{mover.display()}") or "(none: the remote itself)"),
        ("sync.auto", remote.sync_auto),
        ("sync.ignore", " ".join(remote.sync_ignore) or "(none)"),
        ("sync.pull", " ".join(remote.sync_pull) or "(none)"),
        ("sync.snapshot", remote.sync_snapshot),
        ("auto_install", remote.auto_install),
        ("control_persist", remote.control_persist),
        ("defaults", " ".join(f"{k}={v}" for k, v in remote.defaults) or "(none)"),
        ("configured in", remote.source),
    ]
    for key, value in fields:
        click.echo(f"{key:<15} {value}")


@remote_group.command("test")
@click.argument("name", required=False, shell_complete=remote_names)
def remote_test(name: str | None) -> None:
    """Check every link to a remote: name, network, login, host key, qxub, working dir, rsync."""
    from qxub.cli.remote_setup import print_checks

    if not print_checks(_remote(name).name):
        raise SystemExit(1)


@remote_group.command("explain", cls=SectionedCommand)
@click.argument("remote_name", metavar="NAME")
@exec_options
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def remote_explain(ctx: click.Context, /, remote_name: str, **_: Any) -> None:
    """What `qxub exec --remote NAME [OPTIONS] -- COMMAND` would do, without doing it.

    Put the command after `--`."""
    options = options_as_typed(ctx, skip=frozenset({"remote_name"}))
    if options.remote:
        raise UsageError(
            "give the remote as NAME, not --remote", hint="qxub remote explain gadi -- cmd"
        )
    command = options.command
    if not command:
        raise UsageError("no command given", hint="e.g. qxub remote explain gadi -- python3 run.py")
    remote = _remote(remote_name)
    cwd = Path.cwd()
    config = _config()
    mirror_path = remote_path(config)
    words = [*forwarded_words(ctx, remote.defaults), "--", *command]
    # exec's machinery: not for a push
    from qxub.mirroring.run import remote_exec_script, snapshot_token

    token = snapshot_token(remote, options)
    script = remote_exec_script(remote, words, cwd, mirror_path, token)
    transport = transport_for(remote)
    root = find_project_root(cwd)
    place = mirror_place(remote, root, mirror_path)
    sub = subdir(cwd)
    folder = place.display if token is None else f"{place.display}.runs/{token}"
    runs_in = folder if str(sub) == "." else f"{folder}/{sub}"
    click.echo(f"project root:   {root}")
    click.echo(f"you are in:     {cwd}")
    click.echo(f"runs in:        {runs_in}  (on {remote.name})")
    if token is not None:
        click.echo("                (a copy of the mirror, taken just before it is submitted)")
    click.echo(
        f"remote qxub:    {' '.join(remote.qxub_command)} exec {' '.join(_q(w) for w in words)}"
    )
    click.echo("remote script:")
    for line in script:
        click.echo(f"    {line}")
    click.echo(f"local command:  {transport.describe(script)}")


def _q(word: str) -> str:
    import shlex

    return shlex.quote(word)


@remote_group.command("shell")
@click.argument("name", required=False, shell_complete=remote_names)
def remote_shell(name: str | None) -> None:
    """A login shell on the remote, in this project's mirror (where you stand in it).

    It goes through the same ssh connection as everything else; `exit` comes back."""
    from qxub.mirroring.run import run_remote_shell

    config = _config()
    remote = find_remote(config, name)
    raise SystemExit(run_remote_shell(remote, Path.cwd(), remote_path(config)))


@remote_group.command("push")
@click.argument("name", required=False, shell_complete=remote_names)
@click.option("--dry-run", "-n", is_flag=True, help="List what would be sent and deleted.")
@click.option("-v", "--verbose", count=True, help="Name each file sent or deleted.")
@click.option("-q", "--quiet", is_flag=True, help="No summary line.")
@click.option(
    "--full", is_flag=True, help="Compare every file with the mirror, not only those changed here."
)
@click.option(
    "--force",
    is_flag=True,
    help="Overwrite files that changed there since the last sync.",
)
def remote_push(
    name: str | None, dry_run: bool, verbose: int, quiet: bool, full: bool, force: bool
) -> None:
    """Mirror the project to the remote (default: default_remote).

    Sends what changed here since the last sync; deletes there files qxub pushed that are gone
    here. A file that changed there since (a job wrote it) is never overwritten or deleted: it
    is reported as a conflict (exit 1) and the rest of the push goes on."""
    from qxub.cli.push_run import run_push

    code = run_push(name, dry_run=dry_run, verbose=verbose, quiet=quiet, full=full, force=force)
    if code:
        raise SystemExit(code)


@remote_group.command("pull")
@click.argument("args", nargs=-1, metavar="[NAME] [PATH]...", shell_complete=remote_names)
@click.option("--dry-run", "-n", is_flag=True, help="List what would come, and the conflicts.")
@click.option("--force", is_flag=True, help="Overwrite local files even if they changed here.")
@click.option("--keep-local", is_flag=True, help="Skip files that changed here (no side copy).")
@click.option(
    "--job",
    metavar="ID",
    help="Pull from the run folder of this job (submitted with --snapshot), not the mirror.",
)
@click.option("-v", "--verbose", count=True, help="Name each file pulled.")
@click.option("-q", "--quiet", is_flag=True, help="No summary line.")
def remote_pull(
    args: tuple[str, ...],
    dry_run: bool,
    force: bool,
    keep_local: bool,
    job: str | None,
    verbose: int,
    quiet: bool,
) -> None:
    """Bring paths from the remote mirror into the project (default: the remote's sync.pull).

    A local file that changed since qxub last synced it is never overwritten: the remote copy
    is kept beside it as NAME.from-REMOTE (--keep-local skips it, --force overwrites)."""
    import sys

    from qxub.mirroring.pull import pull

    if force and keep_local:
        raise UsageError("--force and --keep-local contradict each other", hint="pick one")
    config = _config()
    remotes = configured_remotes(config)
    name, paths = (args[0], args[1:]) if args and args[0] in remotes else (None, args)
    remote = find_remote(config, name)
    result = pull(
        remote,
        Path.cwd(),
        remote_path(config),
        paths,
        sayer(quiet),
        dry_run=dry_run,
        force=force,
        keep_local=keep_local,
        verbose=verbose,
        progress=sys.stderr.isatty() and not quiet,
        job=job,
    )
    if result.unresolved and not dry_run:
        raise SystemExit(1)


@remote_group.command("watch")
@click.argument("name", required=False, shell_complete=remote_names)
@click.option("-v", "--verbose", count=True, help="Name each file sent or deleted.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.option(
    "--quiet-period",
    default=100,
    show_default=True,
    type=click.IntRange(min=0),
    metavar="MS",
    help="Push once saves pause this long (ms); at least once a second anyway.",
)
def remote_watch(name: str | None, verbose: int, quiet: bool, quiet_period: int) -> None:
    """Push the project, then push every change as it is saved, until Ctrl-C.

    Uses the same ignore rules and the same never-delete-what-qxub-did-not-push rule as
    `qxub remote push`."""
    from qxub.mirroring.watch import watch

    config = _config()
    remote = find_remote(config, name)
    raise SystemExit(
        watch(
            remote,
            Path.cwd(),
            remote_path(config),
            sayer(quiet),
            quiet_period=quiet_period / 1000,
            verbose=verbose,
        )
    )
