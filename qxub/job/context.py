"""Execution contexts (conda, environment modules, Singularity) as shell lines for the job."""

from __future__ import annotations

import shlex

from qxub.job.spec import Context

# Batch jobs run non-interactive bash, where `module` is often undefined: look for the usual
# init files of Environment Modules and Lmod before the first `module load`.
_MODULE_INIT = """\
if ! command -v module >/dev/null 2>&1; then
    for __qxub_init in /etc/profile.d/modules.sh /usr/share/modules/init/bash \\
            /usr/share/lmod/lmod/init/bash /opt/apps/lmod/lmod/init/bash; do
        if [ -r "$__qxub_init" ]; then . "$__qxub_init"; break; fi
    done
fi
if ! command -v module >/dev/null 2>&1; then
    echo "qxub: the 'module' command is not available on $(hostname)" >&2
    exit 127
fi"""

_CONDA_INIT = """\
if ! command -v conda >/dev/null 2>&1; then
    echo "qxub: conda is not on PATH on $(hostname); load it with --mod or fix your PATH" >&2
    exit 127
fi
eval "$(conda shell.bash hook)\""""

_SIF_RUNTIME = """\
if command -v singularity >/dev/null 2>&1; then __qxub_sif=singularity
elif command -v apptainer >/dev/null 2>&1; then __qxub_sif=apptainer
else
    echo "qxub: neither singularity nor apptainer is on PATH on $(hostname)" >&2
    exit 127
fi"""


def activation_lines(context: Context) -> list[str]:
    """Shell lines that activate `context` before the command runs. Modules load first, then
    the conda env (a module may be what provides conda)."""
    lines: list[str] = []
    if context.modules:
        lines.append(_MODULE_INIT)
        for module in context.modules:
            quoted = shlex.quote(module)
            lines.append(
                f"module load {quoted} || "
                f"{{ echo {shlex.quote(f'qxub: module load {module} failed')} >&2; exit 1; }}"
            )
    if context.env:
        lines.append(_CONDA_INIT)
        quoted = shlex.quote(context.env)
        message = shlex.quote(f"qxub: conda activate {context.env} failed")
        lines.append(f"conda activate {quoted} || {{ echo {message} >&2; exit 1; }}")
    if context.sif:
        lines.append(_SIF_RUNTIME)
    return lines


def wrap_command(context: Context, argv: tuple[str, ...]) -> str:
    """The command line itself: inside the image for --sif, else as it is."""
    if context.sif:
        words: list[str] = ["exec"]
        for bind in context.binds:
            words += ["--bind", bind]
        words.append(context.sif)
        return '"$__qxub_sif" ' + shlex.join([*words, *argv])
    return shlex.join(argv)
