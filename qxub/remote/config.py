"""The `remotes:` section of the config: where jobs can run with --remote, checked on load.

`{x}` in a value is expanded on the laptop ({user}: the local login name); `{{x}}` on the
remote ({{user}}: the remote $USER, {{home}}: the remote $HOME).
"""

from __future__ import annotations

import difflib
import getpass
import re
import shlex
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qxub.config import Config
from qxub.errors import ConfigError, QxubError
from qxub.remote.ssh import SshTarget
from qxub.state import config_home, state_home

LOCAL = "local"

REMOTE_KEYS = {
    "url": "ssh://[user@]host[:port]; the host may be an alias of your ssh config",
    "working_dir": "remote base folder of project mirrors (default {{home}}/qxub)",
    "platform": "platform name the remote qxub should use (default: it detects its own)",
    "conda_env": "conda environment that provides qxub on the remote",
    "qxub_command": "how to call qxub there (default: qxub)",
    "config": "ssh config file to use (default: ssh's own, ~/.ssh/config)",
    "force_tty": "true or false to force a terminal for jobs; null for automatic",
    "defaults": "exec options applied on the remote unless typed",
    "sync_url": "ssh://[user@]host[:port] of a data-mover host for transfers only",
    "sync": "true to push before every exec, or a mapping with auto, ignore and pull",
    "transport": "openssh or paramiko; default auto: openssh when `ssh` is on PATH",
    "sync_engine": "rsync or sftp; default auto: rsync when both ends have it",
}
TRANSPORTS = ("openssh", "paramiko")
SYNC_ENGINES = ("rsync", "sftp")
SYNC_KEYS = {
    "auto": "true: `qxub exec --remote` pushes first unless --no-sync",
    "ignore": "extra ignore lines (gitignore syntax) for this remote",
    "pull": "paths `qxub remote pull` brings back when none are named",
}
_REMOTE_VARS = {"user": '"$USER"', "home": '"$HOME"'}
_LOCAL_VARS = ("user",)
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}|\{(\w+)\}")


@dataclass(frozen=True)
class Remote:
    """A place to run jobs. The built-in `local` remote has no ssh target."""

    name: str
    target: SshTarget | None
    working_dir: str  # laptop placeholders expanded; remote ones ({{user}}) kept
    platform: str | None = None
    conda_env: str | None = None
    qxub_command: tuple[str, ...] = ("qxub",)
    force_tty: bool | None = None
    defaults: tuple[tuple[str, Any], ...] = ()
    source: str = "built-in"
    sync_target: SshTarget | None = None  # a data-mover host for transfers, when set
    sync_auto: bool = False
    sync_ignore: tuple[str, ...] = ()
    sync_pull: tuple[str, ...] = ()
    transport: str | None = None  # "openssh" or "paramiko"; None: chosen by what is installed
    sync_engine: str | None = None  # "rsync" or "sftp"; None: chosen by what is installed

    @property
    def url(self) -> str:
        if self.target is None:
            return "(this machine)"
        user = f"{self.target.user}@" if self.target.user else ""
        port = f":{self.target.port}" if self.target.port else ""
        return f"ssh://{user}{self.target.host}{port}"

    def working_dir_word(self) -> str:
        """working_dir as one shell word, with {{user}}/{{home}} expanded by the remote shell."""
        return shell_word_with_vars(self.working_dir)


def shell_word_with_vars(text: str) -> str:
    parts = []
    pos = 0
    for match in re.finditer(r"\{\{(\w+)\}\}", text):
        if match.start() > pos:
            parts.append(shlex.quote(text[pos : match.start()]))
        parts.append(_REMOTE_VARS[match.group(1)])
        pos = match.end()
    if pos < len(text) or not parts:
        parts.append(shlex.quote(text[pos:]))
    return "".join(parts)


