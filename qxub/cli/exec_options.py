"""The options of `qxub exec`, defined once, and what is derived from them.

The same parameter objects give the help text, the config `defaults:` schema, the options
recorded in a job's script and (with --remote) the options forwarded to the remote qxub.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from qxub.cli import exec_words
from qxub.cli.completion import platform_names, queue_names, remote_names
from qxub.cli.types import AssignmentType, DurationType, SizeType
from qxub.schedulers import NAMES as SCHEDULER_NAMES

F = TypeVar("F", bound=Callable[..., Any])

_CONTEXT = "Execution context"
_RESOURCES = "Resources"
_JOB = "Job"
_BEHAVIOUR = "Behaviour"
_REMOTE = "Remote"

OPTIONS: list[tuple[str, Callable[[F], F]]] = [
    (_CONTEXT, click.option("--env", help="Conda environment to activate.")),
    (
        _CONTEXT,
        click.option(
            "--mod",
            "mods_each",
            multiple=True,
            metavar="NAME",
            help="Environment module to load (repeatable, loaded in order).",
        ),
    ),
    (
        _CONTEXT,
        click.option(
            "--mods",
            "mods_list",
            multiple=True,
            metavar="'A B,C'",
            help="Several modules, separated by spaces or commas.",
        ),
    ),
    (
        _CONTEXT,
        click.option(
            "--sif", metavar="IMAGE", help="Run the command in this Singularity/Apptainer image."
        ),
    ),
    (
        _CONTEXT,
        click.option(
            "--bind",
            multiple=True,
            metavar="SPEC",
            help="Bind path into the --sif image (repeatable).",
        ),
    ),
    (
        _CONTEXT,
        click.option(
            "--default",
            "default_context",
            is_flag=True,
            help="No context: run in the plain login environment.",
        ),
    ),
    (
        _RESOURCES,
        click.option("--mem", "--memory", "mem", type=SizeType(), help="Memory, e.g. 16GB."),
    ),
    (
        _RESOURCES,
        click.option("--cpus", "--threads", "cpus", type=click.IntRange(min=1), help="CPU cores."),
    ),
    (
        _RESOURCES,
        click.option(
            "--runtime",
            "--time",
            "runtime",
            type=DurationType(),
            help="Wall time: 1:30:00, 90m, 2h30m, 45s, or minutes.",
        ),
    ),
    (
        _RESOURCES,
        click.option(
            "--disk",
            "--jobfs",
            "disk",
            type=SizeType(),
            help="Node-local scratch disk (PBS jobfs), e.g. 10GB.",
        ),
    ),
    (_RESOURCES, click.option("--gpus", type=click.IntRange(min=1), help="GPUs.")),
    (_RESOURCES, click.option("--gpu-type", help="GPU model, e.g. v100 or a100.")),
    (
        _RESOURCES,
        click.option(
            "-l",
            "--resources",
            multiple=True,
            metavar="K=V[,K=V]",
            type=AssignmentType(many=True, shell_names=False, bare_keys=True),
            help="Scheduler resources. ncpus, mem, walltime, jobfs, ngpus, storage and wd "
            "(and Slurm's cpus-per-task, time, gres=gpu:N) are read as the options they name; "
            "others are passed on verbatim.",
        ),
    ),
    (
        _RESOURCES,
        click.option(
            "--volumes",
            "--storage",
            "volumes",
            metavar="SPEC",
            help="File systems the job needs, e.g. gdata/a56+scratch/a56.",
        ),
    ),
    (
        _RESOURCES,
        click.option(
            "--internet",
            is_flag=True,
            help="The job needs internet access (--queue auto honours it).",
        ),
    ),
    (
        _JOB,
        click.option(
            "-q", "--queue", help="Queue (partition), or 'auto'.", shell_complete=queue_names
        ),
    ),
    (_JOB, click.option("-N", "--name", help="Job name (default: the command's name).")),
    (_JOB, click.option("-P", "--project", help="Project (account) to charge.")),
    (
        _JOB,
        click.option(
            "--array",
            metavar="SPEC",
            help="Run the command as a job array: 1-10, 1-100:2 or 1,3,7; each sub-job sees its "
            "index in $QXUB_ARRAY_INDEX.",
        ),
    ),
    (
        _JOB,
        click.option(
            "--array-parallel",
            type=click.IntRange(min=1),
            metavar="N",
            help="Run at most N sub-jobs of the array at once (local default: the CPU count).",
        ),
    ),
    (
        _JOB,
        click.option(
            "--after",
            multiple=True,
            metavar="ID[,ID]",
            help="Start only after these jobs succeeded (never if one fails).",
        ),
    ),
    (
        _JOB,
        click.option(
            "--after-any",
            multiple=True,
            metavar="ID[,ID]",
            help="Start only after these jobs ended, whatever their exit codes.",
        ),
    ),
    (
        _JOB,
        click.option(
            "--mail",
            is_flag=False,
            flag_value="",
            default=None,
            metavar="[ADDRESS]",
            help="Send mail about the job (default address: yours on the cluster).",
        ),
    ),
    (
        _JOB,
        click.option(
            "--mail-on",
            metavar="EVENTS",
            help="When to mail: begin, end, fail, comma-separated (default: end,fail).",
        ),
    ),
    (
        _JOB,
        click.option(
            "--execdir",
            type=click.Path(file_okay=False),
            help="Directory to run in (default: the current one).",
        ),
    ),
    (
        _JOB,
        click.option(
            "--out",
            type=click.Path(dir_okay=False),
            help="Write the job's stdout to this file (default: its log dir).",
        ),
    ),
    (
        _JOB,
        click.option(
            "--err",
            type=click.Path(dir_okay=False),
            help="Write the job's stderr to this file (default: its log dir).",
        ),
    ),
    (
        _JOB,
        click.option(
            "--var",
            "var_each",
            multiple=True,
            metavar="K=V",
            type=AssignmentType(),
            help="Export a variable (repeatable).",
        ),
    ),
    (
        _JOB,
        click.option(
            "--vars",
            "vars_list",
            multiple=True,
            metavar="'A=1,B=2'",
            type=AssignmentType(many=True),
            help="Export several variables.",
        ),
    ),
    (_JOB, click.option("--pre", metavar="CMD", help="Shell command to run before the command.")),
    (
        _JOB,
        click.option(
            "--post", metavar="CMD", help="Shell command to run after it, whatever its exit code."
        ),
    ),
    (
        _JOB,
        click.option(
            "--template",
            type=click.Path(dir_okay=False),
            help="Job script template with {{ directives }} and {{ body }}.",
        ),
    ),
    (
        _JOB,
        click.option(
            "--platform",
            metavar="NAME",
            help="Platform definition to use (default: detected).",
            shell_complete=platform_names,
        ),
    ),
    (
        _JOB,
        click.option(
            "--scheduler",
            type=click.Choice(SCHEDULER_NAMES),
            help="Scheduler to submit to (default: detected).",
        ),
    ),
    (
        _BEHAVIOUR,
        click.option(
            "--dry", is_flag=True, help="Print the job script and submit command; submit nothing."
        ),
    ),
    (
        _BEHAVIOUR,
        click.option(
            "--interactive",
            is_flag=True,
            help="Run on your terminal (COMMAND, else your shell): qsub -I, srun --pty, a pty.",
        ),
    ),
    (
        _BEHAVIOUR,
        click.option(
            "--forward",
            "forward",
            multiple=True,
            metavar="[LOCAL:]PORT",
            help="Once the job runs, reach its PORT at localhost:LOCAL here (repeatable).",
        ),
    ),
    (
        _BEHAVIOUR,
        click.option("--terse", is_flag=True, help="Print only the job id and return at once."),
    ),
    (
        _BEHAVIOUR,
        click.option(
            "--detach",
            is_flag=True,
            help="Submit, say how to follow the job later, return at once.",
        ),
    ),
    (
        _BEHAVIOUR,
        click.option(
            "--quiet", is_flag=True, help="No status lines (the job's output still streams)."
        ),
    ),
    (_BEHAVIOUR, click.option("-v", "--verbose", count=True, help="Say more (repeatable).")),
    (
        _BEHAVIOUR,
        click.option(
            "--config",
            "config_file",
            type=click.Path(dir_okay=False),
            help="Extra config file, above the project's.",
        ),
    ),
    (
        _REMOTE,
        click.option(
            "--remote",
            metavar="NAME",
            help="Run on this remote (see `qxub remote list`); `local` is built in.",
            shell_complete=remote_names,
        ),
    ),
    (
        _REMOTE,
        click.option(
            "--sync/--no-sync",
            "sync",
            default=None,
            help="Push the project to the remote first (default: its sync.auto).",
        ),
    ),
    (
        _REMOTE,
        click.option(
            "--snapshot/--no-snapshot",
            "snapshot",
            default=None,
            help="Run the job in its own copy of the mirror, taken at submission, so later "
            "pushes do not change what it runs (default: the remote's sync.snapshot).",
        ),
    ),
    (
        _REMOTE,
        click.option(
            "--pull",
            "pull",
            multiple=True,
            metavar="PATH",
            help="Pull PATH back after the job ends, whatever its exit code.",
        ),
    ),
]


def _names(option: Callable[[F], F]) -> set[str]:
    """The parameter names an option decorator declares."""

    def probe() -> None: ...

    option(probe)  # type: ignore[arg-type]
    return {p.name for p in getattr(probe, "__click_params__", []) if p.name}


@cache
def option_sections() -> dict[str, str]:
    """Each option's section in `--help` (worked out for the help only)."""
    return {name: section for section, option in OPTIONS for name in _names(option)}


