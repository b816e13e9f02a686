"""Files on the far end of a file protocol, in plain types: what the SFTP sync engine
(`sync/sftp.py`, which decides) asks of an SFTP session (`remote/sftp/`, which talks). Neither
side imports the other; both import this."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from qxub.record import record

Kind = Literal["file", "dir", "link", "other"]


@record(frozen=True)
class Attrs:
    """A remote file's kind, size, modification time (whole seconds) and permission bits."""

    kind: Kind
    size: int
    mtime: int
    mode: int


@record(frozen=True)
class NewFile:
    """A small file to write whole: created as `temp` (with `create_perms` less the umask
    there), its time (and `perms`, when given) set, then renamed over `path`."""

    temp: str
    path: str
    data: bytes
    create_perms: int
    mtime: int
    perms: int | None


class RemoteWriter(Protocol):
    def write(self, data: bytes) -> None: ...

    def finish(self, *, mtime: int, perms: int | None) -> None:
        """Set the modification time (and permissions, when given), then close."""
        ...

    def abort(self) -> None:
        """Close without finishing (the caller removes the file)."""
        ...


class RemoteReader(Protocol):
    def read(self, size: int) -> bytes: ...

    def close(self) -> None: ...


class RemoteFiles(Protocol):
    """The file operations of an SFTP session, in plain types. Missing paths give None from
    `stat`/`list`; other refusals raise OSError; a lost connection raises QxubError."""

    def stat(self, path: str) -> Attrs | None:
        """Like lstat: a link is described, not followed."""
        ...

    def listdir(self, path: str) -> dict[str, Attrs] | None:
        """The entries of a folder by name; None when there is no folder there."""
        ...

    def readlink(self, path: str) -> str: ...

    def mkdir(self, path: str) -> None: ...

    def set_perms(self, path: str, perms: int) -> None: ...

    def create(self, path: str, perms: int) -> RemoteWriter:
        """A new file (it must not exist), created with `perms` less the server's umask."""
        ...

    def open_read(self, path: str) -> RemoteReader: ...

    def write_many(self, files: Sequence[NewFile]) -> list[OSError | None]:
        """Write small files as `create` and `replace` would, with the requests of all of them
        in flight at once; the error of each, or None. A file whose data could not all be
        written is not renamed."""
        ...

    def symlink(self, target: str, path: str) -> None: ...

    def replace(self, source: str, dest: str) -> None:
        """Rename `source` over `dest` in one step (POSIX rename)."""
        ...

    def remove(self, path: str) -> None: ...

    def rmdir(self, path: str) -> None: ...
