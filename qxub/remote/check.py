"""`qxub remote test`: check each link between this laptop and a remote, with a fix for each."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass

from qxub import __version__, proc, protocol
from qxub.errors import QxubError
from qxub.remote.commands import preamble
from qxub.remote.config import Remote
from qxub.remote.ssh import OpenSshTransport, SshError
from qxub.remote.transport import Transport, transport_for

OK, WARN, FAIL = "ok", "warn", "FAIL"


@dataclass(frozen=True)
class Check:
    verdict: str  # OK, WARN or FAIL
    what: str
    detail: str
    fix: str | None = None


def ssh_settings(transport: OpenSshTransport) -> dict[str, str]:
    """What ssh will really use for the target (`ssh -G`): host name, port, user, proxies."""
    argv = [*transport.base_argv()[:-1], "-G", transport.target.host]
    result = proc.run(argv, check=False, timeout=10)
    settings: dict[str, str] = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition(" ")
        settings.setdefault(key.lower(), value)
    return settings


def _network_checks(transport: OpenSshTransport) -> Iterator[Check]:
    settings = ssh_settings(transport)
    host = settings.get("hostname", transport.target.host)
    port = int(settings.get("port", "22"))
    proxy = settings.get("proxyjump") or settings.get("proxycommand")
    if proxy and proxy != "none":
        yield Check(OK, "route", f"{host}:{port} through proxy {proxy} (from your ssh config)")
        return
    try:
        address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][4][0]
    except socket.gaierror as exc:
        yield Check(
            FAIL,
            "resolve",
            f"{host} does not resolve ({exc.strerror})",
            "check the host name in the remote's url, or your network/VPN",
        )
        return
    yield Check(OK, "resolve", f"{host} -> {address}")
    try:
        with socket.create_connection((host, port), timeout=5):
            pass
    except OSError as exc:
        yield Check(
            FAIL,
            "connect",
            f"cannot reach {host}:{port} ({exc.strerror or exc})",
            "check the port, your VPN, or whether the host is up",
        )
        return
    yield Check(OK, "connect", f"{host}:{port} accepts connections")


def _probe_script(remote: Remote) -> list[str]:
    lines = [line for line in preamble(remote) if not line.startswith("export QXUB_PROTOCOL")]
    # The preamble exits when qxub is missing; report that instead of stopping.
    lines = [line.replace("exit 127", "__qxub_missing=1") for line in lines]
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
        *lines,
        'if [ -z "$__qxub_missing" ]; then',
        "  echo info=$(" + " ".join(_quoted(remote.qxub_command)) + " info --json 2>&1 | tail -1)",
        "fi",
    ]


def _quoted(words: tuple[str, ...]) -> list[str]:
    import shlex

    return [shlex.quote(w) for w in words]


def run_checks(remote: Remote, transport: Transport | None = None) -> Iterator[Check]:
    """Every check in order; later ones are skipped when an earlier link is broken."""
    transport = transport or transport_for(remote)
    yield Check(OK, "config", f"{remote.name}: {remote.url} (from {remote.source})")
    if isinstance(transport, OpenSshTransport):
        network = list(_network_checks(transport))
        yield from network
        if any(c.verdict == FAIL for c in network):
            return
    try:
        result = transport.run(_probe_script(remote), timeout=60, check=False)
    except SshError as exc:
        what = {"auth": "login", "unknown_host_key": "host key", "changed_host_key": "host key"}
        yield Check(FAIL, what.get(exc.kind, "ssh"), exc.message, exc.hint)
        return
    except QxubError as exc:
        yield Check(FAIL, "ssh", exc.message, exc.hint)
        return
    if isinstance(transport, OpenSshTransport):
        yield Check(OK, "login", f"logged in as {_field(result.stdout, 'user')}; host key known")
    yield from _remote_checks(remote, result.stdout)
    local_rsync = shutil.which("rsync")
    yield Check(
        OK if local_rsync else WARN,
        "rsync here",
        local_rsync or "not found",
        None if local_rsync else "install rsync on this machine to sync projects",
    )


def _field(text: str, key: str) -> str:
    for line in text.splitlines():
        if line.startswith(key + "="):
            return line[len(key) + 1 :]
    return ""


def _remote_checks(remote: Remote, text: str) -> Iterator[Check]:
    info_text = _field(text, "info")
    if not info_text:
        yield Check(
            FAIL,
            "qxub there",
            f"{' '.join(remote.qxub_command)} not found on {remote.name}",
            "install qxub there (pip install qxub), or set conda_env / qxub_command",
        )
    else:
        try:
            info = json.loads(info_text)
        except ValueError:
            yield Check(
                FAIL,
                "qxub there",
                f"qxub info failed: {info_text}",
                "run `qxub info` there by hand to see why",
            )
        else:
            theirs = str(info.get("version"))
            same_protocol = str(info.get("protocol")) == str(protocol.PROTOCOL)
            verdict = OK if theirs == __version__ else (WARN if same_protocol else FAIL)
            fix = None if verdict == OK else f"install qxub {__version__} there to match"
            yield Check(verdict, "qxub there", f"version {theirs} (here: {__version__})", fix)
            platform = info.get("platform") or "none detected"
            yield Check(OK, "platform", f"{platform}; scheduler {info.get('scheduler')}")
    state = _field(text, "workdir_state")
    where = _field(text, "workdir")
    verdicts = {
        "writable": Check(OK, "working dir", f"{where} exists and is writable"),
        "creatable": Check(OK, "working dir", f"{where} does not exist yet; it can be created"),
        "readonly": Check(
            FAIL,
            "working dir",
            f"{where} is not writable",
            "choose another working_dir for this remote",
        ),
        "blocked": Check(
            FAIL,
            "working dir",
            f"{where} cannot be created",
            "choose another working_dir, or create it there",
        ),
    }
    yield verdicts.get(state, Check(FAIL, "working dir", f"could not check {where}"))
    rsync = _field(text, "rsync")
    yield Check(
        OK if rsync else WARN,
        "rsync there",
        rsync or "not found",
        None if rsync else f"ask the admins of {remote.name} for rsync",
    )
