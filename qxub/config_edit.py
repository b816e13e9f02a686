"""Change one key of a YAML config file in place, keeping every other line as written.

PyYAML drops comments when it writes a file, so the edits here are made on the text: the file
is composed into nodes (which know their lines), and only the lines of the key that changes
are replaced, removed or added. Comments, blank lines and the order of everything else stay.
A mapping written in flow style (`{a: 1}`) that must change is rewritten in block style.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from qxub.errors import ConfigError
from qxub.record import record


@record(frozen=True)
class _Entry:
    """One `key: value` of a block mapping: its first and last line (inclusive)."""

    key: str
    first: int
    last: int
    column: int
    value: yaml.Node


def _last_line(node: yaml.Node) -> int:
    """The last line of a node's own text (a block mapping's end mark lies past its
    trailing comments, so look at its last descendant)."""
    if isinstance(node, yaml.MappingNode) and node.value and not node.flow_style:
        return _last_line(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value and not node.flow_style:
        return _last_line(node.value[-1])
    end = node.end_mark
    # A mark at column 0 points at the start of the line after the node.
    return int(end.line - 1 if end.column == 0 and end.line > node.start_mark.line else end.line)


def _entries(node: yaml.MappingNode) -> list[_Entry]:
    return [
        _Entry(str(k.value), k.start_mark.line, _last_line(v), k.start_mark.column, v)
        for k, v in node.value
    ]


def _render(key: str, value: Any, column: int) -> list[str]:
    """`key: value` as block YAML lines, indented by `column`."""
    text = yaml.safe_dump(
        {key: _plain(value)}, default_flow_style=False, sort_keys=False, allow_unicode=True
    )
    return [" " * column + line for line in text.splitlines()]


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _nested(parts: Sequence[str], value: Any) -> Any:
    for part in reversed(parts):
        value = {part: value}
    return value


def _compose(text: str, where: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML, so qxub leaves it as it is: {exc}") from None


def _find(root: yaml.MappingNode, parts: Sequence[str]) -> tuple[list[_Entry], int]:
    """The chain of entries along `parts` that exist, and how many parts they cover."""
    chain: list[_Entry] = []
    node: yaml.Node = root
    for part in parts:
        if not isinstance(node, yaml.MappingNode):
            break
        found = [e for e in _entries(node) if e.key == part]
        if not found:
            break
        chain.append(found[-1])
        node = found[-1].value
    return chain, len(chain)


def set_in_text(text: str, key: str, value: Any, where: str = "the file") -> str:
    """`text` with the dotted `key` set to `value` (added at the end of its mapping when new)."""
    parts = key.split(".")
    lines = text.splitlines()
    root = _compose(text, where)
    if root is None or (isinstance(root, yaml.ScalarNode) and root.value in ("", "~", "null")):
        kept = [line for line in lines if not line.strip() or line.lstrip().startswith("#")]
        return "\n".join([*kept, *_render(parts[0], _nested(parts[1:], value), 0)]) + "\n"
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{where}: the top level is not a mapping; cannot set {key}")
    if root.flow_style:
        data = yaml.safe_load(text) or {}
        return _set_whole(data, parts, value)
    chain, depth = _find(root, parts)
    if depth == len(parts):  # replace the entry's lines
        entry = chain[-1]
        new = _render(entry.key, value, entry.column)
        return _join(lines[: entry.first] + new + lines[entry.last + 1 :])
    parent = chain[-1] if chain else None
    value_node = parent.value if parent is not None else None
    empty = isinstance(value_node, yaml.ScalarNode) and value_node.value in ("", "~")
    if value_node is not None and not isinstance(value_node, yaml.MappingNode) and not empty:
        above = ".".join(parts[:depth])
        raise ConfigError(f"{where}: {above} is not a mapping; cannot set {key}")
    for index, entry in enumerate(chain):
        node = entry.value
        if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
            continue
        # An empty or flow-style mapping (the outermost one): write its entry again, in block
        # style, with the new value merged in.
        current = yaml.constructor.SafeConstructor().construct_document(node)
        merged = _merge(current if isinstance(current, dict) else {}, parts[index + 1 :], value)
        new = _render(entry.key, merged, entry.column)
        return _join(lines[: entry.first] + new + lines[entry.last + 1 :])
    rest = _render(parts[depth], _nested(parts[depth + 1 :], value), 0)
    if parent is None:
        column = _entries(root)[0].column
        after = _last_line(root)
    else:
        assert isinstance(parent.value, yaml.MappingNode)
        column = _entries(parent.value)[0].column
        after = parent.last
    new = [" " * column + line for line in rest]
    return _join(lines[: after + 1] + new + lines[after + 1 :])


def _merge(data: dict[str, Any], parts: Sequence[str], value: Any) -> dict[str, Any]:
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value
    return data


def _set_whole(data: Any, parts: Sequence[str], value: Any) -> str:
    merged = _merge(data if isinstance(data, dict) else {}, parts, value)
    return _join(_render_mapping(merged))


def _render_mapping(data: dict[str, Any]) -> list[str]:
    text = yaml.safe_dump(_plain(data), default_flow_style=False, sort_keys=False)
    return text.splitlines()


def unset_in_text(text: str, key: str, where: str = "the file") -> str | None:
    """`text` without the dotted `key` (and without a mapping it leaves empty); None when the
    key is not in it."""
    parts = key.split(".")
    root = _compose(text, where)
    if not isinstance(root, yaml.MappingNode):
        return None
    chain, depth = _find(root, parts)
    if depth < len(parts):
        return None
    if root.flow_style or any(
        isinstance(e.value, yaml.MappingNode) and e.value.flow_style for e in chain[:-1]
    ):
        data = yaml.safe_load(text)
        node = data
        for part in parts[:-1]:
            node = node[part]
        del node[parts[-1]]
        return _join(_render_mapping(_prune(data)))
    # Remove the innermost entry, or the outermost ancestor that holds nothing else.
    gone = len(chain) - 1
    while gone > 0:
        above = chain[gone - 1].value
        if not isinstance(above, yaml.MappingNode) or len(above.value) > 1:
            break
        gone -= 1
    entry = chain[gone]
    lines = text.splitlines()
    return _join(lines[: entry.first] + lines[entry.last + 1 :])


def _prune(data: Any) -> Any:
    if isinstance(data, dict):
        pruned = {k: _prune(v) for k, v in data.items()}
        return {k: v for k, v in pruned.items() if v != {}}
    return data


def _join(lines: Sequence[str]) -> str:
    return "\n".join(lines) + "\n" if lines else ""
