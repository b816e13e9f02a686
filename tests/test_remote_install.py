"""First contact with a fresh remote: a new account on the real sshd, with an empty home and
one Python that has neither click nor PyYAML, and no package index reachable from there.
`qxub remote add` + `qxub remote install` + `qxub exec --remote --sync` must just work."""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from qxub import __version__

from children import run
from helpers import qxub
from sshd_server import FreshUser, SshServer, missing_tools


@dataclass
class Fresh:
    user: FreshUser
    server: SshServer
    python: Path  # the only Python on the account's PATH

    def ssh(self, command: str) -> tuple[int, str]:
        argv = ["ssh", "-F", str(self.server.ssh_config), "-p", str(self.server.port)]
        result = run(
            [*argv, f"{self.user.name}@127.0.0.1", command],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return result.returncode, result.stdout + result.stderr


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, control_dir: Path) -> Iterator[Fresh]:
    assert not missing_tools()
    user = FreshUser()
    server: SshServer | None = None
    try:
        python_home = user.base / "python"
        run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(python_home)], check=True)
        root = user.base / "sshd"
        server = SshServer(root, user=user.name)
        root.chmod(0o755)
        server.authorized_keys.chmod(0o644)  # read as the account, not as root
        server.set_env(
            {
                "PATH": f"{python_home}/bin:/usr/bin:/bin",
                "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
                "PIP_NO_INDEX": "1",
            }
        )
        server.start()
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(control_dir))
        yield Fresh(user, server, python_home / "bin" / "python3")
    finally:
        if server is not None:
            server.stop()
        user.remove()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    (root / "run.py").write_text("import sys\nprint('hello from', sys.version_info[:2])\n")
    monkeypatch.chdir(root)
    return root


def _config() -> dict[str, object]:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "qxub" / "config.yaml"
    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


