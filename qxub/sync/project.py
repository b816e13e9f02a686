"""The git repository (if any) that holds a project, and what its config says about ignores."""

from __future__ import annotations

import functools
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from qxub import proc
from qxub.errors import CommandFailed
from qxub.proc import run, run_bytes
from qxub.record import record


@record(frozen=True)
class GitRepo:
    """A git worktree: its top folder, its own git dir (which holds its index) and the common
    git dir (which holds `info/exclude`; the same folder except in linked worktrees)."""

    worktree: Path
    common_dir: Path
    git_dir: Path

    @property
    def info_exclude(self) -> Path:
        return self.common_dir / "info" / "exclude"

    @property
    def index(self) -> Path:
        return self.git_dir / "index"


def _git_dir(dot_git: Path) -> Path | None:
    """The git dir a `.git` entry stands for: itself, or the `gitdir:` a `.git` file names."""
    if dot_git.is_dir():
        return dot_git
    try:
        text = dot_git.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    target = Path(text[len("gitdir:") :].strip())
    return target if target.is_absolute() else dot_git.parent / target


def find_git_repo(start: Path) -> GitRepo | None:
    """The git worktree that contains `start`, found the way git does: the nearest `.git`
    (a folder, or a file naming one, as in linked worktrees and submodules)."""
    start = Path(os.path.abspath(start))
    for folder in (start, *start.parents):
        dot_git = folder / ".git"
        if not os.path.lexists(dot_git):
            continue
        git_dir = _git_dir(dot_git)
        if git_dir is None or not (git_dir / "HEAD").exists():
            continue  # not a repository; git keeps looking upwards too
        common = git_dir
        commondir_file = git_dir / "commondir"
        if commondir_file.is_file():
            # A linked worktree shares info/exclude with the main repository.
            named = Path(commondir_file.read_text(encoding="utf-8").strip())
            common = named if named.is_absolute() else git_dir / named
        return GitRepo(worktree=folder, common_dir=common, git_dir=git_dir)
    return None


@record(frozen=True)
class GitSettings:
    """What a repository's git config says about ignores."""

    excludes_file: Path | None  # the user's global excludes file; None: none
    ignore_case: bool  # core.ignoreCase: names match ignore lines whatever their case


_TRUE = ("true", "yes", "on", "1", "")  # "" is a key without "= value": true for git
_SETTINGS = r"^core\.(excludesfile|ignorecase)$"


def git_settings(repo: GitRepo) -> GitSettings:
    """Read with one `git config` from any config that applies to `repo`. The excludes file is
    `core.excludesFile`, else `$XDG_CONFIG_HOME/git/ignore` or `~/.config/git/ignore` (None
    when it is set empty or cannot be known), as git finds it."""
    argv = ["git", "config", "-z", "--path", "--get-regexp", _SETTINGS]
    try:
        result = run(argv, check=False, cwd=str(repo.worktree), timeout=30)
    except (CommandFailed, OSError, UnicodeDecodeError):
        result = None
    found: dict[str, str] = {}
    if result is not None and result.returncode == 0:
        for item in result.stdout.split("\0"):
            key, _, value = item.partition("\n")
            if key:
                found[key.lower()] = value  # the last one wins, as in git
    ignore_case = found.get("core.ignorecase", "false").strip().lower() in _TRUE
    return GitSettings(_excludes_file(repo, found.get("core.excludesfile")), ignore_case)


def _excludes_file(repo: GitRepo, value: str | None) -> Path | None:
    if value is not None:
        if not value:
            return None
        path = Path(value)
        return path if path.is_absolute() else repo.worktree / path
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg:
        return Path(xdg) / "git" / "ignore"
    home = os.environ.get("HOME")
    return Path(home) / ".config" / "git" / "ignore" if home else None


@functools.cache
def git_version() -> tuple[int, int] | None:
    """git's (major, minor) version; None without a working git. Asked once per process."""
    try:
        result = run(["git", "version"], check=False, timeout=30)
    except (CommandFailed, OSError, UnicodeDecodeError):
        return None
    found = re.search(r"(\d+)\.(\d+)", result.stdout)
    return (int(found[1]), int(found[2])) if found and result.returncode == 0 else None


def ls_files(folder: Path, *options: str, timeout: float = 60) -> tuple[list[bytes], str] | None:
    """`git ls-files -z OPTIONS` in `folder`: the paths it lists, as bytes (NUL-separated, so
    every name comes through as it is), and its stderr (in the C locale). None when git
    cannot say (no git, not a repository, a failure)."""
    argv = ["git", "ls-files", "-z", *options]
    env = {**os.environ, "LC_ALL": "C"}
    try:
        result = run_bytes(argv, check=False, cwd=str(folder), timeout=timeout, env=env)
    except (CommandFailed, OSError):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.split(b"\0")[:-1], result.stderr.decode("utf-8", "surrogateescape")


class Listing:
    """A `git ls-files -z OPTIONS` started at once and left to run while the caller works:
    `result` waits for what it lists."""

    def __init__(self, folder: Path, *options: str) -> None:
        argv = ["git", "ls-files", "-z", *options]
        env = {**os.environ, "LC_ALL": "C"}
        try:
            self._process: proc.Process | None = proc.start(argv, cwd=str(folder), env=env)
        except OSError:
            self._process = None

    def result(
        self, timeout: float, more_time: Callable[[], float] | None = None
    ) -> tuple[bytes, str] | None:
        """Its stdout (NUL-separated paths, as bytes) and stderr (in the C locale); None when
        git cannot say (no git, not a repository, a failure, or no answer within `timeout`
        seconds plus what `more_time()`, asked then, allows: it is stopped)."""
        process = self._process
        if process is None:
            return None
        try:
            out, err = process.communicate(timeout=max(timeout, 0.0))
        except subprocess.TimeoutExpired:
            extra = more_time() if more_time is not None else 0.0
            try:
                if extra <= 0:
                    raise
                out, err = process.communicate(timeout=extra)
            except subprocess.TimeoutExpired:
                self.stop()
                return None
        if process.returncode != 0:
            return None
        return out, err.decode("utf-8", "surrogateescape")

    def stop(self) -> None:
        """Stop it if it still runs (its answer is not needed)."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.communicate()


def git_tracked_files(folder: Path) -> set[bytes] | None:
    """The paths below `folder` that git's index holds, relative to it, as bytes (a submodule
    is one path, its folder's). None when git cannot say."""
    listed = ls_files(folder, "--cached")
    return set(listed[0]) if listed is not None else None
