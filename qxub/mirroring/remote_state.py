"""What the mirror holds, asked in one remote command over the shared connection: that it
still exists and is this project's (its marker), and the size, second and kind of the paths a
push or a pull is about to decide on. And the deletions a push decided, in one more."""

from __future__ import annotations

import base64
import binascii
import codecs
import os
import re
import sys
import zlib
from collections.abc import Sequence
from itertools import repeat
from pathlib import Path

from qxub.errors import QxubError
from qxub.mirroring.place import check_owner
from qxub.record import field, record
from qxub.remote.config import Remote
from qxub.remote.scripts import delete_script, mirror_state_script, paths_word
from qxub.remote.transport import Transport
from qxub.remote.unpack import GNU_TAR, TOOLS_PROBE, ZSTD
from qxub.sync import MARKER, PART
from qxub.sync.threeway import There

# Past this many characters of names, the mirror is listed whole instead (a script this long
# would pass the limit of one remote command).
MAX_NAMED = 30_000
_KINDS = {"f": "file", "l": "link", "d": "dir"}
_PIECE = 1 << 14  # characters (or bytes) of the listing read at a time
# One entry of the listing, from its start (after a NUL, or the first): kind, size, whole
# seconds (a fraction, if any, skipped), name (its leading `./`s skipped). Entries of other
# kinds (fifos) match nothing.
_LINE = re.compile(r"(?<![^\0])([fld]) ([0-9]+) (-?[0-9]+)[^ \0]* (?:\./)*([^\0]*)\0")


@record
class MirrorState:
    exists: bool
    marker: str | None = None
    entries: dict[str, There] = field(default_factory=dict)
    gnu_tar: bool = False  # asked only with `tools`: can it unpack a stream (remote/unpack.py)
    zstd: bool = False


def _fields(stdout: str, big: str = "") -> dict[str, str]:
    """The NAME=VALUE fields of a remote script's output (NUL-ended); the field `big` (a
    listing, megabytes of it) is cut out once, not copied by each split."""
    if big:
        start = stdout.find(f"\0{big}=")
        if start >= 0:
            end = stdout.find("\0", start + 1)
            end = len(stdout) if end < 0 else end
            value = stdout[start + len(big) + 2 : end]
            return {**_fields(stdout[:start] + stdout[end:]), big: value}
    return dict(part.split("=", 1) for part in stdout.split("\0") if "=" in part)


def _failed(remote: Remote, what: str, stderr: str) -> QxubError:
    said = stderr.strip().splitlines()[-1:] or ["(no message)"]
    return QxubError(
        f"cannot {what} the mirror on {remote.name}: {said[0]}",
        hint=f"check the connection and the mirror (`qxub remote test {remote.name}`)",
    )


def mirror_state(
    remote: Remote,
    transport: Transport,
    path: str,
    *,
    paths: Sequence[str] = (),
    under: Sequence[str] = (),
    tools: bool = False,
    ahead: float | None = None,
) -> MirrorState:
    """The mirror at `path`: the entries at `paths` and everything under `under` ("." is the
    whole mirror). Too many names to send, and the whole mirror is listed instead. `tools`:
    also whether it has GNU tar and zstd (for a first push by stream). `ahead`: the next push
    may start this listing at start-up (Transport.run)."""
    if len(paths_word(paths)) + len(paths_word(under)) > MAX_NAMED:
        paths, under = (), ["."]
    script = mirror_state_script(path, MARKER, paths, under)
    script = [*script, *TOOLS_PROBE] if tools else script
    reader = ListingReader()
    result = transport.run(script, timeout=300, check=False, ahead=ahead, sink=reader.feed)
    found = _fields(result.stdout, big="entries")
    if result.returncode != 0 or "state" not in found:
        raise _failed(remote, "look at", result.stderr)
    del result  # its output (megabytes, for a big mirror) is not kept while it is read
    if found["state"] == "missing":
        return MirrorState(exists=False)
    return MirrorState(
        True,
        found.get("marker"),
        reader.entries(found.pop("entries", "")),
        gnu_tar=GNU_TAR.partition("=")[0] in found,
        zstd=ZSTD.partition("=")[0] in found,
    )


