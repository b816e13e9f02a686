"""Connecting with paramiko the way `ssh` would: the user's ssh config (read by `ssh_config`),
ProxyCommand, ProxyJump, the agent, known_hosts. An unknown host key is never accepted. One
connection per target for the whole process."""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from qxub.errors import QxubError
from qxub.remote.paramiko import import_paramiko
from qxub.remote.paramiko.host_keys import check_host_key, prefer_known_key_types
from qxub.remote.paramiko.pipe_socket import CommandSocket
from qxub.remote.paramiko.ssh_config import HostSettings, resolve
from qxub.remote.target import SshError, SshTarget

KEEPALIVE_EVERY = 15.0  # as the OpenSSH transport's ServerAliveInterval
KEEPALIVE_LIMIT = 60.0  # no answer this long: the connection is dead (ServerAliveCountMax 4)
MAX_HOPS = 8


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
