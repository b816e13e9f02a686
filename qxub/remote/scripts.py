"""Every script qxub runs on a remote, built in one place: as lines, every word from the user or
the config shlex-quoted, parameters instead of text rewriting. `remote_command` wraps the
lines into the one string a transport hands to the remote login shell."""

from __future__ import annotations

import base64
import shlex
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from qxub import protocol
from qxub.errors import QxubError
from qxub.job.context import activation_lines
from qxub.job.spec import Context
from qxub.project import find_project_root
from qxub.remote.config import Remote

EXIT_NO_DIR = 97  # the remote shell could not enter the mirror directory
EXIT_NO_QXUB = 127  # the shell's own "command not found"
# Far below the kernel's limit for one argument (128 KiB); a script this long is a bug.
MAX_REMOTE_COMMAND = 100_000
RSYNC_PROBE = "command -v rsync >/dev/null 2>&1 && echo rsync=1"


def remote_command(script_lines: Sequence[str]) -> str:
    """The one string ssh hands to the remote login shell to run `script_lines` with bash.

    The script travels base64-encoded, so the login shell sees only `bash --norc -c '...'`
    with nothing to expand: that survives any login shell (csh/tcsh reject newlines inside
    quotes; fish has its own syntax) and keeps stdin free (`ssh -n`: a `cat` in the script
    reads nothing instead of eating the rest of the script, as with `bash -s`). The login
    shell runs the user's shell init once and bash inherits what it exported (PATH, conda
    and module variables) but not functions or aliases, like any script; `--norc` stops bash
    from sourcing ~/.bashrc a second time because it sees it was started by sshd.
    """
    script = "\n".join(script_lines) + "\n"
    encoded = base64.b64encode(script.encode()).decode("ascii")
    command = f"bash --norc -c 'eval \"$(echo {encoded} | base64 -d)\"'"
    if len(command) > MAX_REMOTE_COMMAND:
        raise QxubError(f"remote script too long ({len(script)} chars)", hint="a qxub bug")
    return command


def subdir(cwd: Path) -> PurePosixPath:
    """Where `cwd` stands inside its project."""
    root = find_project_root(cwd)
    return PurePosixPath(*cwd.absolute().relative_to(root).parts)


def preamble(remote: Remote, *, probe: bool = False) -> list[str]:
    """Environment for a remote qxub: unbuffered output, the protocol, the platform, conda.
    A missing qxub ends the script; with `probe` (`qxub remote test`) it sets
    `__qxub_missing=1` instead, and the protocol is not announced."""
    lines = ["export PYTHONUNBUFFERED=1"]
    if not probe:
        lines.append(f"export {protocol.ENV}={protocol.PROTOCOL}")
    if remote.platform:
        lines.append(f"export QXUB_PLATFORM={shlex.quote(remote.platform)}")
    if remote.conda_env:
        lines += activation_lines(Context(env=remote.conda_env))
    program = shlex.quote(remote.qxub_command[0])
    lines += [
        f"if ! command -v {program} >/dev/null 2>&1; then",
        f"    echo {shlex.quote(f'qxub: {remote.qxub_command[0]} is not found on')} "
        '"$(hostname)" >&2',
        "    __qxub_missing=1" if probe else f"    exit {EXIT_NO_QXUB}",
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


def probe_script(remote: Remote) -> list[str]:
    """`qxub remote test`: who we are there, the working_dir's state, rsync and `qxub info`."""
    return [
        'echo "user=$USER"',
        'echo "home=$HOME"',
        f"__qxub_wd={remote.working_dir_word()}",
        'echo "workdir=$__qxub_wd"',
        'if [ -d "$__qxub_wd" ]; then __qxub_p=$__qxub_wd; __qxub_ok=writable __qxub_no=readonly',
        "else __qxub_p=$__qxub_wd; __qxub_ok=creatable __qxub_no=blocked",
        '  while [ ! -d "$__qxub_p" ]; do __qxub_p=$(dirname "$__qxub_p"); done',
        "fi",
        'if [ -w "$__qxub_p" ]; then echo "workdir_state=$__qxub_ok"; '
        'else echo "workdir_state=$__qxub_no"; fi',
        'if command -v rsync >/dev/null 2>&1; then echo "rsync=$(rsync --version | head -1)"; '
        "else echo rsync=; fi",
        *preamble(remote, probe=True),
        'if [ -z "$__qxub_missing" ]; then',
        f"  echo info=$({shlex.join(remote.qxub_command)} info --json 2>&1 | tail -1)",
        "fi",
    ]


def data_mover_probe() -> list[str]:
    return ['command -v rsync || echo "no rsync"']


def mirror_script(
    root_word: str, working_dir_word: str, marker: str, marker_text: str, *, look_only: bool
) -> list[str]:
    """Enter (or, unless `look_only`, create) the mirror and report `key=value` fields, each
    ended by NUL (the paths may hold newlines): its real path, home, working_dir, rsync, and
    its marker (or that it is new and now claimed, or unmarked with files in it)."""
    name = shlex.quote(marker)
    claim = "true" if look_only else f"printf '%s\\n' {shlex.quote(marker_text)} > {name}"
    enter = (
        '[ -d "$__qxub_d" ] || { printf "missing=1\\0"; exit 0; }; cd -- "$__qxub_d" || exit 97'
        if look_only
        else 'mkdir -p -- "$__qxub_d" && cd -- "$__qxub_d" || exit 97'
    )
    return [
        f"__qxub_d={root_word}",
        f"__qxub_wd={working_dir_word}",
        enter,
        # The first NUL ends whatever the login shell printed before.
        'printf "\\0"',
        'command -v rsync >/dev/null 2>&1 && printf "rsync=1\\0"',
        'printf "path=%s\\0" "$(pwd -P)"',
        'printf "home=%s\\0" "$(cd ~ && pwd -P)"',
        'printf "wd=%s\\0" "$(cd -- "$__qxub_wd" 2>/dev/null && pwd -P)"',
        f"if [ -f {name} ]; then",
        f'    printf "marker=%s\\0" "$(head -c 4096 {name} | tr "\\n" " ")"',
        'elif [ -z "$(ls -A)" ]; then',
        f'    {claim} && printf "created=1\\0"',
        "else",
        '    printf "unmarked=1\\0"',
        "fi",
    ]


def remove_dirs_script(path: str, folders: list[str]) -> list[str]:
    """rmdir `folders` under `path`, deepest first; a folder with anything in it stays."""
    ordered = sorted(set(folders), key=lambda f: f.count("/"), reverse=True)
    script = [f"cd -- {shlex.quote(path)} || exit 0"]
    script += [f"rmdir -- {shlex.quote(f)} 2>/dev/null" for f in ordered]
    script.append("exit 0")
    return script
