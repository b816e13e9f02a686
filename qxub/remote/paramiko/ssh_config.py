"""What `ssh` would use for a target, read from the user's ssh config with paramiko's parser
(Include lines expanded, as paramiko does not)."""

from __future__ import annotations

import getpass
import glob
import os
import re

from qxub.record import record
from qxub.remote.paramiko import import_paramiko
from qxub.remote.target import SshError, SshTarget


@record(frozen=True)
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
