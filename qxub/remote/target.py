"""Where a remote is and how reaching it fails: the parts every transport shares."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

from qxub.errors import ConfigError, QxubError
from qxub.record import record

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from typing import Literal

    FailureKind = Literal[
        "changed_host_key", "unknown_host_key", "unresolved", "auth", "unreachable", "config",
        "closed",
    ]  # fmt: skip

URL_HINT = "write it as ssh://[user@]host[:port], e.g. ssh://jr9959@gadi.nci.org.au"
LOST_HINT = "the network dropped or the server went away; check your network and try again"


class SshError(QxubError):
    """ssh itself failed (its exit code 255): the command never ran, or its connection broke."""

    def __init__(self, message: str, hint: str, kind: FailureKind) -> None:
        super().__init__(message, hint)
        self.kind: FailureKind = kind


@record(frozen=True)
class SshTarget:
    """Where to connect. `host` may be an alias of the ssh config; None leaves a setting to it."""

    host: str
    user: str | None = None
    port: int | None = None
    config_file: str | None = None

    def __post_init__(self) -> None:
        # A leading "-" would turn a config value into an ssh option.
        bad_host = not self.host or self.host.startswith("-") or re.search(r"[\s@/]", self.host)
        bad_user = self.user is not None and (not self.user or self.user.startswith("-"))
        if bad_host or bad_user or (self.port is not None and not 0 < self.port < 65536):
            raise ConfigError(
                f"invalid ssh destination: host={self.host!r} user={self.user!r} port={self.port}",
                hint=URL_HINT,
            )

    @classmethod
    def from_url(cls, url: str, config_file: str | None = None) -> SshTarget:
        """Parse `ssh://[user@]host[:port]` (the host may be an alias of the ssh config)."""
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = 0
        extra = parts.path not in ("", "/") or parts.query or parts.fragment or parts.password
        if parts.scheme != "ssh" or not parts.hostname or extra or port == 0:
            raise ConfigError(
                f"not an ssh url: {url!r}",
                hint=URL_HINT,
            )
        user = unquote(parts.username) if parts.username else None
        return cls(host=parts.hostname, user=user, port=port, config_file=config_file)

    def display(self) -> str:
        """`user@host:port` with what is set, for messages."""
        text = f"{self.user}@{self.host}" if self.user else self.host
        return f"{text}:{self.port}" if self.port else text

    def plain_ssh(self) -> list[str]:
        """The plain `ssh` command a user would type to reach this target by hand."""
        argv = ["ssh"]
        if self.config_file:
            # Expanded: a hint shows it shell-quoted, and a quoted ~ is never expanded.
            argv += ["-F", os.path.expanduser(self.config_file)]
        if self.port:
            argv += ["-p", str(self.port)]
        return [*argv, f"{self.user}@{self.host}" if self.user else self.host]

    def known_hosts_name(self) -> str:
        """How known_hosts names this host (ssh-keygen -R takes it)."""
        return self.host if self.port in (None, 22) else f"[{self.host}]:{self.port}"


@record(frozen=True)
class Route:
    """Where a transport connects: the host name and port the ssh config gives, and the proxy
    (ProxyJump or ProxyCommand) it goes through."""

    host: str
    port: int
    proxy: str | None


@record(frozen=True)
class RsyncRoute:
    """How rsync reaches the mirror's host: `prefix` goes before the remote path ("host:"),
    `rsh` is rsync's `-e`. Both empty: the mirror is on this machine."""

    prefix: str = ""
    rsh: str | None = None


def excerpt(script_lines: Sequence[str], limit: int = 10) -> str:
    """The first lines of a script, indented, for messages."""
    more = [f"... ({len(script_lines) - limit} more lines)"] if len(script_lines) > limit else []
    return "\n".join(f"  {line}" for line in [*script_lines[:limit], *more])