def exec_options(func: F, only: frozenset[str] | None = None) -> F:
    """Apply the exec options (or those named in `only`) to a click command function."""
    for _, option in reversed(OPTIONS):
        if only is None or _names(option) & only:
            func = option(func)
    return func


def options_named(only: frozenset[str]) -> Callable[[F], F]:
    """A decorator applying the exec options named in `only`, read and checked the same way."""
    return lambda func: exec_options(func, only)


class SectionedCommand(click.Command):
    """A command whose `--help` lists the exec options in sections."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                section = option_sections().get(param.name or "", "Other options")
                sections.setdefault(section, []).append(record)
        for section, records in sections.items():
            with formatter.section(section):
                formatter.write_dl(records)


def long_name(param: click.Parameter) -> str:
    longs = [o for o in param.opts if o.startswith("--")]
    return longs[0] if longs else param.opts[0]


def typed_names(ctx: click.Context) -> list[str]:
    """The exec options typed on the command line of `ctx` (their names)."""
    return [
        name for name in ctx.params if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
    ]


def typed_options(
    ctx: click.Context, skip: frozenset[str] = frozenset(), joined: bool = False
) -> list[str]:
    """The options the user typed on the command line, as argv words, in a canonical order."""
    return exec_words.typed_words(ctx.params, typed_names(ctx), skip, joined)


def forwarded_words(ctx: click.Context, defaults: Iterable[tuple[str, Any]] = ()) -> list[str]:
    """What a remote qxub exec gets: the options typed here (minus laptop-only ones), then the
    remote's `defaults:` for options not typed, each as argv words."""
    return exec_words.forwarded(ctx.params, typed_names(ctx), defaults)


