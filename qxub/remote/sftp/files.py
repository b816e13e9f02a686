"""The file operations the SFTP sync engine needs (qxub.file_access.RemoteFiles), on paramiko's
SFTP client: over the paramiko transport's connection, or over `ssh -s host sftp` riding the
OpenSSH master. The session opens on first use and again after a lost connection (a watch
keeps pushing once the network is back)."""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from qxub.errors import QxubError
from qxub.file_access import Attrs, Kind, NewFile
from qxub.remote.paramiko import import_paramiko
from qxub.remote.paramiko.connect import connection
from qxub.remote.paramiko.pipe_socket import CommandSocket
from qxub.remote.sftp.wire import answer_error, listdir_bytes, pipelined
from qxub.remote.target import LOST_HINT, SshError, SshTarget

T = TypeVar("T")
CHUNK = 32768  # the most data one SFTP write request carries, for most servers
ConnectionCheck = Callable[[int, str], SshError | None]


class Session:
    """One open SFTP client, how to tell it still works, how to close it, and how to drop
    its connection without a word (when a request was cut off midway)."""

    def __init__(
        self,
        client: Any,
        alive: Callable[[], bool],
        close: Callable[[], None],
        drop: Callable[[], None],
    ) -> None:
        self.client = client
        self.alive = alive
        self.close = close
        self.drop = drop


def _b(path: str) -> bytes:
    """Paths go as bytes: a name that is not UTF-8 (kept as surrogates) goes as it is."""
    return os.fsencode(path)


def _kind(mode: int | None) -> Kind:
    if mode is None:
        return "other"
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISREG(mode):
        return "file"
    return "dir" if stat.S_ISDIR(mode) else "other"


def _attrs(found: Any) -> Attrs:
    mode = found.st_mode
    return Attrs(
        kind=_kind(mode),
        size=int(found.st_size or 0),
        mtime=int(found.st_mtime or 0),
        mode=stat.S_IMODE(mode or 0),
    )


class _Writer:
    def __init__(self, handle: Any, files: SftpFiles) -> None:
        self.handle = handle
        self.files = files

    def write(self, data: bytes) -> None:
        self.files.guard(lambda: self.handle.write(data))

    def finish(self, *, mtime: int, perms: int | None) -> None:
        paramiko = import_paramiko()
        attrs = paramiko.SFTPAttributes()
        attrs.st_atime, attrs.st_mtime = int(time.time()), mtime
        if perms is not None:
            attrs.st_mode = perms

        def finish() -> None:
            self.handle.flush()  # every write is sent before the time is set
            # Time and permissions in one request (the public utime and chmod are two).
            self.handle.sftp._request(paramiko.sftp.CMD_FSETSTAT, self.handle.handle, attrs)
            self.handle.close()

        self.files.guard(finish)

    def abort(self) -> None:
        # The file stays under its temporary name; a broken connection is reported elsewhere.
        with contextlib.suppress(Exception):
            self.handle.close()


class _Reader:
    def __init__(self, handle: Any, files: SftpFiles) -> None:
        self.handle = handle
        self.files = files

    def read(self, size: int) -> bytes:
        return bytes(self.files.guard(lambda: self.handle.read(size)))

    def close(self) -> None:
        with contextlib.suppress(Exception):  # nothing was written: nothing to lose
            self.handle.close()


