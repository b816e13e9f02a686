"""Render a job script: a pure function of the JobSpec and the scheduler's directives.

Every scheduler gets the same body: context activation, cd, exported variables, --pre, the
command, --post. The body's stdout and stderr go to files as it runs (so qxub can stream them)
and an EXIT trap writes the exit code to a status file (so qxub knows how it ended).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from qxub.errors import UsageError
from qxub.job.context import activation_lines, wrap_command
from qxub.job.spec import JobSpec

EXIT_CODE_FILE = "exit_code"
STARTED_FILE = "started"
STDOUT_FILE = "stdout"
STDERR_FILE = "stderr"
STDIN_FILE = "stdin"  # what was piped into `qxub exec`, staged before submission

_TEMPLATE_BODY = re.compile(r"\{\{\s*body\s*\}\}")
_TEMPLATE_DIRECTIVES = re.compile(r"\{\{\s*directives\s*\}\}")


def stdout_path(spec: JobSpec, logdir: str) -> str:
    return spec.out or f"{logdir}/{STDOUT_FILE}"


def stderr_path(spec: JobSpec, logdir: str) -> str:
    return spec.err or f"{logdir}/{STDERR_FILE}"


def _comment(text: str) -> str:
    # A newline inside a quoted word would end the comment and run the rest as code.
    return "# " + text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def header_lines(spec: JobSpec, *, version: str, host: str) -> list[str]:
    options = shlex.join(spec.options) if spec.options else "(none)"
    return [
        _comment(f"qxub {version} job script, submitted from {host}"),
        _comment(f"options: {options}"),
        _comment(f"command: {shlex.join(spec.argv)}"),
        _comment(f"context: {spec.context.kind}"),
    ]


def body_lines(spec: JobSpec, logdir: str, array_variable: str | None = None) -> list[str]:
    """The scheduler-independent part of the script. An array's sub-job takes its index from
    the scheduler's `array_variable` and writes its files into `<logdir>/<index>/`."""
    q = shlex.quote
    if spec.array:
        variable = array_variable or "QXUB_ARRAY_INDEX"
        lines = [
            f'__qxub_idx="${{{variable}:?qxub: not started as a sub-job of an array}}"',
            'export QXUB_ARRAY_INDEX="$__qxub_idx"',
            f'__qxub_log={q(logdir)}/"$__qxub_idx"',
            'mkdir -p -- "$__qxub_log" || exit 1',
        ]
        streams = f'exec >"$__qxub_log/{STDOUT_FILE}" 2>"$__qxub_log/{STDERR_FILE}"'
    else:
        lines = [f"__qxub_log={q(logdir)}"]
        streams = f"exec >{q(stdout_path(spec, logdir))} 2>{q(stderr_path(spec, logdir))}"
    lines += [
        "__qxub_finish() {",
        "    __qxub_rc=$?",
        f'    printf \'%s\\n\' "$__qxub_rc" > "$__qxub_log/{EXIT_CODE_FILE}.tmp"',
        f'    mv -f "$__qxub_log/{EXIT_CODE_FILE}.tmp" "$__qxub_log/{EXIT_CODE_FILE}"',
        "}",
        "trap __qxub_finish EXIT",
        # A signal ends the job with the shell's 128+N convention, and the EXIT trap records it.
        "trap 'exit 129' HUP",
        "trap 'exit 130' INT",
        "trap 'exit 143' TERM",
        streams,
        f'printf \'%s\\n\' "${{EPOCHREALTIME:-$(date +%s)}}" > "$__qxub_log/{STARTED_FILE}"',
        "export PYTHONUNBUFFERED=1",
    ]
    if spec.stdin:  # else the scheduler's own (/dev/null for every one of them)
        # The job's folder, not a sub-job's: every sub-job of an array reads the same stdin.
        lines.append(f"exec <{q(f'{logdir}/{STDIN_FILE}')}")
    activation = activation_lines(spec.context)
    if activation:
        lines += ["", f"# context: {spec.context.kind}", *activation]
    lines += ["", f"cd -- {q(spec.execdir)} || exit 1"]
    if spec.variables:
        lines += [f"export {name}={q(value)}" for name, value in spec.variables]
    if spec.pre:
        lines += ["", "# --pre", "__qxub_pre() {", spec.pre, "}", "__qxub_pre || exit $?"]
    lines += ["", "# the command", wrap_command(spec.context, spec.argv), "__qxub_cmd_rc=$?"]
    if spec.post:
        lines += ["", "# --post (runs whatever the command's exit code)", spec.post]
    lines += ["exit $__qxub_cmd_rc"]
    return lines


def render_script(
    spec: JobSpec,
    directives: Sequence[str],
    logdir: str,
    *,
    version: str,
    host: str,
    array_variable: str | None = None,
) -> str:
    """The whole job script as text."""
    body = "\n".join(body_lines(spec, logdir, array_variable))
    head = "\n".join(header_lines(spec, version=version, host=host))
    if spec.template is not None:
        return _fill_template(spec.template, "\n".join(directives), head + "\n\n" + body)
    parts = ["#!/bin/bash", *directives, head, "", body]
    return "\n".join(parts) + "\n"


def _fill_template(template: str, directives: str, body: str) -> str:
    if not _TEMPLATE_BODY.search(template):
        raise UsageError(
            "the --template file has no {{ body }} placeholder",
            hint="put a line `{{ body }}` where qxub's job body belongs "
            "(and optionally `{{ directives }}` after the #! line)",
        )
    text = _TEMPLATE_DIRECTIVES.sub(lambda _: directives, template)
    text = _TEMPLATE_BODY.sub(lambda _: body, text)
    return text if text.endswith("\n") else text + "\n"
