"""Which sync engine carries a remote's pushes and pulls: rsync where both ends have it and
OpenSSH carries it, SFTP otherwise (or as the remote's `sync_engine:` says)."""

from __future__ import annotations

from qxub.mirroring.place import rsync_endpoint
from qxub.remote.config import Remote
from qxub.remote.reach import sftp_files, transport_kind
from qxub.remote.transport import Transport
from qxub.sync.engine import SyncEngine
from qxub.sync.rsync import RsyncEngine
from qxub.which import which


def engine_choice(remote: Remote, rsync_there: bool | None) -> tuple[str, str]:
    """("rsync" | "sftp", why). `rsync_there` None: not known yet, so rsync when this end
    has it (the first push checks the remote)."""
    if remote.target is None:
        return "rsync", "the built-in remote copies on this machine"
    if remote.sync_engine is not None:
        return remote.sync_engine, "set by sync_engine: in the config"
    if transport_kind(remote)[0] == "paramiko":
        return "sftp", "auto: rsync would need an ssh client; SFTP shares the paramiko connection"
    if which("rsync") is None:
        return "sftp", "auto: no rsync on this machine"
    if rsync_there is False:
        return "sftp", f"auto: no rsync on {remote.name}"
    return "rsync", "auto: rsync at both ends" if rsync_there else "auto: rsync found here"


def needs_rsync_check(remote: Remote) -> bool:
    """Does the choice depend on whether the remote has rsync?"""
    return engine_choice(remote, None) != engine_choice(remote, False)


def sync_engine_for(remote: Remote, transport: Transport, rsync_there: bool | None) -> SyncEngine:
    if engine_choice(remote, rsync_there)[0] == "rsync":
        return RsyncEngine(rsync_endpoint(remote, transport))
    files = sftp_files(remote, transport)
    from qxub.sync.sftp import SftpEngine  # only where SFTP carries the files

    return SftpEngine(files, files.where)
