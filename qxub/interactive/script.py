"""The job script of an interactive job: the batch job's context, `cd`, variables, --pre, the
command and --post, run on the terminal the scheduler's client gives it (a batch job writes
its output to files instead); the node it runs on and its exit code written to its log
folder, and, for a client that passes no resizes on, a loop that follows the window size."""

from __future__ import annotations

import shlex
from pathlib import Path

from qxub import __version__
from qxub.job.context import activation_lines, wrap_command
from qxub.job.script import EXIT_CODE_FILE, header_lines
from qxub.job.spec import JobSpec
from qxub.jobs import hostname

NODE_FILE = "node"  # the host the job runs on, for --forward
WINSIZE_FILE = "winsize"  # "ROWS COLS", for a client that does not pass resizes on


def interactive_script(
    spec: JobSpec, directives: list[str], logdir: Path, *, follow_resizes: bool = False
) -> str:
    q = shlex.quote
    log = q(str(logdir))
    lines = [
        "#!/bin/bash",
        *directives,
        *header_lines(spec, version=__version__, host=hostname()),
        f"__qxub_log={log}",
        "__qxub_finish() {",
        "    __qxub_rc=$?",
        f'    printf \'%s\\n\' "$__qxub_rc" > "$__qxub_log/{EXIT_CODE_FILE}.tmp"',
        f'    mv -f "$__qxub_log/{EXIT_CODE_FILE}.tmp" "$__qxub_log/{EXIT_CODE_FILE}"',
        "}",
        "trap __qxub_finish EXIT",
        "trap 'exit 129' HUP",
        "trap 'exit 143' TERM",
        f'hostname > "$__qxub_log/{NODE_FILE}"',
    ]
    if follow_resizes:
        lines += _resize_loop(f'"$__qxub_log/{WINSIZE_FILE}"')
    activation = activation_lines(spec.context)
    if activation:
        lines += [f"# context: {spec.context.kind}", *activation]
    lines.append(f"cd -- {q(spec.execdir)} || exit 1")
    lines += [f"export {name}={q(value)}" for name, value in spec.variables]
    if spec.pre:
        lines += ["__qxub_pre() {", spec.pre, "}", "__qxub_pre || exit $?"]
    lines += [wrap_command(spec.context, spec.argv), "__qxub_cmd_rc=$?"]
    if spec.post:
        lines.append(spec.post)
    lines.append("exit $__qxub_cmd_rc")
    return "\n".join(lines) + "\n"


def _resize_loop(size_file: str) -> list[str]:
    """Poll the size file (a shared file system carries it to the node) and set the terminal
    to it: the kernel then sends SIGWINCH to the program in front."""
    return [
        "__qxub_tty=$(tty)",
        "(",
        "    trap '' INT",
        "    __qxub_seen=",
        '    while sleep 0.25 && kill -0 "$$" 2>/dev/null; do  # ends with the job script',
        f"        __qxub_size=$(cat {size_file} 2>/dev/null) || continue",
        '        [ "$__qxub_size" = "$__qxub_seen" ] && continue',
        "        __qxub_seen=$__qxub_size",
        '        set -- $__qxub_size; stty rows "$1" cols "$2" < "$__qxub_tty"',
        "    done",
        ") &",
    ]
