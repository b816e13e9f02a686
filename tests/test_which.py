"""qxub.which answers as shutil.which does, over the PATH shapes a user may have: folders
that are missing, repeated or empty (the current folder), a file without the execute bit,
a folder of the command's name, PATH unset or empty."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from qxub.which import which


def _tool(folder: Path, name: str, mode: int = 0o755) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n")
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    "shape",
    [
        ["missing", "plain"],
        ["noexec", "plain"],
        ["folder", "plain"],
        ["plain", "plain", "other"],
        ["", "plain"],
        ["noexec"],
        [],
    ],
)
def test_which_answers_as_shutil_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shape: list[str]
) -> None:
    here = tmp_path / "cwd"
    _tool(here, "qxtool")  # what an empty PATH entry (the current folder) finds
    monkeypatch.chdir(here)
    folders = []
    for i, kind in enumerate(shape):
        folder = tmp_path / f"{kind}{i}"
        if kind in ("plain", "other"):
            _tool(folder, "qxtool")
        elif kind == "noexec":
            _tool(folder, "qxtool", 0o644)
        elif kind == "folder":
            (folder / "qxtool").mkdir(parents=True)
        folders.append("" if kind == "" else str(folder))
    monkeypatch.setenv("PATH", os.pathsep.join(folders))
    assert which("qxtool") == shutil.which("qxtool")
    assert which("no-such-qxtool") is None


def test_with_path_unset_the_system_default_is_searched(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PATH")
    assert which("sh") == shutil.which("sh")
    assert which("sh") is not None


def test_a_name_with_a_folder_is_checked_as_it_is(tmp_path: Path) -> None:
    tool = _tool(tmp_path, "qxtool")
    assert which(str(tool)) == shutil.which(str(tool)) == str(tool)
