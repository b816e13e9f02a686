"""Layered configuration: system < user < project < --config FILE (< command line, in the CLI).

Each file is YAML. Mappings merge key by key across layers; any other value replaces the one
below it. Every file is validated when loaded: a malformed file, an unknown key or a wrong type
is a ConfigError naming the file, the key and what is valid.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from qxub.errors import ConfigError
from qxub.project import find_project_root
from qxub.record import field, record
from qxub.schema import Reader, load_yaml
from qxub.state import config_dirs, config_home

TYPE_CHECKING = False  # as typing's, without importing typing
if TYPE_CHECKING:
    from typing import Any

    # Checks the value of `defaults.<name>`; returns the value to use or raises ValueError
    # with a message saying what is valid. The CLI builds it from the exec command's options.
    DefaultsValidator = Callable[[str, Any], Any]
    # Parses one remote's settings (file, name, data) into a Remote, or raises ConfigError
    # naming file and key. It lives in qxub.remote.config, above this module.
    RemoteParser = Callable[[Path, str, Any], Any]

PROJECT_FILE = ".qxub.yaml"
USER_LAYERS = ("system", "user")  # the layers that may set jobs_dir


@record(frozen=True)
class Schema:
    """The checks that need knowledge from above this module (exec options, remotes)."""

    defaults: DefaultsValidator | None = None
    remotes: RemoteParser | None = None


@record(frozen=True)
class Layer:
    name: str  # system, user, project or file (--config); "target" when set_value checks
    path: Path
    data: Mapping[str, Any]  # as written in the file (defaults converted to their types)
    remotes: Mapping[str, Any] = field(default_factory=dict)  # parsed with the schema, by name


# The schema: top-level keys and what each is for.
TOP_LEVEL_KEYS = {
    "defaults": "default values for `qxub exec` options, e.g. `mem: 16GB`",
    "remotes": "machines to run jobs on with --remote, by name",
    "default_remote": "the remote `qxub remote ...` commands use when none is named",
    "remote_path": "where this project's mirror lives on remotes: a path relative to the "
    "remote's working_dir, or absolute",
    "jobs_dir": "where job records and logs are kept (default ~/.local/state/qxub/jobs); "
    "an absolute path, ~ and $VARIABLES allowed",
}


def _check_defaults(r: Reader, value: Any, validator: DefaultsValidator | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        r.fail(
            "defaults",
            "must be a mapping of exec option names to values",
            hint="write e.g.\ndefaults:\n  mem: 16GB\n  cpus: 4",
        )
    checked: dict[str, Any] = {}
    for key, item in value.items():
        if validator is None:
            checked[str(key)] = item
            continue
        try:
            checked[str(key)] = validator(str(key), item)
        except ValueError as exc:
            r.fail(f"defaults.{key}", str(exc))
    return checked


def check_jobs_dir(r: Reader, where: str, value: Any, remote: bool = False) -> str:
    """A `jobs_dir:` value: a path that is absolute once `~` (and, on a remote, `{{home}}`)
    is expanded."""
    example = (
        "e.g. jobs_dir: /scratch/a56/{{user}}/qxub-jobs" if remote else "e.g. jobs_dir: ~/jobs"
    )
    if not isinstance(value, str) or not value.strip() or "\n" in value:
        r.fail(where, "must be a path", hint=example)
    if not value.startswith(("/", "~", "$", "{{home}}" if remote else "/")):
        r.fail(where, f"{value!r} is not an absolute path", hint=example)
    return value


def parse_layer(name: str, path: Path, text: str, schema: Schema | None = None) -> Layer:
    """Parse and validate one config file's text; its remotes are parsed once, here."""
    r = Reader(str(path))
    data = load_yaml(text, str(path))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        r.fail(
            "",
            f"the top level must be a mapping, not {type(data).__name__}",
            hint=f"valid keys: {', '.join(TOP_LEVEL_KEYS)}",
        )
    checked: dict[str, Any] = {}
    remotes: dict[str, Any] = {}
    for key, value in r.mapping(data, "", TOP_LEVEL_KEYS).items():
        if key == "defaults":
            checked[key] = _check_defaults(r, value, schema.defaults if schema else None)
        elif key == "remotes":
            if not isinstance(value, dict):
                r.fail(
                    key,
                    "must be a mapping of remote names to settings",
                    hint="write e.g.\nremotes:\n  gadi:\n    url: ssh://gadi.nci.org.au",
                )
            if schema and schema.remotes:
                remotes = {str(n): schema.remotes(path, str(n), d) for n, d in value.items()}
            checked[key] = value
        elif key == "remote_path":
            if not isinstance(value, str) or not value.strip() or "\n" in value:
                r.fail(key, "must be a path", hint="e.g. remote_path: analysis-v2")
            checked[key] = value
        elif key == "jobs_dir":
            if name not in USER_LAYERS:
                # Job records are the user's: `qxub status` must find them from any folder.
                r.fail(
                    key,
                    "is a setting of the user, not of a project or --config file",
                    hint=f"set it in {config_home() / 'config.yaml'}",
                )
            checked[key] = check_jobs_dir(r, key, value)
        elif key == "default_remote":
            if not isinstance(value, str) or not value:
                r.fail(key, "must be the name of a remote", hint="e.g. gadi")
            checked[key] = value
    return Layer(name, path, checked, remotes)


