"""Host keys for the paramiko transport: known_hosts as ssh reads it (hashed names and
`[host]:port` entries included), and never an unknown key accepted."""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

from qxub.remote.paramiko.ssh_config import HostSettings
from qxub.remote.target import SshError

# known_hosts names RSA keys ssh-rsa; the server signs with one of these algorithms.
_ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256")}


def known_keys(settings: HostSettings) -> dict[str, Any]:
    """key type -> key, for this host, from every known_hosts file ssh would read."""
    import paramiko

    keys = paramiko.HostKeys()
    for path in (*settings.known_hosts, *settings.global_known_hosts):
        if os.path.isfile(path):
            try:
                keys.load(path)
            except (OSError, UnicodeDecodeError):
                continue  # unreadable, as for ssh: it says nothing either
    found = keys.lookup(settings.key_name)
    return dict(found) if found else {}


def prefer_known_key_types(transport: Any, settings: HostSettings) -> None:
    """Ask for a key type known_hosts has for this host first, as ssh does; otherwise the
    server may show a key of another type, which could not be checked."""
    known = [a for kind in known_keys(settings) for a in _ALGORITHMS.get(kind, (kind,))]
    options = transport.get_security_options()
    offered = list(options.key_types)
    preferred = [a for a in known if a in offered]
    options.key_types = [*preferred, *(a for a in offered if a not in preferred)]


def fingerprint(key: Any) -> str:
    """SHA256:... as ssh shows it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def check_host_key(key: Any, settings: HostSettings) -> None:
    """Raise SshError unless known_hosts holds exactly this key for this host."""
    known = known_keys(settings)
    name = settings.key_name
    # Expanded: the hint names a file to edit, which must work when pasted.
    where = os.path.expanduser(
        settings.known_hosts[0] if settings.known_hosts else "~/.ssh/known_hosts"
    )
    offered = f"{key.get_name()} {fingerprint(key)}"
    if not known:
        line = f"{name} {key.get_name()} {key.get_base64()}"
        raise SshError(
            f"the host key of {settings.name} is not known yet (qxub never accepts one by itself)",
            f"it offers {offered}: if your site publishes that fingerprint, add this line to"
            f" {where} and try again: {line}",
            "unknown_host_key",
        )
    stored = known.get(key.get_name())
    if stored is None or stored.asbytes() != key.asbytes():
        raise SshError(
            f"the host key of {settings.name} has CHANGED since it was last accepted",
            "someone may be intercepting the connection. Ask the cluster's admins whether its"
            f" host keys changed; only if they confirm, replace the entry for {name} in {where}"
            f" (it now offers {offered})",
            "changed_host_key",
        )
