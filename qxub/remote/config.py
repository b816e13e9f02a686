"""The `remotes:` section of the config: where jobs can run with --remote, checked on load.

`{x}` in a value is expanded on the laptop ({user}: the local login name); `{{x}}` on the
remote ({{user}}: the remote $USER, {{home}}: the remote $HOME).
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from qxub.config import Config, check_jobs_dir
from qxub.errors import ConfigError, QxubError
from qxub.record import record
from qxub.remote.target import SshTarget
from qxub.schema import Reader, close_matches, join
from qxub.state import config_home, state_home

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from typing import Any

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
    "auto_install": "true: `qxub exec --remote` installs this qxub there when it is missing or"
    " another version",
    "control_persist": "how long the shared ssh connection stays up when unused, e.g. 10m"
    " (the default) or 8h",
    "jobs_dir": "where the remote qxub keeps job records and logs (default: its own config's,"
    " else ~/.local/state/qxub/jobs there)",
    "follow_segment": "how long one remote follower streams before the laptop re-attaches "
    "(default 10m)",
    "follow_retry": "how long the laptop re-attaches by itself to a lost follow (default 15m)",
}
DEFAULT_CONTROL_PERSIST = "10m"
_PERSIST = re.compile(r"(?:\d+[smhdwSMHDW]?)+")
DEFAULT_FOLLOW_SEGMENT = 600
DEFAULT_FOLLOW_RETRY = 900
TRANSPORTS = ("openssh", "paramiko")
SYNC_ENGINES = ("rsync", "sftp")
SYNC_KEYS = {
    "auto": "true: `qxub exec --remote` pushes first unless --no-sync",
    "ignore": "extra ignore lines (gitignore syntax) for this remote",
    "pull": "paths `qxub remote pull` brings back when none are named",
    "snapshot": "true: each `qxub exec --remote` job runs in its own copy of the mirror unless"
    " --no-snapshot",
}
_REMOTE_VARS = {"user": '"$USER"', "home": '"$HOME"'}
_LOCAL_VARS = ("user",)
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}|\{(\w+)\}")


@record(frozen=True)
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
    sync_snapshot: bool = False  # each batch job runs in its own hard-link copy of the mirror
    transport: str | None = None  # "openssh" or "paramiko"; None: chosen by what is installed
    sync_engine: str | None = None  # "rsync" or "sftp"; None: chosen by what is installed
    auto_install: bool = False
    control_persist: str = DEFAULT_CONTROL_PERSIST
    jobs_dir: str | None = None  # job folders there; remote placeholders ({{user}}) kept
    follow_segment: int = DEFAULT_FOLLOW_SEGMENT  # seconds
    follow_retry: int = DEFAULT_FOLLOW_RETRY  # seconds

    @property
    def url(self) -> str:
        if self.target is None:
            return "(this machine)"
        user = f"{self.target.user}@" if self.target.user else ""
        port = f":{self.target.port}" if self.target.port else ""
        return f"ssh://{user}{self.target.host}{port}"

    def jobs_dir_word(self) -> str | None:
        """jobs_dir as one shell word, as working_dir_word; None when not set."""
        return None if self.jobs_dir is None else shell_word_with_vars(self.jobs_dir)

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


def _expand(r: Reader, path: str, value: str) -> str:
    """Laptop placeholders ({user}) expanded; remote ones ({{user}}) checked and kept."""

    def sub(match: re.Match[str]) -> str:
        remote, local = match.group(1), match.group(2)
        if remote is not None:
            if remote not in _REMOTE_VARS:
                valid = ", ".join("{{" + v + "}}" for v in _REMOTE_VARS)
                r.fail(path, f"unknown placeholder {match.group(0)}", f"valid: {valid}")
            return match.group(0)
        if local not in _LOCAL_VARS:
            r.fail(
                path, f"unknown placeholder {match.group(0)}", "valid: {user}, {{user}}, {{home}}"
            )
        import getpass  # not at start-up: only a {user} placeholder needs it

        return getpass.getuser()

    return _PLACEHOLDER.sub(sub, value)


# A remote's name names files (its record, its logs): no '/', no shell characters.
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
# What a host (or an ssh config alias) and a user may hold: nothing a shell or ssh would read
# as syntax or an option.
_HOST = re.compile(r"[A-Za-z0-9_.:%\[\]][A-Za-z0-9_.:%\[\]-]*")
_USER = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.@\\-]*")


def _target(r: Reader, path: str, url: str, ssh_config: str | None) -> SshTarget:
    try:
        target = SshTarget.from_url(_expand(r, path, url), config_file=ssh_config)
    except ConfigError as exc:
        r.fail(path, exc.message, exc.hint)
    if not _HOST.fullmatch(target.host) or (target.user and not _USER.fullmatch(target.user)):
        r.fail(
            path,
            f"{url!r}: the host or user holds characters a host name cannot",
            "hosts are names (letters, digits, '.', '-', '_') or addresses; "
            "e.g. ssh://me@gadi.nci.org.au",
        )
    return target


def parse_remote(
    name: str, data: Any, path: Path, defaults_check: Callable[[str, Any], Any] | None = None
) -> Remote:
    """One remote's settings, checked; errors name the file and the key."""
    r = Reader(str(path))
    where = f"remotes.{name}"
    example = "e.g.\n  url: ssh://gadi.nci.org.au\n  working_dir: /scratch/a56/{{user}}/qxub"
    d = r.mapping(data, where, REMOTE_KEYS, example)
    if name == LOCAL:
        r.fail(
            where, "`local` is the built-in remote (this machine)", "give your remote another name"
        )
    if not _NAME.fullmatch(name) or name in (".", ".."):
        r.fail(
            where,
            f"{name!r} is not a valid remote name",
            "use letters, digits, '_', '.' and '-' (e.g. gadi, hpc-2)",
        )

    def string(key: str) -> str | None:
        value = d.get(key)
        return None if value is None else r.string(value, join(where, key), REMOTE_KEYS[key], False)

    url = string("url")
    if url is None:
        r.fail(join(where, "url"), "missing", "every remote needs url: ssh://[user@]host[:port]")
    ssh_config = string("config")
    target = _target(r, join(where, "url"), url, ssh_config)
    working_dir = _expand(r, join(where, "working_dir"), string("working_dir") or "{{home}}/qxub")
    if not working_dir.startswith(("/", "{{home}}")):
        r.fail(
            join(where, "working_dir"),
            f"{working_dir!r} is not an absolute path",
            "e.g. /scratch/a56/{{user}}/qxub",
        )
    command = string("qxub_command") or "qxub"
    try:
        words = tuple(shlex.split(command))
    except ValueError as exc:
        r.fail(join(where, "qxub_command"), str(exc))
    force_tty = d.get("force_tty")
    if force_tty is not None:
        force_tty = r.boolean(force_tty, join(where, "force_tty"))
    defaults = r.any_keys(
        d.get("defaults") or {},
        join(where, "defaults"),
        "a mapping of exec options",
        "e.g. {project: a56}",
    )
    checked_defaults = []
    for key, value in defaults.items():
        if defaults_check is not None:
            try:
                value = defaults_check(key, value)
            except ValueError as exc:
                r.fail(join(where, f"defaults.{key}"), str(exc))
        checked_defaults.append((key, value))
    sync_url = string("sync_url")
    sync_target = (
        None if sync_url is None else _target(r, join(where, "sync_url"), sync_url, ssh_config)
    )
    auto, ignore, pull, snapshot = _sync_settings(r, join(where, "sync"), d.get("sync"))
    auto_install = d.get("auto_install")
    persist = d.get("control_persist")
    if persist is not None:
        persist = str(persist)
        if not _PERSIST.fullmatch(persist) or not any(c != "0" for c in persist if c.isdigit()):
            r.fail(
                join(where, "control_persist"),
                f"{persist!r} is not a time",
                "e.g. 600 (seconds), 10m or 8h",
            )
    jobs_dir = d.get("jobs_dir")
    if jobs_dir is not None:
        jobs_dir = _expand(r, join(where, "jobs_dir"), str(jobs_dir))
        check_jobs_dir(r, join(where, "jobs_dir"), jobs_dir, remote=True)
    follow = {
        key: default if d.get(key) is None else r.duration(d.get(key), join(where, key))
        for key, default in (
            ("follow_segment", DEFAULT_FOLLOW_SEGMENT),
            ("follow_retry", DEFAULT_FOLLOW_RETRY),
        )
    }
    return Remote(
        auto_install=False
        if auto_install is None
        else r.boolean(auto_install, join(where, "auto_install")),
        control_persist=persist or DEFAULT_CONTROL_PERSIST,
        jobs_dir=jobs_dir,
        follow_segment=max(1, follow["follow_segment"]),
        follow_retry=follow["follow_retry"],
        sync_target=sync_target,
        sync_auto=auto,
        sync_ignore=ignore,
        sync_pull=pull,
        sync_snapshot=snapshot,
        name=name,
        target=target,
        working_dir=working_dir,
        platform=string("platform"),
        conda_env=string("conda_env"),
        qxub_command=words,
        force_tty=force_tty,
        defaults=tuple(checked_defaults),
        source=str(path),
        transport=r.choice(
            d.get("transport"), join(where, "transport"), TRANSPORTS, REMOTE_KEYS["transport"]
        ),
        sync_engine=r.choice(
            d.get("sync_engine"),
            join(where, "sync_engine"),
            SYNC_ENGINES,
            REMOTE_KEYS["sync_engine"],
        ),
    )


