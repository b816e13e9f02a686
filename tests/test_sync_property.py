"""A property test of the three-way rule over the real sshd, with both engine pairs: random
sequences of local edits, deletes and renames, folder/file swaps, job writes in the mirror,
pushes and pulls, checked against a model of what must never be lost:

- a job's write is never lost: until a pull brings it home (to the file, or beside it as
  NAME.from-R), the mirror still holds it;
- a local edit is never lost: the file here holds the user's last write until the user
  changes it again (no pull or push ever overwrites or deletes it).

The pushes and pulls are qxub's own functions, called in this process (a qxub process per
step would make the test minutes long); they run the same code as the commands."""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from qxub.cli.configured import cli_config
from qxub.mirroring.pull import pull
from qxub.mirroring.push import Pusher
from qxub.remote.config import find_remote

pytestmark = [pytest.mark.sshd, pytest.mark.both_transports]

NAMES = ["a.txt", "b.txt", "d/c.txt", "d/e.txt", "d"]
_counter = itertools.count()
_clock = itertools.count(1_900_000_000, 7)  # job writes: each a second of its own, later


def _read(path: Path) -> str | None:
    try:
        return path.read_text() if path.is_file() and not path.is_symlink() else None
    except OSError:
        return None


class Sync(RuleBasedStateMachine):
    base: Path

    def __init__(self) -> None:
        super().__init__()
        n = next(_counter)
        self.root = self.base / f"p{n}"
        (self.root / ".git").mkdir(parents=True)
        self.remote = find_remote(cli_config(), "R")
        self.remote_path = f"prop-{n}"
        self.mirror: Path | None = None
        self.local_edits: dict[str, str] = {}  # path -> the user's last write there
        self.pending_job: dict[str, str] = {}  # path -> a job's write not yet brought home

    # --- the user, here ----------------------------------------------------------------------
    @rule(name=st.sampled_from(NAMES))
    def edit_here(self, name: str) -> None:
        path = self.root / name
        if _blocks(self.root, name) or path.is_dir():
            return
        text = f"local {next(_counter)} {name}\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.local_edits[name] = text

    @rule(name=st.sampled_from(NAMES))
    def delete_here(self, name: str) -> None:
        path = self.root / name
        if path.is_dir():
            shutil.rmtree(path)
            for key in [k for k in self.local_edits if k == name or k.startswith(name + "/")]:
                del self.local_edits[key]
        elif path.exists():
            path.unlink()
            self.local_edits.pop(name, None)

    @rule(src=st.sampled_from(NAMES[:4]), dst=st.sampled_from(NAMES[:4]))
    def rename_here(self, src: str, dst: str) -> None:
        source, target = self.root / src, self.root / dst
        if src == dst or not source.is_file() or _blocks(self.root, dst) or target.is_dir():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        text = target.read_text()
        self.local_edits.pop(src, None)
        self.local_edits[dst] = text

    # --- a job, there --------------------------------------------------------------------------
    @rule(name=st.sampled_from(NAMES[:4]))
    def job_write(self, name: str) -> None:
        if self.mirror is None:
            return
        path = self.mirror / name
        if _blocks(self.mirror, name) or path.is_dir():
            return
        text = f"job {next(_counter)} {name} longer\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        when = next(_clock)
        os.utime(path, (when, when))
        self.pending_job[name] = text

    # --- qxub ----------------------------------------------------------------------------------
    @rule()
    def push(self) -> None:
        pusher = Pusher(self.remote, self.root, self.remote_path)
        pusher.push()
        self.mirror = Path(pusher.path)

    @rule()
    def pull(self) -> None:
        if self.mirror is None:
            return
        pull(self.remote, self.root, self.remote_path, ["."], lambda _: None)
        for name, text in list(self.pending_job.items()):
            beside = self.root / f"{name}.from-R"
            if _read(self.root / name) == text or _read(beside) == text:
                del self.pending_job[name]  # home now
                if _read(self.root / name) == text:
                    self.local_edits.pop(name, None)
        for name in [n for n in list(self.local_edits) if n.endswith(".from-R")]:
            self.local_edits.pop(name, None)

    # --- what must hold ----------------------------------------------------------------------
    @invariant()
    def no_local_edit_lost(self) -> None:
        for name, text in self.local_edits.items():
            assert _read(self.root / name) == text, f"local edit of {name} lost"

    @invariant()
    def no_job_write_lost(self) -> None:
        if self.mirror is None:
            return
        for name, text in self.pending_job.items():
            assert _read(self.mirror / name) == text, f"the job's {name} lost"


def _blocks(root: Path, name: str) -> bool:
    """Is a file standing where a folder of `name` must be?"""
    parent = (root / name).parent
    while parent != root:
        if parent.exists() and not parent.is_dir():
            return True
        parent = parent.parent
    return False


def test_three_way_rule_never_loses_an_edit_or_a_job_s_output(remote: str, tmp_path: Path) -> None:
    Sync.base = tmp_path / "runs"
    run_state_machine_as_test(
        Sync,
        settings=settings(
            max_examples=25,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