def _entries(encoded: str) -> dict[str, There]:
    """The listing (base64, as the remote script prints it) as entries (`_read`)."""
    return _read(_decoded(encoded))


def _decoded(encoded: str) -> str:
    """The listing's text (unpacked when the remote compressed it): names decoded as
    os.fsdecode decodes each (UTF-8, other bytes escaped), all at once (no byte of a
    multi-byte character is a space or a NUL)."""
    try:
        raw = binascii.a2b_base64(encoded)
    except (binascii.Error, ValueError):
        return ""
    if raw.startswith(_GZIP):  # a listing itself starts with a kind letter
        try:
            raw = zlib.decompress(raw, wbits=31)
        except zlib.error as exc:
            raise QxubError(
                f"the listing of the mirror came back damaged ({exc})",
                hint="try again; if it persists, check the remote's gzip",
            ) from None
    return raw.decode("utf-8", "surrogateescape")


_GZIP = b"\x1f\x8b"


def _read(text: str) -> dict[str, There]:
    """The listing (`kind size seconds ./path`, NUL-ended) as entries; qxub's own
    files (the marker, temporary `.qxub-part-` names and what is under them) left out."""
    entries: dict[str, There] = {}
    return _without_own(entries, _read_into(entries, text))


def _read_into(entries: dict[str, There], text: str, stop: int | None = None) -> bool:
    """Add the entries of `text` (whole lines of the listing; up to `stop`) to `entries`;
    whether a temporary name may be among them. The entries are made column by column, not
    line by line (a third less time at 15,000), and each name is interned: the selection
    and the record hold the same names, kept once."""
    stop = len(text) if stop is None else stop
    start = 0
    while start < stop:  # a piece at a time: the columns of all of it would be big
        end = text.find("\0", start + _PIECE, stop)
        end = stop if end < 0 else end + 1
        found = _LINE.findall(text, start, end)
        start = end
        if not found:
            continue
        kinds, sizes, seconds, names = zip(*found, strict=True)
        del found
        kind_names = map(_KINDS.__getitem__, kinds)
        fields = zip(map(int, sizes), map(int, seconds), kind_names, strict=True)
        made = map(tuple.__new__, repeat(There), fields)
        entries.update(zip(map(sys.intern, names), made, strict=True))
    return text.find(PART, 0, stop) >= 0


def _without_own(entries: dict[str, There], part: bool) -> dict[str, There]:
    """`entries` without qxub's own: the mirror itself, its marker, and (`part`: when a
    temporary name may be among them) temporary names (an SFTP part file, a small push's or
    a stream's staging folder and what is in it, left by a push that was killed): they are
    not the mirror's files."""
    for name in ("", ".", MARKER):
        entries.pop(name, None)
    if part:
        under_part = "/" + PART
        for name in [n for n in entries if n.startswith(PART) or under_part in n]:
            del entries[name]
    return entries


