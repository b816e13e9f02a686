"""`qxub exec [OPTIONS] -- COMMAND [ARGS]...`"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from qxub import protocol
from qxub.cli.exec_options import (
    NOT_DEFAULTABLE,
    SectionedCommand,
    defaults_validator,
    exec_options,
    forwarded_words,
    option_for_default,
    typed_options,
)
from qxub.config import Config, Schema, load_config
from qxub.errors import UsageError
from qxub.job.build import absolute, build_context, build_resources, build_variables
from qxub.job.spec import JobSpec

EXEC_CONTEXT = {
    # Everything after the command's first word belongs to the command, dashes included.
    "allow_interspersed_args": False,
    "help_option_names": ["-h", "--help"],
}


@click.command(
    "exec",
    cls=SectionedCommand,
    context_settings=EXEC_CONTEXT,
    epilog="Everything after `--` is the command, passed on word for word.",
)
@exec_options
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def exec_command(ctx: click.Context, /, **params: Any) -> None:
    """Run COMMAND as a batch job, stream its output and exit with its exit code."""
    ctx.exit(run_exec(ctx, params))


def config_schema() -> Schema:
    from qxub.remote.config import remotes_validator

    check = defaults_validator(exec_command)
    return Schema(defaults=check, remotes=remotes_validator(check))


def cli_config(explicit: str | None = None) -> Config:
    """The layered config as every command reads it: from here, checked against the exec
    options and the remotes schema."""
    return load_config(Path.cwd(), Path(explicit) if explicit else None, config_schema())


def run_exec(ctx: click.Context, params: dict[str, Any]) -> int:
    protocol.hello()
    cwd = Path.cwd()
    config_file = params.pop("config_file")
    config = cli_config(config_file)
    command = tuple(params.pop("command"))
    if not command:
        raise UsageError(
            "no command given", hint="put the command after `--`, e.g. qxub exec -- python3 run.py"
        )
    if params["remote"]:
        from qxub.remote.config import find_remote
        from qxub.remote.run import run_remote_job

        remote = find_remote(config, params["remote"])
        words = [*forwarded_words(ctx, remote.defaults), "--", *command]
        found = config.lookup("remote_path")
        return run_remote_job(
            remote,
            words,
            cwd,
            str(found[0]) if found else None,
            sync=remote.sync_auto if params["sync"] is None else params["sync"],
            pulls=params["pull"],
            quiet=params["quiet"] or params["terse"],
            verbose=params["verbose"],
        )
    if params["sync"] or params["pull"]:
        raise UsageError(
            "--sync and --pull go with --remote", hint="e.g. qxub exec --remote local --sync -- ..."
        )
    apply_config_defaults(ctx, params, config)
    if params["template"] and not Path(params["template"]).is_file():
        raise UsageError(f"--template {params['template']}: no such file")
    from qxub.execute import Mode, Streams, execute
    from qxub.placement import place
    from qxub.schedulers.registry import get_scheduler

    spec = spec_from_params(
        command, params, cwd, tuple(typed_options(ctx, skip=frozenset({"config_file"})))
    )
    placement = place(spec, scheduler=params["scheduler"], internet=params["internet"])
    scheduler = get_scheduler(placement.scheduler)
    mode = Mode(
        dry=params["dry"],
        terse=params["terse"],
        detach=params["detach"],
        quiet=params["quiet"],
        verbose=params["verbose"],
    )
    notes = [placement.estimate] if placement.estimate else []
    if params["verbose"]:
        notes += placement.notes
    streams = Streams.standard(params["quiet"] or params["terse"])
    return execute(placement.spec, scheduler, mode, streams, notes)


def apply_config_defaults(ctx: click.Context, params: dict[str, Any], config: Config) -> None:
    """Fill options the user did not type from the config's `defaults:`."""
    for key, (value, _layer) in config.defaults().items():
        param = option_for_default(ctx.command, key)
        if param is None or param.name is None or param.name in NOT_DEFAULTABLE:
            continue
        if ctx.get_parameter_source(param.name) is ParameterSource.COMMANDLINE:
            continue
        params[param.name] = value  # already checked and converted when the file was loaded


def spec_from_params(
    command: tuple[str, ...], params: dict[str, Any], cwd: Path, options: tuple[str, ...]
) -> JobSpec:
    template = None
    if params["template"]:
        template = Path(params["template"]).read_text()
    return JobSpec(
        argv=command,
        execdir=absolute(params["execdir"], cwd) or os.fspath(cwd),
        context=build_context(
            env=params["env"],
            mods_each=params["mods_each"],
            mods_list=params["mods_list"],
            sif=params["sif"],
            binds=params["bind"],
            default_context=params["default_context"],
        ),
        resources=build_resources(
            mem=params["mem"],
            cpus=params["cpus"],
            runtime=params["runtime"],
            disk=params["disk"],
            gpus=params["gpus"],
            gpu_type=params["gpu_type"],
            resources=params["resources"],
            volumes=params["volumes"],
        ),
        name=params["name"],
        queue=params["queue"],
        project=params["project"],
        out=absolute(params["out"], cwd),
        err=absolute(params["err"], cwd),
        variables=build_variables(params["var_each"], params["vars_list"]),
        pre=params["pre"],
        post=params["post"],
        template=template,
        platform=params["platform"],
        options=options,
    )
