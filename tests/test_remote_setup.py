"""Setting a remote up from the command line: `qxub remote add|remove`, `qxub config unset`,
comment-keeping edits, `remote test` on working dirs, completion, and pasteable hints."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from qxub.config_edit import set_in_text, unset_in_text

from children import run
from helpers import qxub
from remotes import remote_settings, write_config
from sshd_server import SshServer

ROOT = Path(__file__).resolve().parent.parent

COMMENTED = """\
# my clusters
defaults:
  mem: 4GB   # enough for most

remotes:
  # the big one
  gadi:
    url: ssh://gadi   # an alias of ~/.ssh/config
    working_dir: /scratch/a56/{{user}}/qxub

default_remote: gadi  # used when none is named
"""


def user_file() -> Path:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "qxub" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_edits_keep_comments_and_order() -> None:
    text = set_in_text(COMMENTED, "remotes.new", {"url": "ssh://x", "working_dir": "/w"})
    assert text.startswith(COMMENTED.split("\n\ndefault_remote")[0])
    assert "  new:\n    url: ssh://x\n    working_dir: /w\n" in text
    assert text.endswith("default_remote: gadi  # used when none is named\n")
    changed = set_in_text(COMMENTED, "remotes.gadi.url", "ssh://other")
    assert changed == COMMENTED.replace("ssh://gadi   # an alias of ~/.ssh/config", "ssh://other")
    assert unset_in_text(COMMENTED, "defaults.mem") == COMMENTED.replace(
        "defaults:\n  mem: 4GB   # enough for most\n", ""
    )
    assert unset_in_text(COMMENTED, "remotes.nothere") is None
    flow = set_in_text("remotes: {a: {url: ssh://x}}\n# kept\n", "remotes.a.platform", "p")
    assert yaml.safe_load(flow) == {"remotes": {"a": {"url": "ssh://x", "platform": "p"}}}
    assert "# kept" in flow
    assert yaml.safe_load(set_in_text("remotes:\n", "remotes.b.url", "ssh://y")) == {
        "remotes": {"b": {"url": "ssh://y"}}
    }


def test_remote_add_and_remove_keep_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    user_file().write_text(COMMENTED)
    added = qxub(
        "remote", "add", "other", "ssh://me@example.invalid:2222", "--working-dir", "/w/{{user}}",
        "--sync-url", "ssh://dm.example.invalid", "--sync", "--sync-pull", "out/",
        "--default", "mem=8GB", "--control-persist", "8h", "--auto-install", "--no-test",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    text = user_file().read_text()
    assert text.startswith(COMMENTED.split("\n\ndefault_remote")[0])  # comments all kept
    assert "default_remote: gadi  # used when none is named" in text
    show = qxub("remote", "show", "other").stdout
    for expected in ("ssh://dm.example.invalid", "sync.auto       True", "sync.pull       out/",
                     "control_persist 8h", "auto_install    True", "mem=8GB"):  # fmt: skip
        assert expected in show, show
    again = qxub("remote", "add", "other", "ssh://x", "--no-test")
    assert again.returncode == 1 and "already exists" in again.stderr
    bad = qxub("remote", "add", "x", "http://nope", "--no-test")
    assert bad.returncode == 1 and "not an ssh url" in bad.stderr
    assert user_file().read_text() == text  # refused: nothing written
    removed = qxub("remote", "remove", "other")
    assert removed.returncode == 0, removed.stderr
    assert user_file().read_text() == COMMENTED
    assert qxub("remote", "remove", "other").returncode == 1


def test_config_unset_and_list_as_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    user_file().write_text(COMMENTED + "  \n")
    listed = qxub("config", "list").stdout
    assert re.search(r"^defaults\.mem: 4GB +# ", listed, re.M), listed
    assert qxub("config", "unset", "defaults.mem").returncode == 0
    assert "mem" not in user_file().read_text() and "# my clusters" in user_file().read_text()
    missing = qxub("config", "unset", "defaults.mem")
    assert missing.returncode == 1 and "is not set" in missing.stderr


def test_docs_example_config_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "docs" / "config.md").read_text()
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    user_file().write_text(example)
    monkeypatch.chdir(tmp_path)
    result = qxub("exec", "--dry", "--", "true")
    assert result.returncode == 0, result.stderr


def test_qx_version() -> None:
    from qxub import __version__

    result = run([Path(sys.executable).parent / "qx", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and __version__ in result.stdout


def test_working_dir_checks(
    sshd: SshServer,
    remote_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    control_dir: Path,
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(control_dir))
    monkeypatch.chdir(tmp_path)
    blocker = remote_home / "afile"
    blocker.write_text("not a folder")
    write_config(
        {
            "F": remote_settings(sshd, remote_home, working_dir=str(blocker / "sub" / "qxub")),
            "V": remote_settings(sshd, remote_home, working_dir=f"{remote_home}/$USER/qxub"),
            "C": remote_settings(sshd, remote_home, working_dir=f"{remote_home}/new/qxub"),
        }
    )
    under_file = qxub("remote", "test", "F", timeout=120)
    assert under_file.returncode == 1
    assert f"{blocker} is a file, not a folder" in under_file.stdout
    assert "fix: choose another working_dir of F" in under_file.stdout
    variable = qxub("remote", "test", "V", timeout=120)
    assert "warn  working dir" in variable.stdout and "literally named $USER" in variable.stdout
    assert f"{remote_home}/{{{{user}}}}/qxub" in variable.stdout
    creatable = qxub("remote", "test", "C", timeout=120)
    assert creatable.returncode == 0, creatable.stdout
    assert f"{remote_home}/new can be created in {remote_home}" in creatable.stdout


def test_bash_completes_remote_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    user_file().write_text("remotes:\n  gadi:\n    url: ssh://gadi\n  setonix:\n    url: ssh://s\n")
    qxub_bin = Path(sys.executable).parent
    script = """
        eval "$(qxub completion bash)"
        complete -p qxub
        COMP_WORDS=(qxub exec --remote g); COMP_CWORD=3; _qxub_completion qxub
        echo "remote: ${COMPREPLY[*]}"; COMPREPLY=()
        COMP_WORDS=(qxub remote install ""); COMP_CWORD=3; _qxub_completion qxub
        echo "install: ${COMPREPLY[*]}"; COMPREPLY=()
        COMP_WORDS=(qxub exec --platform nci_gadi --queue copy); COMP_CWORD=5
        _qxub_completion qxub; echo "queue: ${COMPREPLY[*]}"
    """
    env = {**os.environ, "PATH": f"{qxub_bin}:{os.environ['PATH']}"}
    result = run(["bash", "--norc", "-c", script], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert "complete -o nosort -F _qxub_completion qxub" in result.stdout
    assert "remote: gadi\n" in result.stdout
    assert "install: gadi local setonix\n" in result.stdout
    assert "queue: copyq\n" in result.stdout


def test_hints_run_when_pasted(
    sshd: SshServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, control_dir: Path
) -> None:
    """The unknown-host-key hint names the ssh config with ~ (as a user writes it): pasted into
    bash it must reach the server, and the changed-key hint's ssh-keygen must remove the key."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(control_dir))
    monkeypatch.chdir(tmp_path)
    home = Path(os.environ["HOME"])
    (home / ".ssh").mkdir(exist_ok=True)
    known = home / ".ssh" / "known_hosts"
    sshd.write_client_config(home / ".ssh" / "qxub config", known_hosts=known)
    sshd.write_wrong_known_hosts(known)
    settings = {"url": sshd.url, "config": "~/.ssh/qxub config", "transport": "openssh"}
    write_config({"K": settings})
    failed = qxub("remote", "test", "K", timeout=60)
    assert failed.returncode == 1
    commands = re.findall(r"`([^`]+)`", failed.stdout)
    keygen = next(c for c in commands if c.startswith("ssh-keygen"))
    plain = next(c for c in commands if c.startswith("ssh "))
    assert "'~" not in plain and str(home) in plain
    pasted = run(["bash", "-c", keygen], capture_output=True, text=True, env={**os.environ})
    assert pasted.returncode == 0, pasted.stderr
    assert "impostor" not in known.read_text() and sshd.host not in known.read_text()
    # With the stale key gone, the pasted ssh reaches the server (accepting its key once).
    known.write_text(sshd.known_hosts_line(sshd.host_key))
    pasted = run(
        ["bash", "-c", f"{plain} true"], capture_output=True, text=True, timeout=30,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert pasted.returncode == 0, pasted.stderr
    assert qxub("remote", "test", "K", timeout=60).stdout.count("FAIL") <= 1  # only qxub there
    assert shlex.split(plain)[0] == "ssh"


def _on_terminal(command: str, answers: dict[str, str], timeout: float = 90) -> tuple[int, str]:
    """Run `command` with bash on a new pseudo-terminal (its controlling terminal, as a login
    would have), typing each answer once its prompt shows; return the exit code and output."""
    import fcntl
    import select
    import termios
    import time

    from children import popen

    master, slave = os.openpty()

    def take_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("SSH_AUTH_SOCK", None)
    proc = popen(
        ["bash", "--norc", "-c", command],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        preexec_fn=take_terminal,
        env=env,
    )
    os.close(slave)
    output = b""
    pending = dict(answers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 4096)
            except OSError:
                data = b""
            if not data and proc.poll() is not None:
                break
            output += data
        elif proc.poll() is not None:
            break
        for prompt, answer in list(pending.items()):
            if prompt.encode() in output:
                os.write(master, answer.encode() + b"\n")
                del pending[prompt]
    proc.wait(timeout=10)
    os.close(master)
    return proc.returncode, output.decode(errors="replace").replace("\r\n", "\n")


def test_login_on_a_terminal_then_batch_commands_ride_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, control_dir: Path
) -> None:
    """A key with a passphrase stands for a password or one-time code: ssh in BatchMode cannot
    ask for it, so on a terminal the hint is `qxub remote login R`; pasted, it lets ssh ask,
    and later commands ride that connection without asking."""
    from sshd_server import public_key

    server = SshServer(tmp_path / "sshd")
    key = tmp_path / "locked_key"
    key.unlink(missing_ok=True)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "sesame", "-f", str(key)], check=True)
    server.authorized_keys.write_text(public_key(key) + "\n")  # only the locked key logs in
    config = server.write_client_config(tmp_path / "ssh_config", identity_file=key)
    server.start()
    try:
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(control_dir))
        monkeypatch.chdir(tmp_path)
        settings = {"url": server.url, "config": str(config), "transport": "openssh"}
        write_config({"R": {**settings, "control_persist": "2m"}})
        code, said = _on_terminal(f"{shlex.join(sys.executable.split())} -m qxub remote test R", {})
        assert code == 1, said
        [hint] = re.findall(r"`(qxub remote login [^`]+)`", said)
        assert hint == "qxub remote login R"
        code, said = _on_terminal(hint, {"Enter passphrase": "sesame"})
        assert code == 0, said
        assert "logged in to R" in said and "for 2m after" in said
        logins = server.accepted_logins()
        later = qxub("remote", "test", "R", timeout=60)  # no terminal: BatchMode, on the master
        assert "ok    login" in later.stdout, later.stdout
        assert server.accepted_logins() == logins == 1
        not_terminal = qxub("remote", "login", "R")
        assert not_terminal.returncode != 0 and "needs a terminal" in not_terminal.stderr
    finally:
        server.stop()


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_complete_remote_names(
    shell: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    user_file().write_text("remotes:\n  gadi:\n    url: ssh://gadi\n")
    script = qxub("completion", shell)
    assert script.returncode == 0 and "_QXUB_COMPLETE" in script.stdout
    # What the script asks qxub for, as it does (the shell's side is click's own).
    env = {"_QXUB_COMPLETE": f"{shell}_complete", "COMP_WORDS": "qxub exec --remote g"}
    env["COMP_CWORD"] = "3" if shell == "zsh" else "g"
    answer = qxub(env=env)
    assert answer.returncode == 0 and "gadi" in answer.stdout and "local" not in answer.stdout


def test_control_persist_reaches_ssh_and_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qxub.cli.configured import cli_config
    from qxub.remote.config import find_remote
    from qxub.remote.openssh import OpenSshTransport
    from qxub.remote.reach import transport_for

    monkeypatch.chdir(tmp_path)
    user_file().write_text(
        "remotes:\n  a:\n    url: ssh://h\n    control_persist: 8h\n  b:\n    url: ssh://h\n"
    )
    for name, persist in (("a", "8h"), ("b", "10m")):
        transport = transport_for(find_remote(cli_config(), name))
        assert isinstance(transport, OpenSshTransport)
        assert f"ControlPersist={persist}" in transport.base_argv()
    user_file().write_text("remotes:\n  a:\n    url: ssh://h\n    control_persist: soon\n")
    bad = qxub("remote", "show", "a")
    assert bad.returncode == 1 and "'soon' is not a time" in bad.stderr and "8h" in bad.stderr
