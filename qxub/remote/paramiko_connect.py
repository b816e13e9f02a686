"""Connecting with paramiko the way `ssh` would: the user's ssh config (HostName, User, Port,
IdentityFile, ProxyCommand, ProxyJump), the agent, known_hosts. An unknown host key is never
accepted. One connection per target for the whole process; paramiko is imported here, lazily.
"""

from __future__ import annotations

import atexit
import contextlib
import getpass
import glob
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from qxub.errors import QxubError
from qxub.remote.host_keys import check_host_key, prefer_known_key_types
from qxub.remote.pipe_socket import CommandSocket
from qxub.remote.ssh import SshError, SshTarget

KEEPALIVE_EVERY = 15.0  # as the OpenSSH transport's ServerAliveInterval
KEEPALIVE_LIMIT = 60.0  # no answer this long: the connection is dead (ServerAliveCountMax 4)
MAX_HOPS = 8
NOT_INSTALLED_HINT = "install it (pip install 'qxub[ssh]'), or install the OpenSSH client"


def import_paramiko() -> Any:
    try:
        import paramiko
    except ImportError:
        raise QxubError(
            "the paramiko transport needs the paramiko package, which is not installed",
            hint=NOT_INSTALLED_HINT,
        ) from None
    logger = logging.getLogger("paramiko")
    if not logger.handlers:
        # paramiko logs what it raises too; qxub says it once, as an error with a hint.
        logger.addHandler(logging.NullHandler())
    return paramiko


@dataclass(frozen=True)
class HostSettings:
    """What `ssh` would use for a target, read from the ssh config."""

    name: str  # for messages: user@alias:port
    hostname: str
    port: int
    user: str
    identity_files: tuple[str, ...]
    identities_only: bool
    proxy_command: str | None
    proxy_jump: str | None
    known_hosts: tuple[str, ...]  # UserKnownHostsFile: the first is where new keys belong
    global_known_hosts: tuple[str, ...]
    host_key_alias: str | None
    connect_timeout: float
    config_file: str | None

    @property
    def key_name(self) -> str:
        """How known_hosts names this host: `host`, or `[host]:port` off port 22."""
        name = self.host_key_alias or self.hostname
        return name if self.port == 22 else f"[{name}]:{self.port}"


