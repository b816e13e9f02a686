"""Every script qxub runs on a remote, built in one place: as lines, every word from the user or
the config shlex-quoted, parameters instead of text rewriting. `remote_command` wraps the
lines into the one string a transport hands to the remote login shell."""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from qxub import __version__, protocol
from qxub.errors import QxubError
from qxub.project import find_project_root
from qxub.remote import handover
from qxub.remote.config import Remote
from qxub.remote.handover import EXIT_NO_DIR, HandOver
from qxub.remote.unpack import TOOLS_PROBE
from qxub.state import JOBS_DIR_ENV, RUN_FOLDER_ENV, RUN_ID_SUFFIX

EXIT_NO_SNAPSHOT = 96  # the remote shell could not copy the mirror into a run folder
RUNS_SUFFIX = ".runs"  # run folders live in `<mirror>.runs/`, beside the mirror
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
    encoded = _base64(script.encode())
    command = f"bash --norc -c 'eval \"$(echo {encoded} | base64 -d)\"'"
    if len(command) > MAX_REMOTE_COMMAND:
        raise QxubError(f"remote script too long ({len(script)} chars)", hint="a qxub bug")
    return command


def subdir(cwd: Path) -> PurePosixPath:
    """Where `cwd` stands inside its project."""
    root = find_project_root(cwd)
    return PurePosixPath(*cwd.absolute().relative_to(root).parts)


def preamble(remote: Remote, *, probe: bool = False, announce: bool = True) -> list[str]:
    """Environment for a remote qxub: unbuffered output, the protocol, the platform, conda.
    A missing qxub ends the script; with `probe` (`qxub remote test`) it sets
    `__qxub_missing=1` instead, and the protocol is not announced. Without `announce` (a
    session on a terminal, which carries no protocol) the remote qxub speaks plainly."""
    lines = ["export PYTHONUNBUFFERED=1"]
    if not probe and announce:
        lines.append(f"export {protocol.ENV}={protocol.PROTOCOL}")
        lines.append(f"export {protocol.VERSION_ENV}={shlex.quote(__version__)}")
        lines.append(f"export {protocol.SEGMENT_ENV}={remote.follow_segment}")
    if remote.platform:
        lines.append(f"export QXUB_PLATFORM={shlex.quote(remote.platform)}")
    jobs_dir = remote.jobs_dir_word()
    if jobs_dir is not None:
        lines.append(f"export {JOBS_DIR_ENV}={jobs_dir}")
    if remote.conda_env:
        from qxub.job.context import activation_lines  # what jobs are: only when needed here
        from qxub.job.spec import Context

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


def enter_mirror(root_word: str, sub: PurePosixPath, *, create: bool = True) -> list[str]:
    """cd into the mirror of where the user stands, creating it (and saying so) if need be;
    with `create` False (a --dry run), a missing folder is not made: its path goes to the
    remote qxub in `handover.ABSENT_ENV` instead."""
    where = root_word if str(sub) == "." else f"{root_word}/{shlex.quote(str(sub))}"
    if not create:
        return [
            f"__qxub_dir={where}",
            'if [ -d "$__qxub_dir" ]; then',
            f'    cd -- "$__qxub_dir" || exit {EXIT_NO_DIR}',
            "else",
            f'    export {handover.ABSENT_ENV}="$__qxub_dir"',
            "fi",
        ]
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
) -> HandOver:
    """`cd <mirror> && <activate> && qxub exec <forwarded> -- <command>` as lines; and the
    same run in two parts, for a session opened ahead (qxub.remote.warm): the preamble, then
    `qxub _await`, which enters the mirror and runs `exec <words>` once they come on its stdin
    (qxub.awaited)."""
    prelude = [
        *preamble(remote),
        f"export {handover.ROOT_ENV}={root_word}",
        f"exec {qxub_line(remote, [handover.WORD])}",
    ]
    return HandOver(
        [
            *preamble(remote),
            *enter_mirror(root_word, sub, create=not handover.is_dry(words)),
            qxub_line(remote, ["exec", *words]),
        ],
        prelude,
        handover.payload(str(sub), ["exec", *words]),
    )