def builtin_local() -> Remote:
    """Mirrors into qxub's own state directory on this machine and runs there: no ssh."""
    return Remote(
        name=LOCAL,
        target=None,
        working_dir=str(state_home() / "mirrors"),
        qxub_command=(sys.executable, "-m", "qxub"),
    )


class _Checker:
    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name

    def fail(self, key: str, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(f"{self.path}: remotes.{self.name}.{key}: {message}", hint=hint)

    def string(self, data: Mapping[str, Any], key: str) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be a non-empty string, not {value!r}", REMOTE_KEYS[key])
        return value

    def expand(self, key: str, value: str) -> str:
        def sub(match: re.Match[str]) -> str:
            remote, local = match.group(1), match.group(2)
            if remote is not None:
                if remote not in _REMOTE_VARS:
                    valid = ", ".join("{{" + v + "}}" for v in _REMOTE_VARS)
                    raise self.fail(key, f"unknown placeholder {match.group(0)}", f"valid: {valid}")
                return match.group(0)
            if local not in _LOCAL_VARS:
                raise self.fail(
                    key,
                    f"unknown placeholder {match.group(0)}",
                    "valid: {user}, {{user}}, {{home}}",
                )
            return getpass.getuser()

        return _PLACEHOLDER.sub(sub, value)

    def choice(self, data: Mapping[str, Any], key: str, values: tuple[str, ...]) -> str | None:
        """One of `values`, or None for `auto` (or the key left out)."""
        value = data.get(key)
        if value is None or value == "auto":
            return None
        if value not in values:
            raise self.fail(
                key, f"must be {', '.join(values)} or auto, not {value!r}", REMOTE_KEYS[key]
            )
        return str(value)


def parse_remote(
    name: str, data: Any, path: Path, defaults_check: Callable[[str, Any], Any] | None = None
) -> Remote:
    """One remote's settings, checked; errors name the file and the key."""
    check = _Checker(path, name)
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{path}: remotes.{name} must be a mapping of settings",
            hint="e.g.\n  url: ssh://gadi.nci.org.au\n  working_dir: /scratch/a56/{{user}}/qxub",
        )
    for key in data:
        if key not in REMOTE_KEYS:
            close = difflib.get_close_matches(str(key), REMOTE_KEYS, n=1)
            maybe = f"did you mean {close[0]}? " if close else ""
            raise check.fail(
                str(key), "unknown key", f"{maybe}valid keys: {', '.join(REMOTE_KEYS)}"
            )
    if name == LOCAL:
        raise ConfigError(
            f"{path}: remotes.local: `local` is the built-in remote (this machine)",
            hint="give your remote another name",
        )
    url = check.string(data, "url")
    if url is None:
        raise check.fail("url", "missing", "every remote needs url: ssh://[user@]host[:port]")
    ssh_config = check.string(data, "config")
    try:
        target = SshTarget.from_url(check.expand("url", url), config_file=ssh_config)
    except ConfigError as exc:
        raise check.fail("url", exc.message, exc.hint) from None
    working_dir = check.expand("working_dir", check.string(data, "working_dir") or "{{home}}/qxub")
    if not working_dir.startswith(("/", "{{home}}")):
        raise check.fail(
            "working_dir",
            f"{working_dir!r} is not an absolute path",
            "e.g. /scratch/a56/{{user}}/qxub",
        )
    command = check.string(data, "qxub_command") or "qxub"
    try:
        words = tuple(shlex.split(command))
    except ValueError as exc:
        raise check.fail("qxub_command", str(exc)) from None
    force_tty = data.get("force_tty")
    if force_tty is not None and not isinstance(force_tty, bool):
        raise check.fail("force_tty", f"must be true, false or null, not {force_tty!r}")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        raise check.fail("defaults", "must be a mapping of exec options", "e.g. {project: a56}")
    checked_defaults = []
    for key, value in defaults.items():
        if defaults_check is not None:
            try:
                value = defaults_check(str(key), value)
            except ValueError as exc:
                raise check.fail(f"defaults.{key}", str(exc)) from None
        checked_defaults.append((str(key), value))
    sync_target = None
    sync_url = check.string(data, "sync_url")
    if sync_url is not None:
        try:
            sync_target = SshTarget.from_url(check.expand("sync_url", sync_url), ssh_config)
        except ConfigError as exc:
            raise check.fail("sync_url", exc.message, exc.hint) from None
    auto, ignore, pull = _sync_settings(check, data.get("sync"))
    return Remote(
        sync_target=sync_target,
        sync_auto=auto,
        sync_ignore=ignore,
        sync_pull=pull,
        name=name,
        target=target,
        working_dir=working_dir,
        platform=check.string(data, "platform"),
        conda_env=check.string(data, "conda_env"),
        qxub_command=words,
        force_tty=force_tty,
        defaults=tuple(checked_defaults),
        source=str(path),
        transport=check.choice(data, "transport", TRANSPORTS),
        sync_engine=check.choice(data, "sync_engine", SYNC_ENGINES),
    )