class SftpFiles:
    """RemoteFiles over a lazily opened SFTP session; `where` names the host in messages."""

    def __init__(self, opener: Callable[[], Session], where: str) -> None:
        self._opener = opener
        self._session: Session | None = None
        self.where = where

    def _open(self) -> Session:
        if self._session is None or not self._session.alive():
            self.close()
            self._session = self._opener()
        return self._session

    def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            with contextlib.suppress(Exception):  # already gone
                session.close()

    def _call(self, action: Callable[[Any], T]) -> T:
        session = self._open()
        return self.guard(lambda: action(session.client))

    def guard(self, action: Callable[[], T]) -> T:
        """Run one operation of the open session: refusals come out as OSError (missing
        paths as FileNotFoundError), a lost connection as SshError."""
        session = self._session
        try:
            return action()
        except FileNotFoundError:
            raise
        except (OSError, EOFError, import_paramiko().SSHException) as exc:
            if session is not None and session.alive():
                raise exc if isinstance(exc, OSError) else OSError(str(exc)) from exc
            self.close()
            raise SshError(
                f"the connection to {self.where} was lost during the transfer", LOST_HINT, "closed"
            ) from None
        except BaseException:
            # Ctrl-C in the middle of a request: the rest of its answer would be read as the
            # next one's, so the session is dropped, not reused (nor asked to close files).
            if session is not None and self._session is session:
                self._session = None
                with contextlib.suppress(Exception):
                    session.drop()
            raise

    def stat(self, path: str) -> Attrs | None:
        try:
            return _attrs(self._call(lambda c: c.lstat(_b(path))))
        except FileNotFoundError:
            return None

    def listdir(self, path: str) -> dict[str, Attrs] | None:
        try:
            entries = self._call(lambda c: listdir_bytes(c, _b(path)))
        except FileNotFoundError:
            return None
        except OSError:
            if (found := self.stat(path)) is not None and found.kind == "dir":
                raise
            return None  # not a folder
        return {name: _attrs(found) for name, found in entries}

    def readlink(self, path: str) -> str:
        target = self._call(lambda c: c.readlink(_b(path)))
        return os.fsdecode(target) if isinstance(target, bytes) else str(target)

    def mkdir(self, path: str) -> None:
        self._call(lambda c: c.mkdir(_b(path)))

    def set_perms(self, path: str, perms: int) -> None:
        self._call(lambda c: c.chmod(_b(path), perms))

    def create(self, path: str, perms: int) -> _Writer:
        paramiko = import_paramiko()
        sftp = paramiko.sftp

        def create(client: Any) -> Any:
            # paramiko's open() cannot pass permissions: the server would create the file
            # 0666 less its umask, and a new executable would need another request.
            attrs = paramiko.SFTPAttributes()
            attrs.st_mode = perms
            flags = sftp.SFTP_FLAG_WRITE | sftp.SFTP_FLAG_CREATE | sftp.SFTP_FLAG_EXCL
            kind, msg = client._request(sftp.CMD_OPEN, _b(path), flags, attrs)
            if kind != sftp.CMD_HANDLE:
                raise OSError(f"cannot create {path}: unexpected answer {kind}")
            handle = paramiko.SFTPFile(client, msg.get_binary(), "wb")
            handle.set_pipelined(True)  # writes do not wait for each answer
            return handle

        return _Writer(self._call(create), self)

    def write_many(self, files: Sequence[NewFile]) -> list[OSError | None]:
        paramiko = import_paramiko()
        sftp = paramiko.sftp
        flags = sftp.SFTP_FLAG_WRITE | sftp.SFTP_FLAG_CREATE | sftp.SFTP_FLAG_EXCL

        def attrs(**values: int | None) -> Any:
            found = paramiko.SFTPAttributes()
            for key, value in values.items():
                setattr(found, key, value)
            return found

        def write(client: Any) -> list[OSError | None]:
            errors: list[OSError | None] = [None] * len(files)
            # 1: create every file; 2: its data, time and close; 3: rename what was written.
            opened = pipelined(
                client,
                [(sftp.CMD_OPEN, _b(f.temp), flags, attrs(st_mode=f.create_perms)) for f in files],
            )
            handles: dict[int, bytes] = {}
            for i, answer in enumerate(opened):
                errors[i] = answer_error(client, answer, sftp.CMD_HANDLE)
                if errors[i] is None:
                    handles[i] = answer[1].get_binary()
            owners: list[int] = []
            requests: list[tuple[Any, ...]] = []
            for i, handle in handles.items():
                f = files[i]
                for at in range(0, len(f.data), CHUNK):
                    requests.append(
                        (sftp.CMD_WRITE, handle, sftp.int64(at), f.data[at : at + CHUNK])
                    )
                    owners.append(i)
                times = attrs(st_atime=int(time.time()), st_mtime=f.mtime, st_mode=f.perms)
                requests += [(sftp.CMD_FSETSTAT, handle, times), (sftp.CMD_CLOSE, handle)]
                owners += [i, i]
            for i, answer in zip(owners, pipelined(client, requests), strict=True):
                errors[i] = errors[i] or answer_error(client, answer)
            written = [i for i in handles if errors[i] is None]
            renames = [
                (
                    sftp.CMD_EXTENDED,
                    "posix-rename@openssh.com",
                    _b(files[i].temp),
                    _b(files[i].path),
                )
                for i in written
            ]
            for i, answer in zip(written, pipelined(client, renames), strict=True):
                errors[i] = answer_error(client, answer)
            return errors

        return self._call(write)

    def open_read(self, path: str) -> _Reader:
        def open_(client: Any) -> Any:
            handle = client.open(_b(path), "rb")
            handle.prefetch()  # ask for every block at once, then read them as they come
            return handle

        return _Reader(self._call(open_), self)

    def symlink(self, target: str, path: str) -> None:
        self._call(lambda c: c.symlink(_b(target), _b(path)))

    def replace(self, source: str, dest: str) -> None:
        def rename(client: Any) -> None:
            try:
                client.posix_rename(_b(source), _b(dest))
            except OSError as exc:
                if "unsupported" not in str(exc).lower():
                    raise
                # A server without POSIX rename: plain rename will not replace a file.
                with contextlib.suppress(FileNotFoundError):
                    client.remove(_b(dest))
                client.rename(_b(source), _b(dest))

        self._call(rename)

    def remove(self, path: str) -> None:
        self._call(lambda c: c.remove(_b(path)))

    def rmdir(self, path: str) -> None:
        self._call(lambda c: c.rmdir(_b(path)))


