"""`qxub remote test`: check each link between this laptop and a remote, with a fix for each."""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import shutil
import socket
from collections.abc import Iterator

from qxub import __version__, protocol
from qxub.errors import QxubError
from qxub.mirroring.engines import engine_choice
from qxub.record import record
from qxub.remote.config import Remote
from qxub.remote.paramiko import NOT_INSTALLED_HINT
from qxub.remote.reach import openssh_to, sftp_files, transport_for, transport_kind
from qxub.remote.scripts import data_mover_probe, probe_script
from qxub.remote.target import Route, SshError
from qxub.remote.transport import Transport

OK, WARN, FAIL = "ok", "warn", "FAIL"


@record(frozen=True)
class Check:
    verdict: str  # OK, WARN or FAIL
    what: str
    detail: str
    fix: str | None = None


def _network_checks(route: Route) -> Iterator[Check]:
    host, port, proxy = route.host, route.port, route.proxy
    if proxy:
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


def run_checks(remote: Remote, transport: Transport | None = None) -> Iterator[Check]:
    """Every check in order; later ones are skipped when an earlier link is broken."""
    yield Check(OK, "config", f"{remote.name}: {remote.url} (from {remote.source})")
    transport_check = _transport_check(remote)
    yield transport_check
    if transport_check.verdict == FAIL:
        return
    transport = transport or transport_for(remote)
    try:
        route = transport.route()
        network = list(_network_checks(route)) if route else []
        yield from network
        if any(c.verdict == FAIL for c in network):
            return
        result = transport.run(probe_script(remote), timeout=60, check=False)
    except SshError as exc:
        what = {"auth": "login", "unknown_host_key": "host key", "changed_host_key": "host key"}
        yield Check(FAIL, what.get(exc.kind, "ssh"), exc.message, exc.hint)
        return
    except QxubError as exc:
        yield Check(FAIL, "ssh", exc.message, exc.hint)
        return
    if remote.target is not None:
        yield Check(OK, "login", f"logged in as {_field(result.stdout, 'user')}; host key known")
    yield from _remote_checks(remote, result.stdout)
    yield from sync_checks(remote, transport, bool(_field(result.stdout, "rsync")))
    if transport.rsync_route() is not None:  # rsync rides OpenSSH: check the data mover too
        yield from data_mover_check(remote)


def _transport_check(remote: Remote) -> Check:
    kind, why = transport_kind(remote)
    if kind == "local":
        return Check(OK, "transport", f"none ({why})")
    if kind == "openssh" and shutil.which("ssh") is None:
        fix = "install the OpenSSH client, or set transport: paramiko (or auto)"
        return Check(FAIL, "transport", f"openssh ({why}), but ssh is not on PATH", fix)
    if kind == "paramiko" and importlib.util.find_spec("paramiko") is None:
        return Check(FAIL, "transport", f"paramiko ({why}), not installed", NOT_INSTALLED_HINT)
    return Check(OK, "transport", f"{kind} ({why})")


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
            f"qxub remote install {shlex.quote(remote.name)}, or set conda_env / qxub_command",
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
            # A remote qxub of another version refuses to run jobs for this one.
            verdict = OK if theirs == __version__ and same_protocol else FAIL
            install = f"qxub remote install {shlex.quote(remote.name)}"
            fix = None if verdict == OK else f"{install} (installs qxub {__version__} there)"
            yield Check(verdict, "qxub there", f"version {theirs} (here: {__version__})", fix)
            platform = info.get("platform") or "none detected"
            yield Check(OK, "platform", f"{platform}; scheduler {info.get('scheduler')}")
    yield from working_dir_checks(remote, text)
    yield Check(OK, "rsync there", _field(text, "rsync") or "not found")


_VARIABLE = re.compile(r"\$\{?([A-Za-z_]\w*)\}?")
_PLACEHOLDERS = {"USER": "{{user}}", "LOGNAME": "{{user}}", "HOME": "{{home}}"}


def working_dir_checks(remote: Remote, text: str) -> Iterator[Check]:
    """Every part of working_dir: the parts that exist are folders, the first missing one can
    be created, the folder is writable; and no shell variable that qxub would not expand."""
    for match in _VARIABLE.finditer(remote.working_dir):
        name = match.group(1)
        instead = _PLACEHOLDERS.get(name)
        better = (
            f"write {instead} instead: {remote.working_dir.replace(match.group(0), instead)}"
            if instead
            else "write the path out in full ({{user}} and {{home}} are expanded there)"
        )
        yield Check(
            WARN,
            "working dir",
            f"{remote.working_dir} holds {match.group(0)}, which is not expanded: qxub would"
            f" make a folder literally named {match.group(0)}",
            better,
        )
    state = _field(text, "workdir_state")
    where = _field(text, "workdir")
    found = _field(text, "workdir_found")
    missing = _field(text, "workdir_missing")
    key = f"working_dir of {remote.name}"
    if state == "writable":
        yield Check(OK, "working dir", f"{where} exists and is writable")
    elif state == "creatable":
        yield Check(
            OK, "working dir", f"{where} does not exist yet; {missing} can be created in {found}"
        )
    elif state == "readonly":
        yield Check(FAIL, "working dir", f"{where} is not writable", f"choose another {key}")
    elif state == "blocked":
        yield Check(
            FAIL,
            "working dir",
            f"{where} cannot be created: {found} is not writable",
            f"choose another {key}, or create {missing} there with the rights you need",
        )
    elif state == "notdir":
        yield Check(
            FAIL,
            "working dir",
            f"{where} cannot be a folder: {found} is a file, not a folder",
            f"choose another {key}, or move {found} away on {remote.name}",
        )
    else:
        yield Check(FAIL, "working dir", f"could not check {where}")


def sync_checks(remote: Remote, transport: Transport, rsync_there: bool) -> Iterator[Check]:
    """rsync at this end, and the sync engine that will carry pushes and pulls (an SFTP
    session is opened to see that it works)."""
    local_rsync = shutil.which("rsync")
    yield Check(OK, "rsync here", local_rsync or "not found")
    engine, why = engine_choice(remote, rsync_there)
    if engine == "rsync" and not (local_rsync and rsync_there):
        where = "here" if not local_rsync else f"on {remote.name}"
        yield Check(
            FAIL,
            "sync engine",
            f"rsync ({why}), but rsync is not installed {where}",
            "install rsync there, or set sync_engine: sftp (or auto)",
        )
        return
    if engine == "sftp":
        files = sftp_files(remote, transport)
        try:
            files.stat(".")
        except (QxubError, OSError) as exc:
            yield Check(FAIL, "sync engine", f"sftp ({why}): {exc}", getattr(exc, "hint", None))
            return
        finally:
            files.close()
    yield Check(OK, "sync engine", f"{engine} ({why})")


def data_mover_check(remote: Remote) -> Iterator[Check]:
    """With `sync_url`, pushes and pulls go to another host: log in there too."""
    if remote.sync_target is None or remote.target is None:
        return
    mover = openssh_to(remote.sync_target)
    what = f"data mover {remote.sync_target.display()}"
    try:
        result = mover.run(data_mover_probe(), timeout=60, check=False)
    except QxubError as exc:
        yield Check(FAIL, "data mover", f"{what}: {exc.message}", exc.hint)
        return
    if "no rsync" in result.stdout:
        yield Check(
            WARN,
            "data mover",
            f"{what}: logged in; rsync not found there",
            "ask its admins for rsync, or set sync_engine: sftp",
        )
        return
    yield Check(OK, "data mover", f"{what}: logged in; rsync found")
