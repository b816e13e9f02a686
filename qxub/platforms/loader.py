"""Find platform definitions: built-in files shipped with qxub, and the user's own.

Built-ins are the package data `qxub/platforms/*.yaml`. User files are
`$XDG_CONFIG_HOME/qxub/platforms/*.yaml` (XDG_CONFIG_HOME defaults to ~/.config); a user file
whose platform has the same name as a built-in replaces it, any other adds a platform.

    list_platforms(env=None) -> list[Platform]            every platform, sorted by name
    load_platform(name, env=None) -> Platform             ConfigError naming close names if unknown
    detect_platform(names, env=None) -> Platform|None     $QXUB_PLATFORM, else host patterns
    host_names() -> this host's full and short names

`env` defaults to os.environ; tests pass their own.
"""

from __future__ import annotations

import fnmatch
import os
import socket
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

from qxub.errors import ConfigError
from qxub.platforms.model import Platform, parse_platform
from qxub.schema import did_you_mean, load_yaml

ENV_PLATFORM = "QXUB_PLATFORM"


def user_platform_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the user's own platform files live."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "qxub" / "platforms"


def _parse_text(text: str, source: str, default_name: str) -> Platform:
    return parse_platform(load_yaml(text, source), source, default_name)


def _builtin_platforms() -> list[Platform]:
    found = []
    for entry in resources.files("qxub.platforms").iterdir():
        if entry.name.endswith(".yaml") and entry.is_file():
            source = f"built-in {entry.name}"
            found.append(_parse_text(entry.read_text(encoding="utf-8"), source, entry.name[:-5]))
    return found


def _user_platforms(env: Mapping[str, str] | None) -> list[Platform]:
    folder = user_platform_dir(env)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError(
                f"cannot read {path}: {err.strerror}", hint="check its permissions"
            ) from err
        found.append(_parse_text(text, str(path), path.stem))
    return found


def _all_platforms(env: Mapping[str, str] | None) -> dict[str, Platform]:
    platforms = {p.name: p for p in _builtin_platforms()}
    seen: dict[str, str] = {}
    for platform in _user_platforms(env):
        if platform.name in seen:
            raise ConfigError(
                f"two files define platform {platform.name!r}: {seen[platform.name]} "
                f"and {platform.source}",
                hint="rename or remove one of them",
            )
        seen[platform.name] = platform.source
        platforms[platform.name] = platform  # the user's file wins over a built-in
    return platforms


def list_platforms(env: Mapping[str, str] | None = None) -> list[Platform]:
    """Every known platform, user files over built-ins, sorted by name."""
    return sorted(_all_platforms(env).values(), key=lambda p: p.name)


def load_platform(name: str, env: Mapping[str, str] | None = None) -> Platform:
    """The platform called `name`; an unknown name is a ConfigError that suggests close names."""
    platforms = _all_platforms(env)
    if name in platforms:
        return platforms[name]
    raise ConfigError(f"unknown platform {name!r}", hint=_suggest(name, list(platforms), env))


def _suggest(name: str, known: list[str], env: Mapping[str, str] | None) -> str:
    lead = did_you_mean(name, known)
    listing = ", ".join(sorted(known)) or "none"
    return f"{lead}known platforms: {listing} (add your own in {user_platform_dir(env)})"


def host_names() -> tuple[str, ...]:
    """This host's full and short names (either may be the one a platform's patterns know:
    getfqdn() gives 'localhost' on hosts whose resolver knows no domain)."""
    full, short = socket.getfqdn(), socket.gethostname()
    return tuple(dict.fromkeys(n for n in (full, short, short.split(".")[0]) if n))


def matches_host(platform: Platform, hostname: str | Sequence[str]) -> bool:
    """Whether `hostname` (or one of several names) fits one of the platform's host patterns
    (fnmatch, any case)."""
    names = [hostname] if isinstance(hostname, str) else list(hostname)
    return any(
        fnmatch.fnmatchcase(name.strip().lower(), pattern.lower())
        for name in names
        for pattern in platform.hosts
    )


def detect_platform(
    hostname: str | Sequence[str], env: Mapping[str, str] | None = None
) -> Platform | None:
    """The platform this host belongs to: $QXUB_PLATFORM if set, else the first whose host
    patterns match (user platforms before built-ins, then by name); None if none does."""
    env = os.environ if env is None else env
    forced = env.get(ENV_PLATFORM, "").strip()
    if forced:
        platforms = _all_platforms(env)
        if forced not in platforms:
            raise ConfigError(
                f"${ENV_PLATFORM} names unknown platform {forced!r}",
                hint=_suggest(forced, list(platforms), env),
            )
        return platforms[forced]
    candidates = sorted(
        _all_platforms(env).values(),
        key=lambda p: (p.source.startswith("built-in"), p.name),
    )
    return next((p for p in candidates if matches_host(p, hostname)), None)
