"""The docs describe what the code does: every command they show parses, and every command
has help and is documented."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from qxub.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def shown_commands() -> list[tuple[str, str]]:
    """Commands in code blocks (indented or fenced); usage synopses with [OPTIONS] excluded."""
    found = []
    for doc in DOCS:
        fenced = False
        for line in doc.read_text().splitlines():
            if line.startswith("```"):
                fenced = not fenced
                continue
            if not (fenced or line.startswith("    ")):
                continue
            text = line.strip()
            synopsis = ("[" in text and "]" in text and "..." in text) or "[--" in text
            if text.startswith("qxub ") and not synopsis:
                command = re.split(r"\s+#\s", text)[0]
                found.append((doc.name, command))
    return found


def all_commands(group: click.Group = cli, prefix: str = "qxub") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        found.append((path, command))
        if isinstance(command, click.Group):
            found += all_commands(command, path)
    return found


@pytest.mark.parametrize(("doc", "line"), shown_commands())
def test_every_command_in_the_docs_parses(doc: str, line: str) -> None:
    words = shlex.split(line)[1:]
    if "&&" in words:
        words = words[: words.index("&&")]
    command: click.Command = cli
    ctx = click.Context(cli)
    while isinstance(command, click.Group) and words and words[0] in command.commands:
        command = command.commands[words.pop(0)]
    if words and words[0] in ("--help", "--version"):
        return
    # Parses (unknown options and bad values fail) without running anything.
    command.make_context(command.name or "", list(words), parent=ctx)


@pytest.mark.parametrize(("path", "command"), all_commands())
def test_every_command_has_help_and_is_documented(path: str, command: click.Command) -> None:
    assert command.help, f"{path} has no help"
    text = "\n".join(doc.read_text() for doc in DOCS)
    assert path in text, f"{path} is not in README.md or docs/"
