"""The SFTP requests paramiko's SFTPClient has no public call for: a listing whose names are
bytes (its own decodes them as UTF-8, and fails on other names), and many requests in flight
at once (its own calls wait for each answer). paramiko is imported when they run."""

from __future__ import annotations

import os
from typing import Any

from qxub.remote.paramiko import import_paramiko


def listdir_bytes(client: Any, path: bytes) -> list[tuple[str, Any]]:
    """listdir_attr with names as bytes (paramiko's decodes them, and fails on names that are
    not UTF-8)."""
    paramiko = import_paramiko()
    sftp = paramiko.sftp
    kind, msg = client._request(sftp.CMD_OPENDIR, path)
    if kind != sftp.CMD_HANDLE:
        raise OSError(f"cannot list {os.fsdecode(path)}: unexpected answer {kind}")
    handle = msg.get_binary()
    entries: list[tuple[str, Any]] = []
    try:
        while True:
            try:
                kind, msg = client._request(sftp.CMD_READDIR, handle)
            except EOFError:  # the server's "no more entries"
                break
            if kind != sftp.CMD_NAME:
                raise OSError(f"cannot list {os.fsdecode(path)}: unexpected answer {kind}")
            for _ in range(msg.get_int()):
                name = os.fsdecode(msg.get_string())
                msg.get_string()  # the `ls -l` line
                found = paramiko.SFTPAttributes._from_msg(msg)
                if name not in (".", ".."):
                    entries.append((name, found))
    finally:
        client._request(sftp.CMD_CLOSE, handle)
    return entries


class _Answers:
    """Collects the answers to pipelined requests: paramiko hands each to this object."""

    def __init__(self) -> None:
        self.got: dict[int, tuple[int, Any]] = {}

    def _async_response(self, kind: int, msg: Any, num: int) -> None:
        self.got[num] = (kind, msg)


def pipelined(client: Any, requests: list[tuple[Any, ...]]) -> list[tuple[int, Any]]:
    """Send every request, then read every answer: one round trip for all of them."""
    answers = _Answers()
    numbers = [client._async_request(answers, kind, *args) for kind, *args in requests]
    while len(answers.got) < len(numbers):
        client._read_response()
    return [answers.got[n] for n in numbers]


def answer_error(
    client: Any, answer: tuple[int, Any], expected: int | None = None
) -> OSError | None:
    """The error an answer carries (a status other than OK, or not the expected kind)."""
    kind, msg = answer
    if expected is not None and kind == expected:
        return None
    try:
        client._convert_status(msg)
    except (OSError, EOFError) as exc:
        return exc if isinstance(exc, OSError) else OSError(str(exc))
    return None if expected is None else OSError(f"unexpected answer {kind}")