def _config_text(path: str, depth: int = 0) -> str:
    """The file with its `Include` lines replaced by the files they name (paramiko ignores
    them); relative names are under ~/.ssh, as for ssh."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = handle.read().splitlines()
    out = []
    for line in lines:
        found = re.match(r"\s*include\s+(.+)$", line, re.IGNORECASE)
        if not found or depth > 8:
            out.append(line)
            continue
        for word in found.group(1).split():
            pattern = os.path.expanduser(word)
            if not os.path.isabs(pattern):
                pattern = os.path.join(os.path.expanduser("~/.ssh"), pattern)
            for included in sorted(glob.glob(pattern)):
                out.append(_config_text(included, depth + 1))
    return "\n".join(out) + "\n"


def resolve(target: SshTarget) -> HostSettings:
    """Read the ssh config (the remote's `config:`, else ~/.ssh/config) for `target`."""
    paramiko = import_paramiko()
    path = os.path.expanduser(target.config_file or "~/.ssh/config")
    text = ""
    if target.config_file or os.path.isfile(path):
        try:
            text = _config_text(path)
        except OSError as exc:
            raise SshError(
                f"cannot read the ssh config {path}: {exc.strerror}",
                "fix the remote's `config:` (or create the file)",
                "config",
            ) from None
    # What the url says wins over the config, as ssh's -p and -l do: the first value counts.
    given = [f"Host {target.host}"]
    given += [f"  Port {target.port}"] if target.port else []
    given += [f"  User {target.user}"] if target.user else []
    try:
        options = paramiko.SSHConfig.from_text("\n".join(given) + "\n" + text).lookup(target.host)
    except (paramiko.SSHException, ValueError) as exc:
        raise SshError(
            f"paramiko cannot read the ssh config {path}: {exc}", "fix that file", "config"
        ) from None
    user = options.get("user") or getpass.getuser()
    port = int(options.get("port", 22))
    identity = [os.path.expanduser(p) for p in options.get("identityfile", [])]
    if not identity:
        identity = [os.path.expanduser(f"~/.ssh/id_{k}") for k in ("ed25519", "ecdsa", "rsa")]

    def files(key: str, default: str) -> tuple[str, ...]:
        return tuple(os.path.expanduser(p) for p in str(options.get(key, default)).split())

    def optional(key: str) -> str | None:
        value = options.get(key)
        return None if value in (None, "", "none") else str(value)

    display = f"{user}@{target.host}" + (f":{port}" if port != 22 else "")
    return HostSettings(
        name=display,
        hostname=str(options.get("hostname", target.host)),
        port=port,
        user=str(user),
        identity_files=tuple(identity),
        identities_only=str(options.get("identitiesonly", "no")).lower() == "yes",
        proxy_command=optional("proxycommand"),
        proxy_jump=optional("proxyjump"),
        known_hosts=files("userknownhostsfile", "~/.ssh/known_hosts ~/.ssh/known_hosts2"),
        global_known_hosts=files(
            "globalknownhostsfile", "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2"
        ),
        host_key_alias=optional("hostkeyalias"),
        connect_timeout=float(options.get("connecttimeout", 10)),
        config_file=target.config_file,
    )


def _hops(jump: str, config_file: str | None) -> Iterator[SshTarget]:
    for word in jump.split(","):
        url = word if word.startswith("ssh://") else f"ssh://{word}"
        try:
            yield SshTarget.from_url(url, config_file)
        except QxubError:
            raise SshError(
                f"cannot read ProxyJump {jump!r} of your ssh config",
                "write it as [user@]host[:port], comma-separated",
                "config",
            ) from None


class Connection:
    """A logged-in paramiko Transport, and the jump hosts it goes through."""

    def __init__(self, settings: HostSettings, transport: Any, hops: list[Connection]) -> None:
        self.settings = settings
        self.transport = transport
        self.hops = hops
        self.lost_reason: str | None = None
        threading.Thread(target=self._keepalive, daemon=True).start()

    def alive(self) -> bool:
        return bool(self.transport.is_active())

    def close(self) -> None:
        self.transport.close()
        for hop in reversed(self.hops):
            hop.close()

    def _keepalive(self) -> None:
        """Ask the server every 15 s; no answer within a minute closes the connection, so a
        dropped network ends a quiet session instead of hanging it (ServerAlive in ssh)."""
        transport = self.transport
        while transport.is_active():
            time.sleep(KEEPALIVE_EVERY)
            if not transport.is_active():
                return
            answered = threading.Event()
            threading.Thread(target=_ask, args=(transport, answered), daemon=True).start()
            if not answered.wait(KEEPALIVE_LIMIT) and transport.is_active():
                self.lost_reason = f"no answer for {KEEPALIVE_LIMIT:.0f}s"
                transport.close()
                return


def _ask(transport: Any, answered: threading.Event) -> None:
    try:
        transport.global_request("keepalive@openssh.com", wait=True)
    finally:
        answered.set()


def _open_socket(settings: HostSettings, via: Connection | None) -> Any:
    """The byte stream to the server: through a jump host, a proxy command, or TCP."""
    if via is not None:
        try:
            return via.transport.open_channel(
                "direct-tcpip", (settings.hostname, settings.port), ("127.0.0.1", 0),
                timeout=settings.connect_timeout,
            )  # fmt: skip
        except Exception as exc:
            raise SshError(
                f"cannot connect to {settings.name} through {via.settings.name}: {exc}",
                "check the host and port, and that the jump host may forward to it",
                "unreachable",
            ) from None
    if settings.proxy_command:
        command = settings.proxy_command
        argv = ["/bin/sh", "-c", f"exec {command}"] if os.name != "nt" else command.split()
        try:
            return CommandSocket(argv)
        except OSError as exc:
            raise SshError(
                f"cannot start the ProxyCommand for {settings.name}: {exc.strerror or exc}",
                "fix ProxyCommand in your ssh config",
                "config",
            ) from None
    try:
        return socket.create_connection(
            (settings.hostname, settings.port), timeout=settings.connect_timeout
        )
    except socket.gaierror as exc:
        raise SshError(
            f"cannot resolve the host name {settings.hostname!r} ({exc.strerror})",
            "check the host in the remote's url (or your ssh config), and your network or VPN",
            "unresolved",
        ) from None
    except OSError as exc:
        said = exc.strerror or str(exc) or type(exc).__name__
        raise SshError(
            f"cannot connect to {settings.name}: {said}",
            "check the host and port, your network or VPN, and that the login node is up",
            "unreachable",
        ) from None


def connect(settings: HostSettings, via: Connection | None = None, depth: int = 0) -> Connection:
    """Open, check the host key, log in. ProxyJump hosts are connected to first, each through
    the one before (a `direct-tcpip` channel), as `ssh -J` does."""
    paramiko = import_paramiko()
    if depth > MAX_HOPS:
        raise SshError(
            f"ProxyJump for {settings.name} goes through more than {MAX_HOPS} hosts (a loop?)",
            "check ProxyJump in your ssh config",
            "config",
        )
    hops: list[Connection] = []
    if via is None and settings.proxy_jump:
        for hop in _hops(settings.proxy_jump, settings.config_file):
            hop_settings = resolve(hop)
            hops.append(connect(hop_settings, hops[-1] if hops else None, depth + 1))
        via = hops[-1]
    transport = None
    try:
        sock = _open_socket(settings, via)
        transport = paramiko.Transport(sock)
        prefer_known_key_types(transport, settings)
        try:
            transport.start_client(timeout=settings.connect_timeout)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            said = str(exc) or type(exc).__name__
            if isinstance(sock, CommandSocket) and sock.stderr_text().strip():
                said = sock.stderr_text().strip().splitlines()[-1]
            raise SshError(
                f"the connection to {settings.name} was lost: {said}",
                "the network dropped or the server went away; check your network and try again",
                "closed",
            ) from None
        check_host_key(transport.get_remote_server_key(), settings)
        _authenticate(paramiko, transport, settings)
    except BaseException:
        if transport is not None:
            transport.close()
        for made in reversed(hops):
            made.close()
        raise
    return Connection(settings, transport, hops)


def _authenticate(paramiko: Any, transport: Any, settings: HostSettings) -> None:
    """Keys only, as ssh with BatchMode: the agent's (unless IdentitiesOnly), then the
    identity files; a key that needs a passphrase is skipped, not asked for."""
    keys: list[Any] = []
    skipped: list[str] = []
    if not settings.identities_only:
        # No agent, or one that does not answer: the identity files may do.
        with contextlib.suppress(Exception):
            keys += list(paramiko.Agent().get_keys())
    for path in settings.identity_files:
        if not os.path.isfile(path):
            continue
        try:
            keys.append(paramiko.PKey.from_path(path))
        except paramiko.PasswordRequiredException:
            skipped.append(f"{path} needs a passphrase")
        except (paramiko.SSHException, OSError, ValueError) as exc:
            skipped.append(f"{path}: {exc}")
    allowed: list[str] | None = None
    for key in keys:
        try:
            transport.auth_publickey(settings.user, key)
        except paramiko.BadAuthenticationType as exc:
            allowed = list(exc.allowed_types)
            break
        except paramiko.AuthenticationException:
            continue
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise SshError(
                f"the connection to {settings.name} was lost while logging in: {exc}",
                "check your network and try again",
                "closed",
            ) from None
        if transport.is_authenticated():
            return
    why = f"it accepts only {', '.join(allowed)}" if allowed is not None else "no key was accepted"
    more = f" ({'; '.join(skipped)})" if skipped else ""
    raise SshError(
        f"{settings.name} refused the login: {why}{more}",
        "qxub cannot ask for a password or passphrase: load your key into your agent"
        " (`ssh-add`) or set IdentityFile in your ssh config to a key the server accepts",
        "auth",
    )


_CONNECTIONS: dict[SshTarget, Connection] = {}
_LOCK = threading.Lock()


def connection(target: SshTarget) -> Connection:
    """The process's connection to `target`: reused while it lives, else made anew."""
    with _LOCK:
        found = _CONNECTIONS.get(target)
        if found is not None and found.alive():
            return found
        made = connect(resolve(target))
        _CONNECTIONS[target] = made
        return made


def cached(target: SshTarget) -> Connection | None:
    """The connection made for `target`, alive or not, without connecting."""
    return _CONNECTIONS.get(target)


@atexit.register
def _close_all() -> None:
    for made in list(_CONNECTIONS.values()):
        with contextlib.suppress(Exception):
            made.close()