class ListingReader:
    """The `entries=` field of a mirror_state script's output, read as its stdout arrives
    (`feed`, Transport.run's sink). Over OpenSSH a listing started at start-up comes in
    pieces while find still walks the mirror there, and each piece is read as it comes, not
    all of it once the remote is done. `entries(field)` gives the entries when what was fed
    held that very field whole; otherwise (a transport that does not feed it, damage,
    anything unexpected) it reads `field` itself, as before."""

    def __init__(self) -> None:
        self._seen = b""  # the end of what came before the field, until the field starts
        self._where = _BEFORE
        self._pending = bytearray()  # base64 not decoded yet: whole groups of 4 are
        self._length = 0  # base64 characters of the field fed
        self._unzip: zlib._Decompress | None = None
        self._plain = False
        self._text = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self._rest = ""  # text after the last NUL: the start of a line to come
        self._entries: dict[str, There] = {}
        self._part = False

    def feed(self, data: bytes) -> None:
        if self._where in (_AFTER, _GIVEN_UP):
            return
        try:
            self._feed(data)
        except (binascii.Error, zlib.error, ValueError):
            self._where, self._entries = _GIVEN_UP, {}  # `entries` reads the field whole

    def entries(self, field: str) -> dict[str, There]:
        if self._where != _AFTER or self._length != len(field):
            return _read(_decoded(field))
        entries, self._entries = self._entries, {}
        return _without_own(entries, self._part)

    def _feed(self, data: bytes) -> None:
        if self._where == _BEFORE:
            seen = self._seen + data
            at = seen.find(_FIELD)
            if at < 0:
                self._seen = seen[-(len(_FIELD) - 1) :]
                return
            self._seen, self._where = b"", _IN
            data = seen[at + len(_FIELD) :]
        end = data.find(b"\0")
        final = end >= 0
        if final:
            data = data[:end]
        if data.translate(None, _BASE64):
            raise ValueError("not base64 alone")
        self._length += len(data)
        self._pending += data
        whole = len(self._pending) if final else len(self._pending) // 4 * 4
        raw = binascii.a2b_base64(self._pending[:whole]) if whole else b""
        del self._pending[:whole]
        self._decoded(raw, final)
        if final:
            self._where = _AFTER

    def _decoded(self, raw: bytes, final: bool) -> None:
        if self._unzip is None and not self._plain:
            if not raw and not final:
                return
            # A whole group of base64 is 3 bytes: as many as it takes to see gzip's mark.
            if raw.startswith(_GZIP):
                self._unzip = zlib.decompressobj(wbits=31)
            else:
                self._plain = True
        unzip = self._unzip
        if unzip is None:
            self._lines(raw, final)
            return
        # A piece at a time: a chunk of the compressed listing holds ten times its size.
        while raw:
            self._lines(unzip.decompress(raw, _PIECE), False)
            raw = unzip.unconsumed_tail
        if final:
            self._lines(unzip.flush(), True)
            if not unzip.eof:
                raise zlib.error("the compressed listing ended early")

    def _lines(self, raw: bytes, final: bool) -> None:
        """Read the whole lines of `raw` (what is before its last NUL, after what was left
        of the piece before); keep the rest for the next piece."""
        text = self._rest + self._text.decode(raw, final)
        cut = text.rfind("\0") + 1
        self._rest = "" if final else text[cut:]
        if cut:
            self._part = _read_into(self._entries, text, cut) or self._part


_FIELD = b"\0entries="
_BASE64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_BEFORE, _IN, _AFTER, _GIVEN_UP = range(4)


def check_ours(state: MirrorState, remote: Remote, project_root: Path, path: str) -> None:
    """A mirror whose marker names another project (it was removed and claimed again) is
    refused before anything is written or deleted there."""
    if state.marker:
        check_owner(state.marker, project_root, remote.name, path)


def delete_there(
    remote: Remote, transport: Transport, path: str, files: Sequence[str], folders: Sequence[str]
) -> set[str]:
    """Delete `files` in the mirror, then rmdir `folders` that are empty; the folders that
    stay (they hold files qxub did not push)."""
    if not files and not folders:
        return set()
    result = transport.run(delete_script(path, files, folders), timeout=300, check=False)
    if result.returncode != 0:
        raise _failed(remote, "delete files in", result.stderr)
    kept = _fields(result.stdout).get("kept", "")
    try:
        raw = base64.b64decode(kept)
    except (binascii.Error, ValueError):
        return set()
    names = [name for name in raw.split(b"\0") if name]
    return {os.fsdecode(name[2:] if name.startswith(b"./") else name) for name in names}
