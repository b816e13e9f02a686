"""`qxub remote install`: this qxub's version on a remote, with no package index needed there.

A Python >= 3.10 is found there (PATH, `module avail python3`, python3.1x names), a venv is
made in a versioned folder (`<data home>/qxub/qxub-<version>`, or under `--prefix`), and wheels
of qxub, click and PyYAML, rebuilt from what is installed here (qxub.wheels), are sent over the
remote's connection in base64 chunks and unpacked into it. The set of wheels has a digest kept
in the venv: when it matches, there is nothing to do (one round trip).
"""

from __future__ import annotations

import base64
import hashlib
import shlex
from collections.abc import Callable

from qxub import __version__
from qxub.errors import QxubError
from qxub.record import record
from qxub.remote.config import Remote, shell_word_with_vars
from qxub.remote.scripts import (
    install_probe_script,
    install_script,
    installed_version_script,
    upload_chunk_script,
)
from qxub.remote.transport import Transport
from qxub.wheels import Wheel, remote_wheels

DATA_HOME = '"${XDG_DATA_HOME:-$HOME/.local/share}"/qxub'
# The script of one chunk travels base64-encoded inside one command line, which qxub keeps
# under 100 kB (scripts.MAX_REMOTE_COMMAND): 60 kB of base64 text per chunk leaves room.
CHUNK = 60_000


@record(frozen=True)
class Installed:
    command: str  # the remote path of the venv's qxub, for qxub_command
    python: str  # "3.11.2 /usr/bin/python3.11", or "" when it was already there
    fresh: bool  # False: it was installed already


def _fields(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.isidentifier():
            found.setdefault(key, []).append(value)
    return found


def stamp_of(wheels: list[Wheel]) -> str:
    """What the installed venv is checked against: the wheels' names and RECORDs (each file's
    digest), computed without building the wheel files."""
    digest = hashlib.sha256()
    for wheel in wheels:
        digest.update(wheel.filename.encode() + b"\n" + wheel.record)
    return digest.hexdigest()


def install(
    remote: Remote,
    transport: Transport,
    say: Callable[[str], None],
    *,
    python: str | None = None,
    prefix: str | None = None,
) -> Installed:
    """Make the remote's qxub this one; return how to call it there."""
    if remote.target is None:
        raise QxubError(
            "the built-in local remote runs this very qxub; there is nothing to install",
            hint="name a remote of your config: `qxub remote list`",
        )
    base = DATA_HOME if prefix is None else shell_word_with_vars(prefix.rstrip("/") or "/")
    wheels = remote_wheels()
    stamp = stamp_of(wheels)
    probe = transport.run(
        install_probe_script(base, __version__, stamp, python), timeout=120, check=False
    )
    fields = _fields(probe.stdout)
    venv = (fields.get("venv") or [""])[-1]
    if not venv:
        said = probe.stderr.strip() or probe.stdout.strip() or "(nothing)"
        raise QxubError(
            f"could not look for a Python on {remote.name}; it said: {said}",
            hint=f"check that `qxub remote test {remote.name}` logs in",
        )
    command = f"{venv}/bin/qxub"
    if "installed" in fields:
        return Installed(command, "", fresh=False)
    if "python" not in fields:
        tried = "".join(f"\n  {t}" for t in fields.get("tried", [])) or " none found"
        how = (
            f"give one with --python PATH, or load one (e.g. `module load python3`) in your"
            f" shell's start-up files on {remote.name}"
        )
        wanted = f"{python} is not" if python else "no"
        raise QxubError(
            f"{wanted} a Python >= 3.10 with venv on {remote.name}; tried:{tried}",
            hint=how,
        )
    chosen = fields["python"][-1]
    modules = fields.get("module") or []
    module = modules[-1] if modules else None
    _, _, python_path = chosen.partition(" ")
    say(
        f"installing qxub {__version__} on {remote.name} in {venv} with Python {chosen}"
        + (f" (module {module})" if module else "")
    )
    _send(remote, transport, base, wheels)
    script = install_script(
        base, __version__, python_path, module, [(w.filename, w.digest) for w in wheels], stamp
    )
    result = transport.run(script, timeout=600, check=False)
    if result.returncode != 0 or not _fields(result.stdout).get("installed"):
        said = "\n".join(result.stderr.strip().splitlines()[-10:]) or "(nothing)"
        raise QxubError(
            f"installing qxub on {remote.name} failed; it said:\n{said}",
            hint=f"fix what it says, or choose another Python with --python (tried {chosen})",
        )
    check = transport.run(installed_version_script(venv), timeout=120, check=False)
    if __version__ not in check.stdout:
        said = (check.stderr.strip() or check.stdout.strip() or "(nothing)").splitlines()[-1]
        loaded = f" It came from module {module}: that Python may need it loaded." if module else ""
        raise QxubError(
            f"the qxub installed on {remote.name} does not start: {said}.{loaded}",
            hint=f"choose another Python with --python; `{shlex.join([command, '--version'])}`"
            f" there shows the error",
        )
    return Installed(command, chosen, fresh=True)


def _send(remote: Remote, transport: Transport, base: str, wheels: list[Wheel]) -> None:
    """The wheels, as base64 text in chunks, into the venv's incoming folder."""
    pieces: list[tuple[str, str]] = []
    for wheel in wheels:
        text = base64.b64encode(wheel.data).decode("ascii")
        pieces += [(wheel.filename, text[i : i + CHUNK]) for i in range(0, len(text), CHUNK)]
    chunk: list[tuple[str, str]] = []
    size = 0
    first = True
    for piece in [*pieces, None]:
        if piece is None or (chunk and size + len(piece[1]) > CHUNK):
            transport.run(upload_chunk_script(base, __version__, chunk, first), timeout=300)
            first, chunk, size = False, [], 0
        if piece is not None:
            chunk.append(piece)
            size += len(piece[1])


def record_command(remote: Remote, command: str) -> str:
    """Set the remote's qxub_command in the file that configures it; return that file."""
    from pathlib import Path

    from qxub.config import set_value

    set_value(Path(remote.source), f"remotes.{remote.name}.qxub_command", command, None)
    return remote.source