def _no_sftp(where: str, said: str) -> QxubError:
    return QxubError(
        f"cannot open an SFTP session on {where}: {said}",
        hint="the server may not offer SFTP (ask its admins), or set sync_engine: rsync",
    )


def paramiko_files(target: SshTarget) -> SftpFiles:
    """SFTP on a channel of the paramiko transport's connection to `target`."""

    def open_() -> Session:
        paramiko = import_paramiko()
        conn = connection(target)
        try:
            client = paramiko.SFTPClient.from_transport(conn.transport)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            if not conn.alive():
                raise SshError(
                    f"the connection to {target.display()} was lost", LOST_HINT, "closed"
                ) from None
            raise _no_sftp(target.display(), str(exc) or type(exc).__name__) from None
        channel = client.get_channel()

        def alive() -> bool:
            return bool(conn.alive() and not channel.closed)

        return Session(client, alive, client.close, channel.close)

    return SftpFiles(open_, target.display())


def command_files(argv: Sequence[str], where: str, connection_error: ConnectionCheck) -> SftpFiles:
    """SFTP through a command that speaks it on stdin/stdout (`ssh -s host sftp`, riding the
    OpenSSH master); `connection_error` tells ssh's own failures apart."""

    def open_() -> Session:
        paramiko = import_paramiko()
        sock = CommandSocket(argv)
        try:
            client = paramiko.SFTPClient(sock)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            sock.close()
            said = sock.stderr_text()
            error = connection_error(255, said)
            if error is not None:
                raise error from None
            last = said.strip().splitlines()[-1:] or [str(exc) or type(exc).__name__]
            raise _no_sftp(where, last[0]) from None
        return Session(client, lambda: not sock.closed, sock.close, sock.close)

    return SftpFiles(open_, where)