def load_layer(name: str, path: Path, schema: Schema | None = None) -> Layer | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read: {exc.strerror}",
            hint="check the file's permissions, or move it away",
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start} is {raw[exc.start : exc.start + 1]!r})",
            hint="save the file as UTF-8",
        ) from None
    return parse_layer(name, path, text, schema)


def layer_paths(cwd: Path, explicit: Path | None = None) -> list[tuple[str, Path]]:
    """Every config file qxub would read, lowest precedence first."""
    paths = [("system", d / "config.yaml") for d in reversed(config_dirs())]
    paths.append(("user", config_home() / "config.yaml"))
    paths.append(("project", find_project_root(cwd) / PROJECT_FILE))
    if explicit is not None:
        paths.append(("file", explicit))
    return paths


def user_jobs_dir() -> str | None:
    """`jobs_dir:` from the system and user files only (where it may be set), read without
    the project's: for the commands that look for jobs from any folder."""
    found = None
    for name, path in layer_paths(Path.cwd()):
        if name in USER_LAYERS:
            layer = load_layer(name, path)
            if layer is not None and "jobs_dir" in layer.data:
                found = str(layer.data["jobs_dir"])
    return found


@record(frozen=True)
class Config:
    layers: tuple[Layer, ...]
    schema: Schema | None = None  # what the layers were checked with

    def lookup(self, key: str) -> tuple[Any, Layer] | None:
        """The winning value of a dotted key and the layer it came from."""
        found: tuple[Any, Layer] | None = None
        for layer in self.layers:
            value: Any = layer.data
            for part in key.split("."):
                if not isinstance(value, Mapping) or part not in value:
                    break
                value = value[part]
            else:
                if isinstance(value, Mapping) and found and isinstance(found[0], Mapping):
                    found = ({**found[0], **value}, layer)
                else:
                    found = (value, layer)
        return found

    def items(self) -> Iterator[tuple[str, Any, Layer]]:
        """Every leaf value that wins, with the layer it came from, sorted by key."""
        winners: dict[str, tuple[Any, Layer]] = {}
        for layer in self.layers:
            for key, value in _leaves(layer.data):
                winners[key] = (value, layer)
        for key in sorted(winners):
            yield key, winners[key][0], winners[key][1]

    def defaults(self) -> dict[str, tuple[Any, Layer]]:
        """Exec option defaults with the layer each came from."""
        result: dict[str, tuple[Any, Layer]] = {}
        for layer in self.layers:
            for name, value in dict(layer.data.get("defaults", {})).items():
                result[name] = (value, layer)
        return result


def _leaves(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        if isinstance(value, Mapping) and value:
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def load_config(cwd: Path, explicit: Path | None = None, schema: Schema | None = None) -> Config:
    """Read every layer that exists."""
    if explicit is not None and not explicit.is_file():
        raise ConfigError(
            f"--config {explicit}: no such file",
            hint="give the path of an existing YAML file",
        )
    layers = []
    for name, path in layer_paths(cwd, explicit):
        layer = load_layer(name, path, schema)
        if layer is not None:
            layers.append(layer)
    return Config(tuple(layers), schema)


def _read_for_edit(path: Path, schema: Schema | None) -> str:
    text = path.read_text() if path.exists() else ""
    if text.strip():
        load_layer("target", path, schema)  # a file that does not load is not edited
    return text


def _write_checked(path: Path, text: str, schema: Schema | None) -> None:
    parse_layer("target", path, text, schema)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def set_value(path: Path, key: str, value: Any, schema: Schema | None) -> None:
    """Set a dotted key in one file, keeping its other lines and comments; validate before
    writing."""
    from qxub.config_edit import set_in_text

    text = _read_for_edit(path, schema)
    _write_checked(path, set_in_text(text, key, value, str(path)), schema)


def unset_value(path: Path, key: str, schema: Schema | None) -> bool:
    """Remove a dotted key from one file (False when it is not there); validate first."""
    from qxub.config_edit import unset_in_text

    if not path.exists():
        return False
    new = unset_in_text(_read_for_edit(path, schema), key, str(path))
    if new is None:
        return False
    _write_checked(path, new, schema)
    return True
