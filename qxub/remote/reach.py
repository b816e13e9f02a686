"""Which transport reaches a remote (OpenSSH where there is an `ssh` client, paramiko where
there is none, bash for the built-in `local`), and the connections to a data mover."""

from __future__ import annotations

import sys
from collections.abc import Callable

from qxub.errors import QxubError
from qxub.remote.config import Remote
from qxub.remote.openssh import OpenSshTransport, default_control_dir
from qxub.remote.target import RsyncRoute, SshTarget
from qxub.remote.transport import Transport
from qxub.which import which

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from qxub.remote.sftp.files import SftpFiles


def transport_kind(remote: Remote) -> tuple[str, str]:
    """("local" | "openssh" | "paramiko", why) for `remote`."""
    if remote.target is None:
        return "local", "the built-in remote runs on this machine"
    if remote.transport is not None:
        return remote.transport, "set by transport: in the config"
    ssh = which("ssh")
    if ssh:
        return "openssh", f"auto: ssh found at {ssh}"
    return "paramiko", "auto: no ssh client on PATH"


_NOTIFIED: set[str] = set()


def _notice(message: str) -> None:
    print(f"qxub: {message}", file=sys.stderr, flush=True)


def transport_for(remote: Remote, *, notice: Callable[[str], None] = _notice) -> Transport:
    if remote.target is None:
        from qxub.remote.local import LocalTransport  # the built-in remote only

        return LocalTransport()
    kind, _ = transport_kind(remote)
    if kind == "paramiko":
        if remote.transport is None and remote.name not in _NOTIFIED:
            _NOTIFIED.add(remote.name)
            notice(
                f"no ssh client on PATH: reaching {remote.name} with paramiko "
                "(set `transport: paramiko` for it to silence this)"
            )
        from qxub.remote.paramiko.transport import ParamikoTransport

        return ParamikoTransport(remote.target, force_tty=remote.force_tty)
    return OpenSshTransport(
        remote.target,
        control_dir=default_control_dir(),
        force_tty=remote.force_tty,
        persist=remote.control_persist,
        remote_name=remote.name,
    )


def openssh_to(target: SshTarget) -> OpenSshTransport:
    """An OpenSSH transport of its own to `target` (a data mover)."""
    return OpenSshTransport(target, control_dir=default_control_dir())


def rsync_route(remote: Remote, transport: Transport) -> RsyncRoute:
    """How rsync reaches the mirror: the data mover (sync_url) when set, else the remote's own
    connection; nothing at all for the built-in `local`. rsync travels over OpenSSH only: with
    the paramiko transport it needs an `ssh` of its own."""
    if remote.sync_target is None:
        route = transport.rsync_route()
        if route is not None:
            return route
    target = remote.sync_target or remote.target
    if target is None:
        return RsyncRoute()
    if which("ssh") is None:
        raise QxubError(
            f"sync_engine: rsync for {remote.name} needs an ssh client to carry rsync, and"
            " there is none on PATH",
            hint=f"set sync_engine: sftp (or auto) for {remote.name}, or install OpenSSH",
        )
    return openssh_to(target).rsync_route()


def sftp_files(remote: Remote, transport: Transport) -> SftpFiles:
    """An SFTP session to where transfers go (the data mover, when set) over the transport's
    kind of connection."""
    target = remote.sync_target or remote.target
    assert target is not None
    return transport.sftp_files(target)
