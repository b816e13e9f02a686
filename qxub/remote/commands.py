"""The remote side of every --remote command, built in one place, as lines, every word quoted."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from qxub import protocol
from qxub.job.context import activation_lines
from qxub.job.spec import Context
from qxub.project import find_project_root
from qxub.remote.config import Remote

EXIT_NO_DIR = 97  # the remote shell could not enter the mirror directory
EXIT_NO_QXUB = 127  # the shell's own "command not found"


def subdir(cwd: Path) -> PurePosixPath:
    """Where `cwd` stands inside its project."""
    root = find_project_root(cwd)
    return PurePosixPath(*cwd.absolute().relative_to(root).parts)


def preamble(remote: Remote) -> list[str]:
    """Environment for a remote qxub: unbuffered output, the protocol, the platform, conda."""
    lines = ["export PYTHONUNBUFFERED=1", f"export {protocol.ENV}={protocol.PROTOCOL}"]
    if remote.platform:
        lines.append(f"export QXUB_PLATFORM={shlex.quote(remote.platform)}")
    if remote.conda_env:
        lines += activation_lines(Context(env=remote.conda_env))
    program = shlex.quote(remote.qxub_command[0])
    lines += [
        f"if ! command -v {program} >/dev/null 2>&1; then",
        f"    echo {shlex.quote(f'qxub: {remote.qxub_command[0]} is not found on')} "
        '"$(hostname)" >&2',
        f"    exit {EXIT_NO_QXUB}",
        "fi",
    ]
    return lines


def enter_mirror(root_word: str, sub: PurePosixPath) -> list[str]:
    """cd into the mirror of where the user stands, creating it (and saying so) if need be."""
    where = root_word if str(sub) == "." else f"{root_word}/{shlex.quote(str(sub))}"
    return [
        f"__qxub_dir={where}",
        'if [ ! -d "$__qxub_dir" ]; then',
        '    mkdir -p -- "$__qxub_dir" || exit ' + str(EXIT_NO_DIR),
        '    echo "qxub: created $__qxub_dir on $(hostname); it is empty until the project is'
        ' copied there" >&2',
        "fi",
        f'cd -- "$__qxub_dir" || exit {EXIT_NO_DIR}',
    ]


def qxub_line(remote: Remote, words: Sequence[str]) -> str:
    return shlex.join([*remote.qxub_command, *words])


def exec_script(
    remote: Remote, root_word: str, sub: PurePosixPath, words: Sequence[str]
) -> list[str]:
    """`cd <mirror> && <activate> && qxub exec <forwarded> -- <command>` as lines."""
    return [*preamble(remote), *enter_mirror(root_word, sub), qxub_line(remote, ["exec", *words])]


def qxub_script(remote: Remote, words: Sequence[str]) -> list[str]:
    """Any other qxub command on the remote (wait, status, cancel)."""
    return [*preamble(remote), qxub_line(remote, words)]
