"""Render a job script: a pure function of the JobSpec and the scheduler's directives.

Every scheduler gets the same body: context activation, cd, exported variables, --pre, the
command, --post. The body's stdout and stderr go to files as it runs (so qxub can stream them)
and an EXIT trap writes the exit code to a status file (so qxub knows how it ended).
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from qxub.errors import UsageError
from qxub.job import capture
from qxub.job.context import activation_lines, wrap_command
from qxub.job.spec import JobSpec

EXIT_CODE_FILE = "exit_code"
STARTED_FILE = "started"
STDOUT_FILE = "stdout"
STDERR_FILE = "stderr"
STDIN_FILE = "stdin"  # what was piped into `qxub exec`, staged before submission
OUTPUT_LOG = "output"  # stdout and stderr in the job's order, as frames (qxub.job.capture)
CAPTURE_FD = 19  # the job script's end of the writer's "ready"/"done" FIFO
CAPTURE_START_WAIT = 60  # seconds the job waits for its output writer to start
CAPTURE_DRAIN_WAIT = 10  # seconds the EXIT trap waits for it to drain the job's last words

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


def output_log(logdir: str) -> str:
    return f"{logdir}/{OUTPUT_LOG}"


def capture_source() -> str:
    """The output writer's program, carried in each job script."""
    return Path(capture.__file__).read_text()


def _capture_lines(out: str, err: str, python: str) -> list[str]:
    """Point the job's stdout and stderr (to the shell words `out` and `err`) through FIFOs
    at one writer that keeps their order (qxub.job.capture, carried in the script: it needs
    any python3, not qxub). The job starts once the writer has opened them, and its exit code
    is written once the writer has drained them: the writer says both on a third FIFO, read
    with a timeout, so a writer that cannot start or finish never hangs the job."""
    q = shlex.quote
    return [
        '__qxub_fifos=$(mktemp -d "${TMPDIR:-/tmp}/qxub-job.XXXXXX") || exit 1',
        'mkfifo "$__qxub_fifos/o" "$__qxub_fifos/e" "$__qxub_fifos/r" || exit 1',
        f'exec {CAPTURE_FD}<>"$__qxub_fifos/r"',
        "__qxub_py=",
        f"for __qxub_try in {q(python)} python3; do",
        '    "$__qxub_try" -I -S -c "" 2>/dev/null && { __qxub_py=$__qxub_try; break; }',
        "done",
        f"__qxub_capture={q(capture_source())}",
        '[ -n "$__qxub_py" ] && "$__qxub_py" -I -S -c "$__qxub_capture" "$__qxub_fifos" '
        f'"$__qxub_log/{OUTPUT_LOG}" {out} {err} </dev/null >/dev/null '
        f'2>>"$__qxub_log/capture.err" {CAPTURE_FD}>&- &',
        # No writer (no python3 on this node, or it never started): the job's output goes
        # straight to its files, unstreamed, rather than into FIFOs that nobody reads.
        f'if [ -n "$__qxub_py" ] && read -r -t {CAPTURE_START_WAIT} -u {CAPTURE_FD} __qxub_ready'
        "; then",
        '    exec 1<>"$__qxub_fifos/o" 2<>"$__qxub_fifos/e"',
        "else",
        "    __qxub_direct=1",
        '    echo "qxub: no output writer (python3) ran on $(hostname): the output is in the'
        ' job\'s files only, not streamed" >>"$__qxub_log/capture.err"',
        f"    exec 1>>{out} 2>>{err}",
        "fi",
    ]


def body_lines(
    spec: JobSpec, logdir: str, array_variable: str | None = None, python: str | None = None
) -> list[str]:
    """The scheduler-independent part of the script. An array's sub-job takes its index from
    the scheduler's `array_variable` and writes its files into `<logdir>/<index>/`. `python`
    runs the output writer (default: the python running this qxub; else python3 on the job's
    PATH)."""
    q = shlex.quote
    python = python or sys.executable
    if spec.array:
        variable = array_variable or "QXUB_ARRAY_INDEX"
        lines = [
            f'__qxub_idx="${{{variable}:?qxub: not started as a sub-job of an array}}"',
            'export QXUB_ARRAY_INDEX="$__qxub_idx"',
            f'__qxub_log={q(logdir)}/"$__qxub_idx"',
            'mkdir -p -- "$__qxub_log" || exit 1',
        ]
        streams = _capture_lines(
            f'"$__qxub_log/{STDOUT_FILE}"', f'"$__qxub_log/{STDERR_FILE}"', python
        )
    else:
        lines = [f"__qxub_log={q(logdir)}"]
        streams = _capture_lines(q(stdout_path(spec, logdir)), q(stderr_path(spec, logdir)), python)
    lines += [
        "__qxub_finish() {",
        "    __qxub_rc=$?",
        # Close the job's streams and let the writer drain them before the exit code, so a
        # follower that sees the exit code has all of the output already.
        "    exec 1>&- 2>&-",
        f'    [ -n "${{__qxub_direct:-}}" ] || read -r -t {CAPTURE_DRAIN_WAIT} -u {CAPTURE_FD}'
        " __qxub_done",
        '    rm -rf -- "$__qxub_fifos"',
        f'    printf \'%s\\n\' "$__qxub_rc" > "$__qxub_log/{EXIT_CODE_FILE}.tmp"',
        f'    mv -f "$__qxub_log/{EXIT_CODE_FILE}.tmp" "$__qxub_log/{EXIT_CODE_FILE}"',
        "}",
        "trap __qxub_finish EXIT",
        # A signal ends the job with the shell's 128+N convention, and the EXIT trap records it.
        "trap 'exit 129' HUP",
        "trap 'exit 130' INT",
        "trap 'exit 143' TERM",
        *streams,
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
    python: str | None = None,
) -> str:
    """The whole job script as text (`python`: see body_lines)."""
    body = "\n".join(body_lines(spec, logdir, array_variable, python))
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