def snapshot_exec_script(
    remote: Remote,
    root_word: str,
    sub: PurePosixPath,
    words: Sequence[str],
    token: str,
    marker: str,
) -> list[str]:
    """`exec_script` in the job's own copy of the mirror, taken before it is submitted: hard
    links (`cp -al`) in `<mirror>.runs/TOKEN`, beside the mirror (on its file system, out of
    every push's reach). A push replaces a file by renaming a new one over it, so the links
    keep what the job was submitted with. The remote qxub writes the job's id into
    `TOKEN.job` beside the copy; a copy that got no job (refused, --dry) is removed. A
    `<mirror>.runs` that holds the `marker` of a mirror is another project's: left alone."""
    run = f'"$__qxub_run"{RUN_ID_SUFFIX}'
    return [
        *preamble(remote),
        f"mkdir -p -- {root_word} || exit {EXIT_NO_DIR}",
        f"__qxub_m=$(cd -- {root_word} && pwd -P) || exit {EXIT_NO_DIR}",
        f'__qxub_run="$__qxub_m"{RUNS_SUFFIX}/{shlex.quote(token)}',
        # A project whose own mirror is named like this one's run folders: not ours to fill.
        f'if [ -e "$__qxub_m"{RUNS_SUFFIX}/{shlex.quote(marker)} ]; then',
        f'    echo "qxub: $__qxub_m{RUNS_SUFFIX} on $(hostname) is the mirror of another project,'
        ' not a folder of copies of this one; set remote_path to another name" >&2',
        f"    exit {EXIT_NO_SNAPSHOT}",
        "fi",
        f'mkdir -p -- "$__qxub_m"{RUNS_SUFFIX} && cp -al -- "$__qxub_m" "$__qxub_run" || {{',
        '    echo "qxub: could not copy the mirror $__qxub_m to $__qxub_run on $(hostname)" >&2',
        f'    rm -rf -- "$__qxub_run"; exit {EXIT_NO_SNAPSHOT}',
        "}",
        f'export {RUN_FOLDER_ENV}="$__qxub_run"',
        *enter_mirror('"$__qxub_run"', sub),
        qxub_line(remote, ["exec", *words]),
        "__qxub_rc=$?",
        f'[ -e {run} ] || rm -rf -- "$__qxub_run"',
        'exit "$__qxub_rc"',
    ]


def run_folder_script(runs: str, job_id: str) -> list[str]:
    """Say `run=PATH` (NUL-ended) for the run folder in `runs` that holds job `job_id`, if
    any: the one whose `TOKEN.job` names it."""
    return [
        'printf "\\0"',
        f"cd -- {shlex.quote(runs)} 2>/dev/null || exit 0",
        f"for __qxub_f in ./*{RUN_ID_SUFFIX}; do",
        f"    __qxub_r=${{__qxub_f%{RUN_ID_SUFFIX}}}",
        f'    [ -f "$__qxub_f" ] && [ "$(head -n 1 -- "$__qxub_f")" = {shlex.quote(job_id)} ] &&'
        ' [ -d "$__qxub_r" ] && printf "run=%s/%s\\0" "$(pwd -P)" "${__qxub_r#./}" && break',
        "done",
        "exit 0",
    ]


def terminal_exec_script(
    remote: Remote, root_word: str, sub: PurePosixPath, words: Sequence[str]
) -> list[str]:
    """`qxub exec --interactive ...` in the mirror, for a session on a terminal."""
    return [
        *preamble(remote, announce=False),
        *enter_mirror(root_word, sub),
        qxub_line(remote, ["exec", *words]),
    ]


def shell_script(root_word: str, sub: PurePosixPath) -> list[str]:
    """`qxub remote shell`: the user's login shell, in the mirror of where they stand."""
    return [*enter_mirror(root_word, sub), 'exec "${SHELL:-/bin/bash}" -l']


def port_probe_script(node: str, port: int) -> list[str]:
    """Exit 0 when NODE:PORT accepts a connection from where the script runs."""
    return [f"(exec 3<>/dev/tcp/{shlex.quote(node)}/{int(port)}) 2>/dev/null"]


def qxub_script(remote: Remote, words: Sequence[str]) -> list[str]:
    """Any other qxub command on the remote (wait, status, cancel)."""
    return [*preamble(remote), qxub_line(remote, words)]