def _sync_settings(check: _Checker, value: Any) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    if value is None:
        return False, (), ()
    if isinstance(value, bool):
        return value, (), ()
    if not isinstance(value, Mapping):
        raise check.fail(
            "sync",
            f"must be true, false or a mapping, not {value!r}",
            f"keys: {', '.join(SYNC_KEYS)}",
        )
    for key in value:
        if key not in SYNC_KEYS:
            raise check.fail(f"sync.{key}", "unknown key", f"valid keys: {', '.join(SYNC_KEYS)}")
    auto = value.get("auto", False)
    if not isinstance(auto, bool):
        raise check.fail("sync.auto", f"must be true or false, not {auto!r}")
    lists = []
    for key in ("ignore", "pull"):
        items = value.get(key) or []
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
            raise check.fail(
                f"sync.{key}", "must be a list of paths or patterns", "e.g. [results/, logs/]"
            )
        lists.append(tuple(items))
    return auto, lists[0], lists[1]


def remotes_validator(
    defaults_check: Callable[[str, Any], Any] | None,
) -> Callable[[Path, Any], Any]:
    """The check the config loader runs on each file's `remotes:`; keeps the raw mapping."""

    def validate(path: Path, value: Any) -> Any:
        for name, data in value.items():
            parse_remote(str(name), data, path, defaults_check)
        return value

    return validate


def configured_remotes(config: Config) -> dict[str, Remote]:
    """Every remote, the built-in `local` first; a later file's remote replaces an earlier one."""
    defaults_check = config.schema.defaults if config.schema else None
    remotes = {LOCAL: builtin_local()}
    for layer in config.layers:
        for name, data in dict(layer.data.get("remotes", {})).items():
            remotes[str(name)] = parse_remote(str(name), data, layer.path, defaults_check)
    return remotes


def find_remote(config: Config, name: str | None) -> Remote:
    """The remote called `name` (else default_remote); an unknown name suggests close ones."""
    remotes = configured_remotes(config)
    if name is None:
        found = config.lookup("default_remote")
        if found is None:
            raise QxubError(
                "no remote named and no default_remote set",
                hint=f"name one ({', '.join(remotes)}), or `qxub config set default_remote NAME`",
            )
        name = str(found[0])
    if name in remotes:
        return remotes[name]
    same_but_case = [n for n in remotes if n.lower() == name.lower()]
    close = same_but_case or difflib.get_close_matches(name, remotes, n=3, cutoff=0.5)
    if close:
        hint = f"did you mean {' or '.join(close)}? known remotes: {', '.join(remotes)}"
    else:
        hint = (
            f"known remotes: {', '.join(remotes)}. Add one under `remotes:` in "
            f"{config_home() / 'config.yaml'}, e.g.\n"
            f"remotes:\n  {name}:\n    url: ssh://user@host\n"
            "    working_dir: /scratch/{{user}}/qxub"
        )
    raise QxubError(f"unknown remote {name!r}", hint=hint)
