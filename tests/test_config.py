"""Layered config: system < user < project < --config < command line, and `qxub config`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import assert_one_line_error, qxub


def user_file() -> Path:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "qxub" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def system_file() -> Path:
    path = Path(os.environ["XDG_CONFIG_DIRS"]) / "qxub" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "sub").mkdir(parents=True)
    (root / ".git").mkdir()
    return root


ECHO = ["--", "sh", "-c", 'echo "$WHO"']


def test_layers_in_order(project: Path, tmp_path: Path) -> None:
    system_file().write_text("defaults:\n  var: [WHO=system]\n")
    assert qxub("exec", *ECHO, cwd=project).stdout == "system\n"
    user_file().write_text("defaults:\n  var: [WHO=user]\n")
    assert qxub("exec", *ECHO, cwd=project).stdout == "user\n"
    (project / ".qxub.yaml").write_text("defaults:\n  var: WHO=project\n")
    # The project file is found from a sub-directory too.
    assert qxub("exec", *ECHO, cwd=project / "sub").stdout == "project\n"
    extra = tmp_path / "extra.yaml"
    extra.write_text("defaults:\n  var: [WHO=file]\n")
    assert qxub("exec", "--config", str(extra), *ECHO, cwd=project).stdout == "file\n"
    typed = qxub("exec", "--config", str(extra), "--var", "WHO=cli", *ECHO, cwd=project)
    assert typed.stdout == "cli\n"


def test_defaults_go_through_option_checks(project: Path) -> None:
    user_file().write_text("defaults:\n  mem: 16GB\n  cpus: 2\n  gpu-type: v100\n")
    result = qxub("config", "list", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "defaults.mem: 16GB " in result.stdout  # YAML, with the file as a comment
    assert str(user_file()) in result.stdout


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("defaults: [1, 2\n", ["not valid YAML", "line 2"]),
        (
            "default:\n  mem: 1GB\n",
            ["default: unknown key", "did you mean 'defaults'?", "valid keys: defaults"],
        ),
        ("defaults:\n  memm: 1GB\n", ["defaults.memm", "not an exec option", "mem"]),
        ("defaults:\n  mem: lots\n", ["defaults.mem", "cannot read"]),
        ("defaults:\n  cpus: many\n", ["defaults.cpus", "not a valid integer"]),
        # YAML's own types, where the option wants a word, a number or a flag
        ("defaults:\n  cpus: [1, 2]\n", ["defaults.cpus", "--cpus takes one value, not a list"]),
        ("defaults:\n  cpus: 1.5\n", ["defaults.cpus", "takes a whole number, not 1.5"]),
        ("defaults:\n  gpus: true\n", ["defaults.gpus", "takes a whole number, not true"]),
        ("defaults:\n  internet: 5\n", ["defaults.internet", "give true or false, not 5"]),
        ("defaults:\n  quiet: [x]\n", ["defaults.quiet", "takes one value, not a list"]),
        ("defaults:\n  mod: [[a]]\n", ["defaults.mod", "a word or a number, not a list"]),
        ("defaults:\n  env: {a: 1}\n", ["defaults.env", "a word or a number, not a mapping"]),
        ("defaults: 3\n", ["must be a mapping"]),
        ("- a\n- b\n", ["top level must be a mapping"]),
    ],
)
def test_bad_config_files_name_file_and_key(project: Path, text: str, words: list[str]) -> None:
    (project / ".qxub.yaml").write_text(text)
    result = qxub("exec", "--", "true", cwd=project)
    assert result.returncode == 1
    assert str(project / ".qxub.yaml") in result.stderr
    for word in words:
        assert word in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_config_file_option(project: Path) -> None:
    result = qxub("exec", "--config", "nope.yaml", "--", "true", cwd=project)
    assert_one_line_error(result)
    assert "nope.yaml" in result.stderr


def test_config_set_get_in_each_file(project: Path) -> None:
    assert qxub("config", "set", "defaults.mem", "8GB", cwd=project).returncode == 0
    assert user_file().read_text() == "defaults:\n  mem: 8GB\n"
    assert qxub("config", "set", "defaults.cpus", "4", "--project", cwd=project).returncode == 0
    assert "cpus: 4" in (project / ".qxub.yaml").read_text()
    assert (
        qxub("config", "set", "defaults.queue", "normal", "--system", cwd=project).returncode == 0
    )
    assert "queue: normal" in system_file().read_text()
    assert qxub("config", "get", "defaults.mem", cwd=project).stdout == "8GB\n"
    assert qxub("config", "get", "defaults.cpus", cwd=project).stdout == "4\n"
    # Setting keeps what else the file held.
    assert qxub("config", "set", "defaults.name", "run", cwd=project).returncode == 0
    assert "mem: 8GB" in user_file().read_text()


def test_config_set_refuses_bad_values_and_writes_nothing(project: Path) -> None:
    user_file().write_text("defaults:\n  mem: 8GB\n")
    result = qxub("config", "set", "defaults.mem", "lots", cwd=project)
    assert_one_line_error(result)
    assert qxub("config", "set", "nonsense", "1", cwd=project).returncode == 1
    assert user_file().read_text() == "defaults:\n  mem: 8GB\n"


def test_config_get_unset_and_files(project: Path) -> None:
    assert_one_line_error(qxub("config", "get", "defaults.mem", cwd=project))
    files = qxub("config", "files", cwd=project).stdout.splitlines()
    assert [line.split()[0] for line in files] == ["system", "user", "project"]
    assert files[2].endswith(str(project / ".qxub.yaml"))


def test_a_config_file_that_is_not_utf8_names_the_file(project: Path) -> None:
    user_file().write_bytes(b"defaults:\n  var: [WHO=\xe9t\xe9]\n")
    result = qxub("exec", "--", "true", cwd=project)
    assert_one_line_error(result)
    assert str(user_file()) in result.stderr and "UTF-8" in result.stderr


@pytest.mark.parametrize(
    ("name", "url", "words"),
    [
        ("a/b", "ssh://host", ["'a/b' is not a valid remote name"]),
        ("..", "ssh://host", ["'..' is not a valid remote name"]),
        ("ok", "ssh://ho;st", ["remotes.ok.url", "host"]),
        ("ok", "ssh://-oProxyCommand=x", ["remotes.ok.url"]),
        ("ok", "ssh://$(touch%20x)@host", ["remotes.ok.url"]),
    ],
)
def test_remote_names_and_url_hosts_are_checked_when_read(
    project: Path, name: str, url: str, words: list[str]
) -> None:
    user_file().write_text(f"remotes:\n  {name!r}:\n    url: {url!r}\n")
    result = qxub("remote", "push", "ok", cwd=project)
    assert_one_line_error(result)
    assert str(user_file()) in result.stderr
    for word in words:
        assert word in result.stderr
    assert not (project / "x").exists()


def test_a_changed_config_file_is_read_anew_not_from_the_cache(tmp_path: Path) -> None:
    """qxub.yaml_cache keeps what a text parsed to: a file edited since is parsed again."""
    from qxub.schema import load_yaml

    for text, value in (("a: 1\n", 1), ("a: 2\n", 2), ("a: 1\n", 1), ("a: [x]\n", ["x"])):
        assert load_yaml(text, str(tmp_path / "c.yaml")) == {"a": value}
        first = load_yaml(text, str(tmp_path / "c.yaml"))
        first["a"] = "changed by a caller"
        assert load_yaml(text, str(tmp_path / "c.yaml")) == {"a": value}
    assert load_yaml("d: 2001-01-01\n", "dates") == load_yaml("d: 2001-01-01\n", "dates")
