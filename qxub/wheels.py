"""Pure-Python wheels of qxub and what it needs on a remote, rebuilt from the distributions
installed on this machine: no package index, no source tree, no build tools.

A wheel is a zip of the installed files plus the distribution's metadata. Compiled extensions
are left out (PyYAML's optional libyaml binding: without it PyYAML uses its pure-Python code),
so each wheel is `py3-none-any` and serves any remote Python. An editable install (a
development checkout) is read from its package folder. The bytes depend only on the files, so
the same files give the same wheel and the same digest.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as metadata
import importlib.util
import re
import zipfile
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

from qxub.errors import QxubError
from qxub.record import record

# What a remote qxub imports: click and PyYAML. paramiko and watchdog serve the laptop only
# (the paramiko transport, `qxub remote watch`) and are imported only there.
REMOTE_DISTRIBUTIONS = ("qxub", "click", "PyYAML")
_SKIP_SUFFIXES = (".pyc", ".pyo", ".so", ".pyd", ".dylib", ".dll")
_KEEP_METADATA = ("METADATA", "entry_points.txt", "top_level.txt")
_EPOCH = (1980, 1, 1, 0, 0, 0)


@record(frozen=True)
class Wheel:
    name: str  # the distribution's name as installed, e.g. PyYAML
    version: str
    filename: str
    entries: tuple[tuple[str, bytes], ...]  # path in the wheel, content; RECORD last

    @property
    def record(self) -> bytes:
        """The wheel's RECORD: every file's digest, so it stands for the whole content
        (without compressing anything)."""
        return self.entries[-1][1]

    @cached_property
    def data(self) -> bytes:
        """The wheel file itself (compressed when first asked for)."""
        return _zip(self.entries)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _escape(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def _wanted(relative: str) -> bool:
    parts = relative.split("/")
    return not (
        parts[0] in ("..", "")
        or parts[0].startswith("__editable__")
        or "__pycache__" in parts
        or ".dist-info" in parts[0]
        or relative.endswith(_SKIP_SUFFIXES)
    )


def _top_levels(dist: metadata.Distribution) -> list[str]:
    text = dist.read_text("top_level.txt")
    if text:
        return [line.strip() for line in text.splitlines() if line.strip()]
    return [_escape(dist.metadata["Name"])]


def _under(relative: str, tops: list[str]) -> bool:
    first = relative.split("/")[0]
    return first in tops or (first.endswith(".py") and first[:-3] in tops)


def _installed_files(dist: metadata.Distribution) -> Iterator[tuple[str, Path]]:
    """(path inside the wheel, file on disk) for the distribution's importable files."""
    tops = _top_levels(dist)
    listed = [str(f).replace("\\", "/") for f in dist.files or []]
    files = [f for f in listed if _wanted(f) and _under(f, tops)]
    if any(f.endswith(".py") for f in files):
        for relative in sorted(files):
            yield relative, Path(str(dist.locate_file(relative)))
        return
    # An editable install lists no package files: take them from where they are imported.
    for top in tops:
        spec = importlib.util.find_spec(top)
        if spec is None:
            continue
        if spec.submodule_search_locations:
            folder = Path(next(iter(spec.submodule_search_locations)))
            for path in sorted(folder.rglob("*")):
                relative = f"{top}/{path.relative_to(folder).as_posix()}"
                if path.is_file() and _wanted(relative):
                    yield relative, path
        elif spec.origin and spec.origin.endswith(".py"):
            yield f"{top}.py", Path(spec.origin)


def build_wheel(name: str) -> Wheel:
    """A `py3-none-any` wheel of the installed distribution `name`."""
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        raise QxubError(
            f"{name} is not installed here, so qxub cannot send it to the remote",
            hint=f"install it in the Python that runs qxub: python3 -m pip install {name}",
        ) from None
    real_name, version = dist.metadata["Name"], dist.version
    info = f"{_escape(real_name)}-{version}.dist-info"
    entries: list[tuple[str, bytes]] = []
    for relative, path in _installed_files(dist):
        entries.append((relative, path.read_bytes()))
    if not entries:
        raise QxubError(
            f"the installed {real_name} {version} has no files qxub can put in a wheel",
            hint=f"reinstall it here: python3 -m pip install --force-reinstall {real_name}",
        )
    for meta in _KEEP_METADATA:
        # An egg-info (a source checkout's) calls its METADATA PKG-INFO.
        text = dist.read_text(meta) or (dist.read_text("PKG-INFO") if meta == "METADATA" else None)
        if text is not None:
            entries.append((f"{info}/{meta}", text.encode()))
    wheel_text = "Wheel-Version: 1.0\nGenerator: qxub\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    entries.append((f"{info}/WHEEL", wheel_text.encode()))
    record = [f"{path},{_record_hash(data)},{len(data)}" for path, data in entries]
    entries.append((f"{info}/RECORD", ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()))
    filename = f"{_escape(real_name)}-{version}-py3-none-any.whl"
    return Wheel(real_name, version, filename, tuple(entries))


def _zip(entries: tuple[tuple[str, bytes], ...]) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in entries:
            item = zipfile.ZipInfo(path, date_time=_EPOCH)
            item.external_attr = 0o644 << 16
            item.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(item, data)
    return buffer.getvalue()


def remote_wheels() -> list[Wheel]:
    """The wheels a remote qxub needs, qxub first."""
    return [build_wheel(name) for name in REMOTE_DISTRIBUTIONS]