def _add(fresh: Fresh, *extra: str) -> str:
    url = f"ssh://{fresh.user.name}@127.0.0.1:{fresh.server.port}"
    result = qxub("remote", "add", "R", url, "--ssh-config", str(fresh.server.ssh_config), *extra)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_first_contact_add_install_exec(fresh: Fresh, project: Path) -> None:
    code, said = fresh.ssh("python3 -c 'import click' || python3 -c 'import yaml' || echo bare")
    assert "bare" in said and "No module named" in said  # neither is there
    assert fresh.ssh("ls -A ~")[1].strip() == ""  # an empty home
    checks = _add(fresh)
    assert "FAIL  qxub there" in checks and "fix: qxub remote install R" in checks
    assert "ok    login" in checks

    result = qxub("remote", "install", "R", timeout=180)
    assert result.returncode == 0, result.stderr
    command = _config()["remotes"]["R"]["qxub_command"]  # type: ignore[index]
    venv = f"{fresh.user.home}/.local/share/qxub/qxub-{__version__}"
    assert command == f"{venv}/bin/qxub"
    assert f"installed qxub {__version__} on R" in result.stderr
    assert str(fresh.python) in result.stderr  # the Python it found on PATH
    # Its venv sees no system site-packages: click and yaml come from the wheels sent.
    code, said = fresh.ssh(f"{venv}/bin/python -c 'import click, yaml; print(yaml.__file__)'")
    assert code == 0 and said.startswith(venv), said

    again = qxub("remote", "install", "R", timeout=60)
    assert again.returncode == 0 and "installed on R already" in again.stderr

    ran = qxub("exec", "--remote", "R", "--sync", "--", "python3", "run.py", timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert "hello from" in ran.stdout
    test = qxub("remote", "test", "R", timeout=60)
    assert test.returncode == 0 and f"version {__version__} (here: {__version__})" in test.stdout


def test_older_remote_qxub_stops_exec_until_installed(fresh: Fresh, project: Path) -> None:
    _add(fresh, "--no-test")
    old_prefix = f"{fresh.user.home}/old"
    made = qxub("remote", "install", "R", "--prefix", old_prefix, timeout=180)
    assert made.returncode == 0, made.stderr
    # Make that qxub an older one, as an install by an earlier qxub would have left.
    init = Path(old_prefix, f"qxub-{__version__}", "lib")
    [version_file] = init.glob("python3*/site-packages/qxub/__init__.py")
    version_file.write_text(version_file.read_text().replace(__version__, "0.0.9"))
    # Same size, same second: the .pyc the install check wrote would still be taken.
    for compiled in (version_file.parent / "__pycache__").glob("__init__.*"):
        compiled.unlink()
    marker = project / "ran"
    (project / "run.py").write_text("open('ran', 'w').write('yes')\n")

    stopped = qxub("exec", "--remote", "R", "--sync", "--", "python3", "run.py", timeout=120)
    assert stopped.returncode != 0
    said = stopped.stderr
    assert "0.0.9" in said and __version__ in said and "qxub remote install R" in said
    assert "nothing was submitted" in said
    ran_there = fresh.ssh("ls ~/qxub/proj/ran")[0] == 0
    assert not ran_there
    test = qxub("remote", "test", "R", timeout=60)
    assert test.returncode == 1 and "version 0.0.9" in test.stdout

    installed = qxub("remote", "install", "R", timeout=180)
    assert installed.returncode == 0, installed.stderr
    ran = qxub("exec", "--remote", "R", "--", "python3", "run.py", timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert fresh.ssh("cat ~/qxub/proj/ran")[1].strip() == "yes"
    assert not marker.exists()


def test_auto_install_on_first_exec(fresh: Fresh, project: Path) -> None:
    """Over paramiko and SFTP: install needs nothing but running scripts."""
    _add(fresh, "--auto-install", "--no-test", "--transport", "paramiko", "--sync-engine", "sftp")
    ran = qxub("exec", "--remote", "R", "--sync", "--", "python3", "run.py", timeout=240)
    assert ran.returncode == 0, ran.stderr
    assert "hello from" in ran.stdout
    assert f"installing qxub {__version__} on R" in ran.stderr
    assert "qxub_command" in str(_config()["remotes"])


def test_install_names_what_it_tried_without_a_python(fresh: Fresh, project: Path) -> None:
    _add(fresh, "--no-test")
    missing = "/nowhere/python3"
    result = qxub("remote", "install", "R", "--python", missing, timeout=60)
    assert result.returncode == 1
    assert f"{missing} is not a Python >= 3.10" in result.stderr
    assert f"tried:\n  {missing}: not found" in result.stderr.replace("qxub: error: ", "")
    assert "--python PATH" in result.stderr
    # The Python it names exists but is no use: a shell script that says it is 3.8.
    old = fresh.user.home / "py38"
    old.write_text("#!/bin/sh\necho 'too old: 3.8.0 /x/python3.8'\n")
    old.chmod(0o755)
    result = qxub("remote", "install", "R", "--python", str(old), timeout=60)
    assert result.returncode == 1 and "too old: 3.8.0" in result.stderr
    assert shlex.quote(str(old)) in result.stderr or str(old) in result.stderr


def test_install_finds_python_in_modules(tmp_path: Path, project: Path, control_dir: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """As on Gadi: the python3 on PATH is too old, and `module load python3/3.11.2` gives a
    good one (found with `module avail`, newest first: 3.12.0 is broken, 3.9.0 too old)."""
    user = FreshUser()
    server: SshServer | None = None
    try:
        old = user.base / "old" / "bin"
        old.mkdir(parents=True)
        for name in ("python3", "python"):
            (old / name).write_text("#!/bin/sh\necho 'too old: 3.6.8 /usr/bin/python3'\n")
            (old / name).chmod(0o755)
        good = user.base / "py311"
        run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(good)], check=True)
        modules = user.base / "modulefiles" / "python3"
        modules.mkdir(parents=True)
        (modules / "3.11.2").write_text(f"#%Module1.0\nprepend-path PATH {good}/bin\n")
        (modules / "3.12.0").write_text("#%Module1.0\nerror {broken module}\n")
        (modules / "3.9.0").write_text(f"#%Module1.0\nprepend-path PATH {old}\n")
        root = user.base / "sshd"
        server = SshServer(root, user=user.name)
        root.chmod(0o755)
        server.authorized_keys.chmod(0o644)
        server.set_env(
            {
                "PATH": f"{old}:/usr/bin:/bin",
                "MODULESHOME": "/usr/share/modules",
                "MODULEPATH": str(modules.parent),
            }
        )
        server.start()
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(control_dir))
        url = f"ssh://{user.name}@127.0.0.1:{server.port}"
        added = qxub("remote", "add", "R", url, "--ssh-config", str(server.ssh_config), "--no-test")
        assert added.returncode == 0, added.stderr
        result = qxub("remote", "install", "R", timeout=180)
        assert result.returncode == 0, result.stderr
        assert f"{good}/bin/python3 (module python3/3.11.2)" in result.stderr
        # The job's own python3 is the old one on PATH; qxub's runs from its venv.
        ran = qxub("exec", "--remote", "R", "--sync", "--", "python3", "run.py", timeout=120)
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout == "too old: 3.6.8 /usr/bin/python3\n"
    finally:
        if server is not None:
            server.stop()
        user.remove()
