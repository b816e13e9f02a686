"""The local runner's driver: the bash script that runs one job's script on this machine.

It waits for the jobs the job comes after (`--after`: each must succeed, else the job never
runs; `--after-any`: each must end), then runs the job script once, or once per array index
with at most `--array-parallel` at a time ($QXUB_ARRAY_INDEX set for each). An array's own
exit code file, written when every sub-job has ended, holds the first failing sub-job's code
(0 when all succeeded), so a job that comes after the array waits for all of it.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from qxub.job.script import EXIT_CODE_FILE

DRIVER_NAME = "runner.sh"
NEVER_RAN_FILE = "never_ran"  # why a job never ran (a job it comes after failed)


def driver_lines(
    script: Path,
    logdir: Path,
    *,
    after: Sequence[tuple[str, Path, bool]],
    indices: Sequence[int],
    parallel: int,
) -> list[str]:
    """`after`: (job id, its log dir, must succeed) for each job this one comes after."""
    q = shlex.quote
    lines = [
        "#!/bin/bash",
        "# qxub's local runner for one job (see qxub/schedulers/local_driver.py)",
        f"__qxub_never={q(str(logdir / NEVER_RAN_FILE))}",
        "__qxub_after() {  # JOB LOGDIR MUST_SUCCEED",
        f'    local code_file="$2/{EXIT_CODE_FILE}" pid',
        '    while [ ! -s "$code_file" ]; do',
        '        pid=$(cat "$2/pid" 2>/dev/null)',
        '        if { [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; } \\',
        '            && [ ! -s "$code_file" ]; then',
        '            echo "job $1, which it comes after, ended without an exit code"'
        ' > "$__qxub_never"',
        "            exit 0",
        "        fi",
        "        sleep 0.2",
        "    done",
        '    if [ "$3" = ok ] && [ "$(cat "$code_file")" != 0 ]; then',
        '        echo "job $1, which it comes after, failed'
        ' (exit code $(cat "$code_file"))" > "$__qxub_never"',
        "        exit 0",
        "    fi",
        "}",
    ]
    for job_id, dep_logdir, must_succeed in after:
        lines.append(
            f"__qxub_after {q(job_id)} {q(str(dep_logdir))} {'ok' if must_succeed else 'any'}"
        )
    if not indices:
        return [*lines, f"exec bash {q(str(script))}"]
    codes = " ".join(q(str(logdir / str(i) / EXIT_CODE_FILE)) for i in indices)
    return [
        *lines,
        f"for __qxub_i in {' '.join(str(i) for i in indices)}; do",
        f'    while [ "$(jobs -rp | wc -l)" -ge {parallel} ]; do wait -n; done',
        f"    QXUB_ARRAY_INDEX=$__qxub_i bash {q(str(script))} &",
        "done",
        "wait",
        "__qxub_rc=0",
        f"for __qxub_f in {codes}; do",
        '    __qxub_c=$(cat "$__qxub_f" 2>/dev/null || echo 1)',
        '    if [ "$__qxub_rc" = 0 ] && [ "$__qxub_c" != 0 ]; then __qxub_rc=$__qxub_c; fi',
        "done",
        f'printf "%s\\n" "$__qxub_rc" > {q(str(logdir / EXIT_CODE_FILE))}.tmp',
        f"mv -f {q(str(logdir / EXIT_CODE_FILE))}.tmp {q(str(logdir / EXIT_CODE_FILE))}",
    ]