def _sync_settings(
    r: Reader, where: str, value: Any
) -> tuple[bool, tuple[str, ...], tuple[str, ...], bool]:
    if value is None:
        return False, (), (), False
    if isinstance(value, bool):
        return value, (), (), False
    if not isinstance(value, Mapping):
        r.fail(
            where,
            f"must be true, false or a mapping, not {value!r}",
            f"keys: {', '.join(SYNC_KEYS)}",
        )
    d = r.mapping(value, where, SYNC_KEYS)
    auto = r.boolean(d.get("auto", False), join(where, "auto"))
    example = "e.g. [results/, logs/]"
    ignore = r.strings(d.get("ignore") or [], join(where, "ignore"), example, strip=False)
    pull = r.strings(d.get("pull") or [], join(where, "pull"), example, strip=False)
    snapshot = r.boolean(d.get("snapshot", False), join(where, "snapshot"))
    return auto, ignore, pull, snapshot


def remote_parser(
    defaults_check: Callable[[str, Any], Any] | None,
) -> Callable[[Path, str, Any], Remote]:
    """What the config loader parses each remote with, once, as it reads a file."""
    return lambda path, name, data: parse_remote(name, data, path, defaults_check)


def configured_remotes(config: Config) -> dict[str, Remote]:
    """Every remote, the built-in `local` first; a later file's remote replaces an earlier one."""
    defaults_check = config.schema.defaults if config.schema else None
    remotes = {LOCAL: builtin_local()}
    for layer in config.layers:
        for name, data in dict(layer.data.get("remotes", {})).items():
            parsed = layer.remotes.get(str(name))  # parsed when the file was read
            if not isinstance(parsed, Remote):  # a config read without the remotes schema
                parsed = parse_remote(str(name), data, layer.path, defaults_check)
            remotes[str(name)] = parsed
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
    close = close_matches(name, remotes)
    if close:
        hint = f"did you mean {' or '.join(close)}? known remotes: {', '.join(remotes)}"
    else:
        add = shlex.join(["qxub", "remote", "add", name, "ssh://USER@HOST"])
        hint = (
            f"known remotes: {', '.join(remotes)}. Add it with `{add}` (then"
            f" `qxub remote install {shlex.quote(name)}`), or under `remotes:` in"
            f" {config_home() / 'config.yaml'}"
        )
    raise QxubError(f"unknown remote {name!r}", hint=hint)
