"""Push and pull over the real sshd (and the built-in `local` remote): gitignore-exact
selection, deletion of only what qxub pushed, pulls that never lose a local edit. Every test
with a remote runs with OpenSSH and rsync, and again with paramiko and SFTP (remotes.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import children
from helpers import assert_one_line_error, qxub
from remotes import mirror, remote_settings, write_config
from sshd_server import SshServer

pytestmark = [pytest.mark.sshd, pytest.mark.both_transports]


def tree(root: Path) -> set[str]:
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            found.add(os.path.relpath(os.path.join(dirpath, name), root))
    return found


@pytest.fixture
def project(remote: str) -> Path:
    root = Path.cwd()
    (root / "old.py").write_text("old\n")
    (root / "b.py").write_text("b\n")
    (root / "pkg").mkdir()
    (root / "pkg" / "mod.py").write_text("m\n")
    (root / ".gitignore").write_text("data/\n*.log\n")
    (root / "data").mkdir()
    (root / "data" / "big.bin").write_bytes(b"x" * 1000)
    (root / "run.log").write_text("log\n")
    return root


@pytest.mark.weird_paths
def test_push_sends_selected_files_only(project: Path, remote_home: Path) -> None:
    result = qxub("remote", "push", "R")
    assert result.returncode == 0, result.stderr
    assert tree(mirror(remote_home)) == {
        ".gitignore",
        "old.py",
        "b.py",
        "pkg/mod.py",
        ".qxub-mirror",
    }
    assert "pushed 4 files" in result.stderr


@pytest.mark.weird_paths
def test_deletes_only_what_qxub_pushed(project: Path, remote_home: Path) -> None:
    assert qxub("remote", "push", "R").returncode == 0
    remote = mirror(remote_home)
    (remote / "results").mkdir()
    (remote / "results" / "a.txt").write_text("job output\n")
    (remote / "pkg" / "out.csv").write_text("job output in a pushed folder\n")
    (project / "old.py").unlink()
    (project / "b.py").rename(project / "c.py")
    (project / "pkg" / "mod.py").unlink()
    (project / "pkg").rmdir()
    result = qxub("remote", "push", "R")
    assert result.returncode == 0, result.stderr
    assert not (remote / "old.py").exists()
    assert not (remote / "b.py").exists()
    assert (remote / "c.py").read_text() == "b\n"
    assert (remote / "results" / "a.txt").read_text() == "job output\n"
    assert (remote / "pkg" / "out.csv").exists(), "a folder holding job output was removed"
    assert not (remote / "pkg" / "mod.py").exists()


def test_emptied_folders_go_too(project: Path, remote_home: Path) -> None:
    assert qxub("remote", "push", "R").returncode == 0
    (project / "pkg" / "mod.py").unlink()
    (project / "pkg").rmdir()
    assert qxub("remote", "push", "R").returncode == 0
    assert not (mirror(remote_home) / "pkg").exists()


def test_newly_ignored_files_are_left_there(project: Path, remote_home: Path) -> None:
    assert qxub("remote", "push", "R").returncode == 0
    (project / ".qxubignore").write_text("old.py\n")
    assert qxub("remote", "push", "R").returncode == 0
    assert (mirror(remote_home) / "old.py").exists()


def test_dry_run_lists_and_changes_nothing(project: Path, remote_home: Path) -> None:
    (project / "up").symlink_to("..")
    first = qxub("remote", "push", "R", "--dry-run")
    assert first.returncode == 0, first.stderr
    assert "send    old.py  (4B)" in first.stdout, first.stdout
    # The same warnings as the push itself.
    assert "warning: symlink up points outside the project" in first.stderr
    (project / "up").unlink()
    assert "would send 5 files" in first.stderr
    assert not mirror(remote_home).exists()
    assert qxub("remote", "push", "R").returncode == 0
    (project / "old.py").unlink()
    (project / "new.py").write_text("n\n")
    second = qxub("remote", "push", "R", "-n")
    assert "delete  old.py" in second.stdout and "send    new.py" in second.stdout
    assert "would send 1 file" in second.stderr and "delete 1" in second.stderr
    assert (mirror(remote_home) / "old.py").exists()


def test_qxubignore_negation_reincludes(project: Path, remote_home: Path) -> None:
    (project / ".qxubignore").write_text("!run.log\n")
    assert qxub("remote", "push", "R").returncode == 0
    assert (mirror(remote_home) / "run.log").exists()


def test_remote_sync_ignore_lines(project: Path, sshd: SshServer, remote_home: Path) -> None:
    write_config({"R": remote_settings(sshd, remote_home, sync={"ignore": ["pkg/"]})})
    assert qxub("remote", "push", "R").returncode == 0
    assert not (mirror(remote_home) / "pkg").exists()


@pytest.mark.weird_paths
def test_pull_keeps_local_edits(project: Path, remote_home: Path) -> None:
    (project / "x.py").write_text("v1\n")
    assert qxub("remote", "push", "R").returncode == 0
    (project / "x.py").write_text("local edit\n")
    (mirror(remote_home) / "x.py").write_text("remote edit\n")
    result = qxub("remote", "pull", "R", "x.py")
    assert result.returncode == 1
    assert "kept your x.py" in result.stderr
    assert "--keep-local" in result.stderr and "--force" in result.stderr
    assert (project / "x.py").read_text() == "local edit\n"
    assert (project / "x.py.from-R").read_text() == "remote edit\n"
    keep = qxub("remote", "pull", "R", "x.py", "--keep-local")
    # Every conflict skipped by request: nothing left to resolve.
    assert (project / "x.py").read_text() == "local edit\n" and keep.returncode == 0, keep.stderr
    forced = qxub("remote", "pull", "R", "x.py", "--force")
    assert forced.returncode == 0
    assert (project / "x.py").read_text() == "remote edit\n"


def test_pull_updates_files_untouched_here_and_deletes_nothing(
    project: Path, remote_home: Path
) -> None:
    assert qxub("remote", "push", "R").returncode == 0
    remote = mirror(remote_home)
    (remote / "results").mkdir()
    (remote / "results" / "a.txt").write_text("1\n")
    (project / "results").mkdir()
    (project / "results" / "mine.txt").write_text("only here\n")
    assert qxub("remote", "pull", "R", "results/").returncode == 0
    assert (project / "results" / "a.txt").read_text() == "1\n"
    (remote / "results" / "a.txt").write_text("2, longer\n")
    assert qxub("remote", "pull", "R", "results").returncode == 0
    assert (project / "results" / "a.txt").read_text() == "2, longer\n"
    assert (project / "results" / "mine.txt").exists()


def test_pull_from_a_subdirectory_is_relative_to_it(project: Path, remote_home: Path) -> None:
    assert qxub("remote", "push", "R").returncode == 0
    (mirror(remote_home) / "pkg" / "out.txt").write_text("o\n")
    assert qxub("remote", "pull", "R", "out.txt", cwd=project / "pkg").returncode == 0
    assert (project / "pkg" / "out.txt").exists()


@pytest.mark.parametrize("path", ["../outside", "/etc/passwd", "pkg/../../x"])
def test_pull_refuses_paths_outside_the_project(project: Path, path: str) -> None:
    assert_one_line_error(qxub("remote", "pull", "R", path))


def test_pull_default_from_sync_pull(project: Path, sshd: SshServer, remote_home: Path) -> None:
    write_config({"R": remote_settings(sshd, remote_home, sync={"pull": ["results/"]})})
    assert qxub("remote", "push", "R").returncode == 0
    (mirror(remote_home) / "results").mkdir()
    (mirror(remote_home) / "results" / "r.txt").write_text("r\n")
    assert qxub("remote", "pull", "R").returncode == 0
    assert (project / "results" / "r.txt").exists()


def test_two_projects_with_one_name(project: Path, remote_home: Path, tmp_path: Path) -> None:
    assert qxub("remote", "push", "R").returncode == 0
    before = {p: (mirror(remote_home) / p).read_bytes() for p in tree(mirror(remote_home))}
    other = tmp_path / "elsewhere" / "proj"
    (other / ".git").mkdir(parents=True)
    (other / "old.py").write_text("another project's file\n")
    result = qxub("remote", "push", "R", cwd=other)
    assert_one_line_error(result)
    assert str(project) in result.stderr and "remote_path" in result.stderr
    after = {p: (mirror(remote_home) / p).read_bytes() for p in tree(mirror(remote_home))}
    assert after == before
    (other / ".qxub.yaml").write_text("remote_path: proj-2\n")
    assert qxub("remote", "push", "R", cwd=other).returncode == 0
    assert (mirror(remote_home, "proj-2") / "old.py").exists()


@pytest.mark.parametrize("remote_path", ["/", "{{home}}", "."])
def test_refuses_root_home_and_working_dir(
    project: Path, remote_home: Path, remote_path: str
) -> None:
    (project / ".qxub.yaml").write_text(f"remote_path: '{remote_path}'\n")
    result = qxub("remote", "push", "R")
    assert_one_line_error(result)
    assert "refusing" in result.stderr


def test_refuses_an_unmarked_folder_with_files(project: Path, remote_home: Path) -> None:
    mirror(remote_home).mkdir(parents=True)
    (mirror(remote_home) / "precious.dat").write_text("not ours\n")
    result = qxub("remote", "push", "R")
    assert_one_line_error(result)
    assert (mirror(remote_home) / "precious.dat").read_text() == "not ours\n"
    assert not (mirror(remote_home) / "old.py").exists()


HOSTILE = [
    "a b.txt",
    "new\nline.txt",
    "it's.txt",
    'dq".txt',
    "$(touch pwned).txt",
    "-rf",
    "--help",
    "semi;colon",
    "back\\slash",
    "tab\there",
    "x" * 200,
    "ünïcödé.txt",
]


def test_hostile_names_round_trip(remote: str, remote_home: Path) -> None:
    root = Path.cwd()
    for name in HOSTILE:
        (root / name).write_text(name)
    raw = os.fsdecode(b"latin1-\xe9.txt")
    (root / raw).write_text("bytes")
    (root / "-dir").mkdir()
    (root / "-dir" / " lead space").write_text("s")
    result = qxub("remote", "push", "R")
    assert result.returncode == 0, result.stderr
    there = tree(mirror(remote_home))
    assert set(HOSTILE) | {raw, "-dir/ lead space"} <= there
    assert not (root / "pwned").exists() and not (mirror(remote_home) / "pwned").exists()
    for name in HOSTILE:
        assert (mirror(remote_home) / name).read_text() == name
    (root / "a b.txt").unlink()
    (root / raw).unlink()
    assert qxub("remote", "push", "R").returncode == 0
    assert "a b.txt" not in tree(mirror(remote_home))
    assert raw not in tree(mirror(remote_home))
    (mirror(remote_home) / "new\nline.txt").write_text("changed there")
    os.utime(root / "new\nline.txt", (0, 0))
    assert qxub("remote", "pull", "R", "new\nline.txt").returncode == 1  # edited here (mtime)


def test_symlinks_are_sent_as_links(remote: str, remote_home: Path) -> None:
    root = Path.cwd()
    (root / "target.txt").write_text("t")
    (root / "inside").symlink_to("target.txt")
    (root / "outside").symlink_to("/etc/hostname")
    result = qxub("remote", "push", "R")
    assert result.returncode == 0, result.stderr
    assert "outside" in result.stderr  # reported
    assert os.readlink(mirror(remote_home) / "inside") == "target.txt"
    assert os.readlink(mirror(remote_home) / "outside") == "/etc/hostname"


@pytest.mark.weird_paths
def test_exec_sync_and_pull_over_ssh(project: Path, remote_home: Path) -> None:
    (project / "make_out.py").write_text(
        "import os\nos.makedirs('out', exist_ok=True)\n"
        "open('out/a.txt', 'w').write(open('old.py').read())\nraise SystemExit(3)\n"
    )
    result = qxub(
        "exec", "--remote", "R", "--sync", "--pull", "out/", "--", "python3", "make_out.py"
    )
    assert result.returncode == 3, result.stderr
    assert (project / "out" / "a.txt").read_text() == "old\n"


def test_sync_auto_and_no_sync(project: Path, sshd: SshServer, remote_home: Path) -> None:
    write_config({"R": remote_settings(sshd, remote_home, sync=True)})
    assert qxub("exec", "--remote", "R", "--", "cat", "old.py").stdout == "old\n"
    (project / "old.py").write_text("changed\n")
    assert qxub("exec", "--remote", "R", "--no-sync", "--", "cat", "old.py").stdout == "old\n"
    assert qxub("exec", "--remote", "R", "--", "cat", "old.py").stdout == "changed\n"


def test_sync_without_remote_is_an_error(project: Path) -> None:
    assert_one_line_error(qxub("exec", "--sync", "--", "true"))


def test_local_remote_sync_and_pull(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "fresh"
    project.mkdir()
    children.run(["git", "init", "-q"], cwd=project, check=True)
    (project / "make_out.py").write_text(
        "import os\nos.makedirs('out', exist_ok=True)\nopen('out/r.txt','w').write('r')\n"
    )
    result = qxub(
        "exec",
        "--remote",
        "local",
        "--sync",
        "--pull",
        "out/",
        "--",
        "python3",
        "make_out.py",
        cwd=project,
    )
    assert result.returncode == 0, result.stderr
    assert (project / "out" / "r.txt").read_text() == "r"


@pytest.mark.weird_paths
def test_incremental_push_and_full(project: Path, remote_home: Path) -> None:
    assert qxub("remote", "push", "R").returncode == 0
    (mirror(remote_home) / "old.py").unlink()
    quick = qxub("remote", "push", "R")
    assert "up to date" in quick.stderr
    assert not (mirror(remote_home) / "old.py").exists()
    full = qxub("remote", "push", "R", "--full")
    assert "pushed 1 file" in full.stderr
    assert (mirror(remote_home) / "old.py").exists()
    (project / "b.py").write_text("same size\n"[:2])
    os.utime(project / "b.py", ns=(1, 1))
    assert qxub("remote", "push", "R").returncode == 0
    assert (mirror(remote_home) / "b.py").read_text() == "sa"


@pytest.mark.weird_paths
def test_full_push_compares_every_file_with_the_mirror(project: Path, remote_home: Path) -> None:
    """One listing of the mirror, held against the record: a file deleted there is sent again;
    a file or a link changed there since the last sync (a job's doing) is left there and named;
    the rest is not sent again."""
    (project / "run.sh").write_text("#!/bin/sh\n")
    (project / "run.sh").chmod(0o755)
    (project / "ln").symlink_to("b.py")
    assert qxub("remote", "push", "R").returncode == 0
    there = mirror(remote_home)
    assert os.access(there / "run.sh", os.X_OK)
    (there / "b.py").write_text("B\n")
    os.utime(there / "b.py", (1, 1))
    (there / "pkg" / "mod.py").unlink()
    (there / "ln").unlink()
    (there / "ln").symlink_to("old.py")
    full = qxub("remote", "push", "R", "--full", "-v")
    assert full.returncode == 0, full.stderr
    assert (there / "b.py").read_text() == "B\n"
    assert "changed on R since the last sync: b.py" in full.stderr
    assert os.readlink(there / "ln") == "old.py"
    assert (there / "pkg" / "mod.py").read_text() == "m\n"
    assert "sent run.sh" not in full.stderr and "sent .gitignore" not in full.stderr
    again = qxub("remote", "push", "R", "--full")
    assert "up to date" in again.stderr, again.stderr