def plain_qxub_script(remote: Remote, words: Sequence[str]) -> list[str]:
    """A qxub command whose output is captured as text, not framed (cancel after Ctrl-C)."""
    return [*preamble(remote), f"unset {protocol.ENV}", qxub_line(remote, words)]


def follow_script(remote: Remote, job_id: str, offset: int, *, quiet: bool = False) -> list[str]:
    """Follow a job again, from `offset` of its output log (one segment)."""
    words = ["wait", *(["--quiet"] if quiet else []), "--from-offset", str(offset), job_id]
    return qxub_script(remote, words)


def probe_script(remote: Remote) -> list[str]:
    """`qxub remote test`: who we are there, the working_dir's state, rsync and `qxub info`."""
    return [
        'echo "user=$USER"',
        'echo "home=$HOME"',
        f"__qxub_wd={remote.working_dir_word()}",
        'echo "workdir=$__qxub_wd"',
        # The deepest part of the path that exists, and the first one that does not.
        "__qxub_p=$__qxub_wd __qxub_m=",
        'while [ ! -e "$__qxub_p" ] && [ ! -L "$__qxub_p" ]; do',
        '    __qxub_m=$__qxub_p; __qxub_p=$(dirname -- "$__qxub_p")',
        "done",
        'echo "workdir_found=$__qxub_p"',
        'echo "workdir_missing=$__qxub_m"',
        'if [ ! -d "$__qxub_p" ]; then echo workdir_state=notdir',
        'elif [ -z "$__qxub_m" ]; then',
        '    if [ -w "$__qxub_p" ]; then echo workdir_state=writable;'
        " else echo workdir_state=readonly; fi",
        'elif [ -w "$__qxub_p" ]; then echo workdir_state=creatable',
        "else echo workdir_state=blocked; fi",
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
    # Written under a temporary name, then renamed: a failed write (a full disk) never
    # leaves an empty or partial marker.
    temp = shlex.quote(f"{marker}.tmp")
    claim = (
        "true"
        if look_only
        else f"printf '%s\\n' {shlex.quote(marker_text)} > {temp} && mv -f -- {temp} {name}"
        f" || {{ rm -f -- {temp}; exit 97; }}"
    )
    enter = (
        '[ -d "$__qxub_d" ] || { printf "missing=1\\0"; exit 0; }; cd -- "$__qxub_d" || exit 97'
        if look_only
        else 'mkdir -p -- "$__qxub_d" && cd -- "$__qxub_d" || exit 97'
    )
    lines = [
        f"__qxub_d={root_word}",
        f"__qxub_wd={working_dir_word}",
        enter,
        # The first NUL ends whatever the login shell printed before.
        'printf "\\0"',
        'command -v rsync >/dev/null 2>&1 && printf "rsync=1\\0"',
        'printf "path=%s\\0" "$(pwd -P)"',
        'printf "home=%s\\0" "$(cd ~ && pwd -P)"',
        'printf "wd=%s\\0" "$(cd -- "$__qxub_wd" 2>/dev/null && pwd -P)"',
        f"if [ -s {name} ]; then",
        f'    printf "marker=%s\\0" "$(head -c 4096 {name} | tr "\\n" " ")"',
        # An empty marker (left by a qxub before markers were renamed into place), or a folder
        # with nothing but qxub's temporary marker in it: claimed again.
        f'elif [ -f {name} ] || [ -z "$(ls -A | grep -vxF -e {temp})" ]; then',
        f'    {claim} && printf "created=1\\0"',
        "else",
        '    printf "unmarked=1\\0"',
        "fi",
    ]
    if look_only:
        return lines
    # Nothing in it but the marker (a first push may then stream into it), and the tools a
    # stream needs there.
    return [
        *lines,
        f'[ -z "$(ls -A | grep -vxF -e {name} -e {temp})" ] && printf "empty=1\\0"',
        *TOOLS_PROBE,
    ]


# `qxub remote install`: find a Python >= 3.10 (with venv), receive wheels in chunks, install.
_PYTHON_CHECK = (
    "import sys, venv; v = sys.version_info; "
    "print('ok' if v >= (3, 10) else 'too old:', '%d.%d.%d' % v[:3], sys.executable)"
)
PYTHON_NAMES = ("python3.14", "python3.13", "python3.12", "python3.11", "python3.10")
# Fresh-venv installer, run by the venv's python: checks each wheel's digest, unpacks it into
# site-packages and writes its console scripts (no pip needed there, so no package index).
_INSTALLER = """\
import base64, configparser, hashlib, os, sys, sysconfig, zipfile
src, paths = sys.argv[1], sysconfig.get_paths()
for name, digest in zip(sys.argv[2::2], sys.argv[3::2]):
    with open(os.path.join(src, name + ".b64"), "rb") as f:
        data = base64.b64decode(f.read())
    if hashlib.sha256(data).hexdigest() != digest:
        sys.exit("qxub: " + name + " arrived damaged")
    with open(os.path.join(src, name), "wb") as f:
        f.write(data)
    with zipfile.ZipFile(os.path.join(src, name)) as z:
        z.extractall(paths["purelib"])
        info = [n.split("/")[0] for n in z.namelist() if n.endswith(".dist-info/WHEEL")][0]
    info = os.path.join(paths["purelib"], info)
    with open(os.path.join(info, "INSTALLER"), "w") as f:
        f.write("qxub\\n")
    entry_points = configparser.ConfigParser()
    entry_points.optionxform = str
    entry_points.read(os.path.join(info, "entry_points.txt"))
    if entry_points.has_section("console_scripts"):
        for script, target in entry_points.items("console_scripts"):
            module, _, func = target.replace(" ", "").partition(":")
            out = os.path.join(paths["scripts"], script)
            with open(out, "w") as f:
                f.write("#!%s\\nimport sys\\nfrom %s import %s\\nsys.exit(%s())\\n"
                        % (sys.executable, module, func, func))
            os.chmod(out, 0o755)
"""


def install_venv_line(base_word: str, version: str) -> str:
    """Sets $__qxub_venv: the versioned venv folder under `base_word` (a shell word)."""
    return f"__qxub_venv={base_word}/{shlex.quote('qxub-' + version)}"


def install_probe_script(base_word: str, version: str, stamp: str, python: str | None) -> list[str]:
    """Reports `venv=`, then `installed=1` when this very set of wheels is installed there,
    else the Python to use (`python=VERSION PATH`, with `module=NAME` when a module provides
    it) or `none=1`, with a `tried=` line for each Python that did not do."""
    check = shlex.quote(_PYTHON_CHECK)
    lines = [
        install_venv_line(base_word, version),
        'printf "venv=%s\\n" "$__qxub_venv"',
        f'if [ -x "$__qxub_venv/bin/qxub" ] && [ "$(cat -- "$__qxub_venv/qxub-wheels" 2>/dev/null)"'
        f" = {shlex.quote(stamp)} ]; then echo installed=1; exit 0; fi",
        "__qxub_try() {",
        '    __qxub_p=$(command -v -- "$1" 2>/dev/null) || return 1',
        f'    __qxub_r=$("$__qxub_p" -c {check} 2>&1 | tail -1)',
        '    case $__qxub_r in "ok "*) echo "python=${__qxub_r#ok }"; return 0;; esac',
        '    echo "tried=$__qxub_p: ${__qxub_r:-no answer}"; return 1',
        "}",
    ]
    if python:
        word = shlex.quote(python)
        return [
            *lines,
            f'__qxub_try {word} || {{ command -v -- {word} >/dev/null || echo "tried={python}:'
            ' not found"; echo none=1; }',
        ]
    return [
        *lines,
        "for __qxub_c in python3 python; do __qxub_try $__qxub_c && exit 0; done",
        'if ! type module >/dev/null 2>&1 && [ -f "$MODULESHOME/init/bash" ]; then',
        '    . "$MODULESHOME/init/bash" >/dev/null 2>&1',
        "fi",
        "if type module >/dev/null 2>&1; then",
        "    for __qxub_m in $(module -t avail python3 2>&1 | grep -v ':$' | sed 's/(.*//'"
        " | grep '^python3' | sort -V -r); do",
        '        module load "$__qxub_m" >/dev/null 2>&1 || continue',
        '        if __qxub_try python3; then echo "module=$__qxub_m"; exit 0; fi',
        '        module unload "$__qxub_m" >/dev/null 2>&1',
        "    done",
        "fi",
        f"for __qxub_c in {' '.join(PYTHON_NAMES)}; do __qxub_try $__qxub_c && exit 0; done",
        "echo none=1",
    ]


def upload_chunk_script(
    base_word: str, version: str, pieces: Sequence[tuple[str, str]], first: bool
) -> list[str]:
    """Append base64 `pieces` (file name, text) to files in the venv's incoming folder."""
    lines = [install_venv_line(base_word, version), '__qxub_in="$__qxub_venv.incoming"']
    if first:
        lines.append('rm -rf -- "$__qxub_in" && mkdir -p -- "$__qxub_in" || exit 1')
    for name, text in pieces:
        target = shlex.quote(name + ".b64")
        lines.append(f'printf %s {shlex.quote(text)} >> "$__qxub_in"/{target}')
    return lines


def install_script(
    base_word: str,
    version: str,
    python: str,
    module: str | None,
    wheels: Sequence[tuple[str, str]],
    stamp: str,
) -> list[str]:
    """Create the venv (a fresh one, replacing an earlier venv of this version) and install
    the received wheels (file name, sha256) into it; reports `installed=VENV`."""
    args = " ".join(shlex.quote(word) for pair in wheels for word in pair)
    load = []
    if module:
        load = [
            'if ! type module >/dev/null 2>&1 && [ -f "$MODULESHOME/init/bash" ]; then',
            '    . "$MODULESHOME/init/bash" >/dev/null 2>&1',
            "fi",
            f"module load {shlex.quote(module)} >/dev/null 2>&1",
        ]
    return [
        install_venv_line(base_word, version),
        '__qxub_in="$__qxub_venv.incoming"',
        *load,
        'if [ -e "$__qxub_venv" ]; then',
        '    [ -f "$__qxub_venv/pyvenv.cfg" ] || { echo "qxub: $__qxub_venv exists and is not a'
        ' venv; not touching it" >&2; exit 1; }',
        '    rm -rf -- "$__qxub_venv" || exit 1',
        "fi",
        f'{shlex.quote(python)} -m venv --without-pip "$__qxub_venv" || exit 1',
        f'"$__qxub_venv/bin/python" -c {shlex.quote(_INSTALLER)} "$__qxub_in" {args} || exit 1',
        f'printf "%s\\n" {shlex.quote(stamp)} > "$__qxub_venv/qxub-wheels" || exit 1',
        'rm -rf -- "$__qxub_in"',
        'printf "installed=%s\\n" "$__qxub_venv"',
    ]


def installed_version_script(venv: str) -> list[str]:
    """The installed qxub's version, run in a fresh shell (no module loaded)."""
    return [f"{shlex.quote(venv + '/bin/qxub')} --version"]


def paths_word(paths: Sequence[str]) -> str:
    """`paths` (str; names that are not UTF-8 carry surrogate escapes) as one base64 shell word
    of their bytes, NUL-ended: any byte a name holds travels through any shell."""
    raw = b"".join(os.fsencode(p) + b"\0" for p in paths)
    return _base64(raw)


# One line per entry found: kind (f, l, d), size, mtime (whole seconds: strftime's %s, all a
# mirror's state compares; a third shorter than %T@'s fraction), ./path; NUL-ended.
_FIND_FORMAT = "%y %s %Ts %p\\0"
# find's %Ts goes through localtime(): with TZ unset, glibc looks at /etc/localtime again for
# each file (a stat each: half of find's time over a big mirror). The seconds are the same in
# any zone; UTC0 is a zone that needs no file at all.
FIND_TZ = "TZ=UTC0"


def mirror_state_script(
    path: str, marker: str, stat_paths: Sequence[str], list_paths: Sequence[str]
) -> list[str]:
    """In one run: whether the mirror at `path` exists and its marker, then what it holds at
    `stat_paths` (each path itself) and under `list_paths` (recursively), as find prints
    them, base64-encoded (the names are bytes). Fields are NUL-ended: state=ok|missing,
    marker=TEXT (when there is one), entries=BASE64. A recursive listing is compressed first
    where the remote has gzip (a tenth of the size: less to carry and to hold here)."""
    name = shlex.quote(marker)
    lines = [
        f"__qxub_d={shlex.quote(path)}",
        '[ -d "$__qxub_d" ] || { printf "\\0state=missing\\0"; exit 0; }',
        'cd -- "$__qxub_d" || exit 97',
        'printf "\\0state=ok\\0"',
        f'[ -f {name} ] && printf "marker=%s\\0" "$(head -c 4096 {name} | tr "\\n\\0" "  ")"',
        "{",
    ]
    for paths, depth in ((stat_paths, " -maxdepth 0"), (list_paths, "")):
        if list(paths) == ["."]:  # the whole mirror: no names to pass
            lines.append(f'  {FIND_TZ} find ./.{depth} -printf "{_FIND_FORMAT}" 2>/dev/null')
        elif paths:
            lines.append(
                f"  printf %s {paths_word([f'./{p}' for p in paths])} | base64 -d | xargs -0 -r"
                f' sh -c \'{FIND_TZ} find "$@"{depth} -printf "{_FIND_FORMAT}" 2>/dev/null;'
                " true' sh"
            )
    packed = " | { gzip -1 2>/dev/null || cat; }" if list_paths else ""
    lines += [
        "  true",
        f'}}{packed} | base64 | tr -d "\\n" | {{ printf "entries="; cat; printf "\\0"; }}',
    ]
    return lines


def delete_script(path: str, files: Sequence[str], folders: Sequence[str]) -> list[str]:
    """Remove `files` (never a folder) under `path`, then rmdir `folders` deepest first (one
    with anything in it stays); print `kept=BASE64` of the folders still there, NUL-ended."""
    ordered = sorted(set(folders), key=lambda f: os.fsencode(f).count(b"/"), reverse=True)
    lines = [f"cd -- {shlex.quote(path)} || exit 97"]
    if files:
        lines.append(
            f"printf %s {paths_word([f'./{p}' for p in files])} | base64 -d"
            ' | xargs -0 -r sh -c \'for f; do [ -d "$f" ] && [ ! -L "$f" ] || rm -f -- "$f";'
            " done' sh"
        )
    if ordered:
        lines += [
            f"printf %s {paths_word([f'./{p}' for p in ordered])} | base64 -d"
            ' | xargs -0 -r sh -c \'for d; do rmdir -- "$d" 2>/dev/null;'
            ' [ -d "$d" ] && printf "%s\\0" "$d"; done; true\' sh'
            ' | base64 | tr -d "\\n" | { printf "\\0kept="; cat; printf "\\0"; }',
        ]
    lines.append("exit 0")
    return lines


def guarded_rsync_path(
    path: str, marker: str, owner_prefix: str, expected: Sequence[tuple[str, str, str]]
) -> str:
    """rsync's --rsync-path for a push that checks the mirror in the same remote command
    that starts rsync's server: the mirror's marker starts with `owner_prefix` (this project
    on this host), and each path of `expected` (path, allowed, allowed: `kind size seconds`
    as find prints them) is missing there or in one of the allowed states. Otherwise nothing
    is written: the script says `qxub-guard:` on stderr and exits 99 before rsync starts."""
    raw = b"".join(
        os.fsencode(f"./{p}") + b"\0" + a.encode() + b"\0" + b.encode() + b"\0"
        for p, a, b in expected
    )
    refuse = 'echo "qxub-guard: {}" >&2; exit 99'
    lines = [
        f"cd -- {shlex.quote(path)} 2>/dev/null || {{ {refuse.format('no mirror')}; }}",
        f'case "$(head -c 4096 {shlex.quote(marker)} 2>/dev/null)" in',
        f"  {shlex.quote(owner_prefix)}*) ;;",
        f"  *) {refuse.format('marker')};;",
        "esac",
        "while IFS= read -r -d '' __p && IFS= read -r -d '' __a && IFS= read -r -d '' __b; do",
        f"  __g=$({FIND_TZ} find \"$__p\" -maxdepth 0 -printf '%y %s %Ts' 2>/dev/null)",
        '  [ -z "$__g" ] || [ "$__g" = "$__a" ] || [ "$__g" = "$__b" ] || '
        f"{{ {refuse.format('changed there')}; }}",
        f"done < <(printf %s {_base64(raw)} | base64 -d)",
    ]
    return remote_command(lines) + " && rsync"


def _base64(raw: bytes) -> str:
    import base64  # not at start-up: a script sent over a session opened ahead needs none

    return base64.b64encode(raw).decode("ascii")