def defaults_validator(command: click.Command) -> Callable[[str, Any], Any]:
    """A checker for config `defaults:` entries, built from the command's own options."""
    by_name = {p.name: p for p in command.params if isinstance(p, click.Option)}

    def check(key: str, value: Any) -> Any:
        name = exec_words.default_name(key)
        if name is None or name not in by_name:
            valid = sorted(
                long_name(p)[2:] for n, p in by_name.items() if n not in exec_words.NOT_DEFAULTABLE
            )
            raise ValueError(f"not an exec option; valid: {', '.join(valid)}")
        param = by_name[name]
        if isinstance(value, list) and not param.multiple:
            raise ValueError(f"{long_name(param)} takes one value, not a list")
        items = value if isinstance(value, list) else [value]
        for item in items:
            _check_shape(param, item)
        try:
            return param.type_cast_value(click.Context(command), items if param.multiple else value)
        except click.BadParameter as exc:
            raise ValueError(exc.format_message()) from None

    return check


def _check_shape(param: click.Option, value: Any) -> None:
    """A `defaults:` value is one word or number (true or false for a flag): YAML gives the
    types, which click's own checks take for granted."""
    flag = long_name(param)
    if isinstance(value, dict | list):
        kind = "a mapping" if isinstance(value, dict) else "a list"
        raise ValueError(f"{flag} takes a word or a number, not {kind}")
    if param.is_flag and not isinstance(value, bool) and value is not None:
        raise ValueError(f"{flag} is a flag: give true or false, not {_yaml(value)}")
    if isinstance(param.type, click.IntRange) and isinstance(value, bool | float):
        raise ValueError(f"{flag} takes a whole number, not {_yaml(value)}")


def _yaml(value: Any) -> str:
    """A value as YAML writes it (`true`, not Python's `True`)."""
    return str(value).lower() if isinstance(value, bool) else repr(value)
