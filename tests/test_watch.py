"""`qxub remote watch` over the real sshd: every save reaches the mirror within a second."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import children
from helpers import QXUB
from remotes import mirror
from sshd_server import SshServer

pytestmark = [pytest.mark.sshd, pytest.mark.both_transports]


class Watch:
    """A running `qxub remote watch` whose stderr lines are collected as they come."""

    def __init__(self, *args: str) -> None:
        self.proc = children.popen(
            [*QXUB, "remote", "watch", "R", *args],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for("watching for changes", timeout=30)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.05)
            except queue.Empty:
                assert self.proc.poll() is None, f"watch ended: {self.seen}"
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} within {timeout}s; saw {self.seen}")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=10)


@pytest.fixture
def watcher(remote: str) -> Iterator[Callable[..., Watch]]:
    started: list[Watch] = []

    def start(*args: str) -> Watch:
        started.append(Watch(*args))
        return started[-1]

    yield start
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait()


def eventually(check: Callable[[], bool], within: float = 15.0) -> float:
    """Poll `check` until true; return how long it took (fails after `within` seconds)."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        if check():
            return time.monotonic() - start
        time.sleep(0.01)
    raise AssertionError(f"not true within {within}s")


def reads(path: Path, text: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return path.read_text() == text
        except OSError:
            return False

    return check


def gone(path: Path) -> Callable[[], bool]:
    return lambda: not os.path.lexists(path)


def test_edits_arrive_within_a_second_even_same_size_same_second(
    watcher: Callable[..., Watch], remote_home: Path
) -> None:
    root = Path.cwd()
    (root / "x.py").write_text("v0")
    w = watcher()
    eventually(reads(mirror(remote_home) / "x.py", "v0"))
    for i in range(1, 6):
        (root / "x.py").write_text(f"v{i}")  # same size, several within one second
        eventually(reads(mirror(remote_home) / "x.py", f"v{i}"))
    (root / "x.py").write_text("aa")
    (root / "x.py").write_text("bb")
    eventually(reads(mirror(remote_home) / "x.py", "bb"))
    assert w.stop() == 0


@pytest.mark.weird_paths
def test_create_delete_rename_and_folder_move(
    watcher: Callable[..., Watch], remote_home: Path
) -> None:
    root = Path.cwd()
    (root / "pkg").mkdir()
    (root / "pkg" / "a.py").write_text("a")
    watcher("-v")
    there = mirror(remote_home)
    eventually(reads(there / "pkg" / "a.py", "a"))
    (there / "results").mkdir()
    (there / "results" / "out.txt").write_text("job output")
    (root / "new.py").write_text("n")
    eventually(reads(there / "new.py", "n"))
    (root / "new.py").rename(root / "renamed.py")
    eventually(lambda: reads(there / "renamed.py", "n")() and gone(there / "new.py")())
    (root / "pkg").rename(root / "lib")
    eventually(lambda: reads(there / "lib" / "a.py", "a")() and gone(there / "pkg")())
    (root / "renamed.py").unlink()
    eventually(gone(there / "renamed.py"))
    assert (there / "results" / "out.txt").read_text() == "job output"


def test_ignored_files_never_go_until_reincluded(
    watcher: Callable[..., Watch], remote_home: Path
) -> None:
    root = Path.cwd()
    (root / ".qxubignore").write_text("secret.txt\n")
    watcher()
    (root / "secret.txt").write_text("s")
    (root / "public.txt").write_text("p")
    eventually(reads(mirror(remote_home) / "public.txt", "p"))
    time.sleep(0.3)
    assert not (mirror(remote_home) / "secret.txt").exists()
    (root / ".qxubignore").write_text("secret.txt\n!secret.txt\n")
    eventually(reads(mirror(remote_home) / "secret.txt", "s"))


def test_a_change_to_git_info_exclude_reloads_the_rules(
    watcher: Callable[..., Watch], remote_home: Path
) -> None:
    root = Path.cwd()
    children.run(["git", "init", "-q"], cwd=root, check=True)
    exclude = root / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    exclude.write_text("data/\n")
    (root / "data").mkdir()
    (root / "data" / "x.txt").write_text("v0")
    watcher()
    there = mirror(remote_home)
    (root / "seen.txt").write_text("s")
    eventually(reads(there / "seen.txt", "s"))
    assert not (there / "data").exists()
    exclude.write_text("# data/ is wanted now\n")
    eventually(reads(there / "data" / "x.txt", "v0"))
    # The watcher's own rules were re-read: an edit in data/ is an event worth a push.
    (root / "data" / "x.txt").write_text("v1")
    eventually(reads(there / "data" / "x.txt", "v1"))


def git(root: Path, *args: str) -> None:
    children.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def test_git_checkout_of_2000_files(watcher: Callable[..., Watch], remote_home: Path) -> None:
    root = Path.cwd()
    children.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    (root / ".gitignore").write_text("*.log\n")
    for i in range(2000):
        (root / f"m{i % 10}").mkdir(exist_ok=True)
        (root / f"m{i % 10}" / f"f{i}.py").write_text(f"main {i}\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "main")
    git(root, "checkout", "-q", "-b", "other")
    for i in range(2000):
        (root / f"m{i % 10}" / f"f{i}.py").write_text(f"other branch {i}\n")
    (root / "only-on-other.py").write_text("o")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "other")
    git(root, "checkout", "-q", "main")
    w = watcher()
    there = mirror(remote_home)
    (there / "results").mkdir()
    (there / "results" / "a.txt").write_text("job output")
    (root / "run.log").write_text("ignored")
    before = len(w.seen)
    git(root, "checkout", "-q", "other")

    def equal() -> bool:
        return (
            all(
                reads(there / f"m{i % 10}" / f"f{i}.py", f"other branch {i}\n")()
                for i in range(2000)
            )
            and (there / "only-on-other.py").exists()
        )

    eventually(equal, within=20)
    git(root, "checkout", "-q", "main")
    eventually(
        lambda: reads(there / "m3" / "f3.py", "main 3\n")() and gone(there / "only-on-other.py")(),
        within=20,
    )
    assert (there / "results" / "a.txt").read_text() == "job output"
    assert not (there / "run.log").exists()
    rounds = [line for line in w.seen[before:] if " sent " in line or "deleted" in line]
    assert len(rounds) <= 10, rounds


def test_connection_drop_and_return(
    watcher: Callable[..., Watch], remote_home: Path, sshd: SshServer
) -> None:
    root = Path.cwd()
    w = watcher()
    try:
        sshd.stop()
        (root / "during.py").write_text("written while the server was down")
        w.wait_for("retrying", timeout=10)
        time.sleep(5)
    finally:
        if not sshd.running:
            sshd.start()
    w.wait_for("is back", timeout=20)
    eventually(reads(mirror(remote_home) / "during.py", "written while the server was down"))
    assert w.stop() == 0


def test_ctrl_c_mid_round_leaves_no_partial_file(
    watcher: Callable[..., Watch], remote_home: Path, tmp_path: Path
) -> None:
    root = Path.cwd()
    w = watcher()
    # Written whole outside the project, then renamed in: the watch sees one complete file.
    big = tmp_path / "big.bin"
    with open(big, "wb") as handle:
        for _ in range(64):
            handle.write(os.urandom(4 * 1024 * 1024))
    big.rename(root / "big.bin")
    there = mirror(remote_home)

    def sending() -> bool:
        # The round has begun writing it there (under a temporary name), or is done.
        return any("big.bin" in p.name for p in there.iterdir())

    eventually(sending, within=30)
    assert w.stop() == 0
    leftovers = [p.name for p in there.iterdir() if "big.bin" in p.name]
    # Either the whole file arrived before the stop, or nothing of it did.
    if leftovers:
        assert leftovers == ["big.bin"]
        assert (there / "big.bin").stat().st_size == 256 * 1024 * 1024


def test_exec_sync_during_a_watch_does_not_race(
    watcher: Callable[..., Watch], remote_home: Path
) -> None:
    from helpers import qxub

    root = Path.cwd()
    watcher()
    for i in range(5):
        (root / "data.txt").write_text(f"version {i}\n")
        result = qxub("exec", "--remote", "R", "--sync", "--", "cat", "data.txt")
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"version {i}\n"


def test_a_pulled_log_is_not_pushed_back_over_the_job_s_later_writes(
    watcher: Callable[..., Watch], remote_home: Path
) -> None:
    root = Path.cwd()
    (root / "run.py").write_text("r")
    w = watcher()
    eventually(reads(mirror(remote_home) / "run.py", "r"))
    log = mirror(remote_home) / "job.log"
    log.write_text("step 1\n")
    pulled = children.run(
        [*QXUB, "remote", "pull", "R", "job.log"], capture_output=True, text=True, check=False
    )
    assert pulled.returncode == 0, pulled.stderr
    time.sleep(0.5)  # the watch sees the pull's write and pushes what it decides to
    with log.open("a") as out:
        out.write("step 2\n")  # the job goes on writing
    (root / "run.py").write_text("r2")  # a round of the watch after it
    eventually(reads(mirror(remote_home) / "run.py", "r2"), within=5)
    time.sleep(0.3)
    assert log.read_text() == "step 1\nstep 2\n"
    assert w.proc.poll() is None


def test_a_job_running_in_the_mirror_is_named_once(
    watcher: Callable[..., Watch], remote_home: Path, tmp_path: Path
) -> None:
    from helpers import qxub

    root = Path.cwd()
    (root / "code.txt").write_text("v0\n")
    w = watcher()
    gate = tmp_path / "gate"
    wait = f"while [ ! -e '{gate}' ]; do sleep 0.05; done; cat code.txt"
    submitted = qxub("exec", "--remote", "R", "--terse", "--", "sh", "-c", wait)
    assert submitted.returncode == 0, submitted.stderr
    job = submitted.stdout.strip()
    for i in (1, 2, 3):
        (root / "code.txt").write_text(f"v{i}\n")
        w.wait_for("sent 1 file")
        if i == 1:
            named = w.wait_for("in this mirror")
            assert f"job {job} on R runs in this mirror" in named
    assert sum("in this mirror" in line for line in w.seen) == 1, w.seen
    gate.touch()
    waited = qxub("wait", "--remote", "R", job)
    assert (waited.returncode, waited.stdout) == (0, "v3\n"), waited.stderr
