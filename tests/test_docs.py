"""The docs describe what the code does: every command they show parses, and every command
has help and is documented."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from qxub.cli.main import cli

import children

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
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
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
    while isinstance(command, click.Group) and words:
        sub = command.get_command(ctx, words[0])
        if sub is None:
            break
        words.pop(0)
        command = sub
    if words and words[0] in ("--help", "--version"):
        return
    # Parses (unknown options and bad values fail) without running anything.
    command.make_context(command.name or "", list(words), parent=ctx)


@pytest.mark.parametrize(("path", "command"), all_commands())
def test_every_command_has_help_and_is_documented(path: str, command: click.Command) -> None:
    assert command.help, f"{path} has no help"
    text = "\n".join(doc.read_text() for doc in DOCS)
    assert path in text, f"{path} is not in README.md or docs/"


def test_listed_short_help_is_each_commands_own() -> None:
    from qxub.cli.main import COMMANDS, SHORT_HELP_LIMIT, load_command

    for name, (_, short) in COMMANDS.items():
        assert load_command(name).get_short_help_str(SHORT_HELP_LIMIT) == short, name


def test_help_imports_no_command_module() -> None:
    import sys

    code = (
        "import sys; from qxub.cli.main import cli\n"
        "try: cli.main(['--help'], standalone_mode=False)\nexcept SystemExit: pass\n"
        "print(sorted(m for m in sys.modules if m.startswith(('qxub.cli.', 'paramiko', "
        "'watchdog', 'qxub.remote', 'qxub.platforms'))))"
    )
    out = children.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "['qxub.cli.main', 'qxub.cli.outcome']"
