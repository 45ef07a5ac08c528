"""YAML text -> plain data plus the line of every field (for errors that say where).

The node tree PyYAML composes keeps each node's position; walking it gives the values (as PyYAML's
safe loader would build them) and a `Lines` map from field paths, e.g. `("devices", 2, "unit")`, to
1-based line numbers. A key given twice in one mapping is an error (PyYAML would keep the last).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from agents.site.errors import SiteFileError

FieldPath = tuple[str | int, ...]


def format_path(path: FieldPath) -> str:
    """`("devices", 2, "unit")` -> `devices[2].unit`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass(frozen=True)
class Lines:
    """The line of each field path of one file."""

    file: str
    by_path: Mapping[FieldPath, int]

    def line_of(self, path: FieldPath) -> int:
        """The field's own line, else its nearest ancestor's (a missing field: its mapping's)."""
        for end in range(len(path), -1, -1):
            line = self.by_path.get(path[:end])
            if line is not None:
                return line
        return 1

    def error(self, path: FieldPath, message: str) -> SiteFileError:
        return SiteFileError(self.file, self.line_of(path), format_path(path), message)


class _Walker:
    def __init__(self, loader: yaml.SafeLoader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.lines: dict[FieldPath, int] = {}

    def value(self, node: yaml.Node, path: FieldPath) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, (*path, index)) for index, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)

    def mapping(self, node: yaml.MappingNode, path: FieldPath) -> dict[str, Any]:
        explicit: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise SiteFileError(self.file, key_node.start_mark.line + 1, format_path(path),
                                    f"key {key!r} is not a string")
            if key in explicit:
                raise SiteFileError(self.file, key_node.start_mark.line + 1, format_path((*path, key)), "given twice")
            explicit.add(key)
        self.loader.flatten_mapping(node)  # YAML merge keys (<<): merged pairs first, the mapping's own win
        pairs = {self.loader.construct_object(key_node, deep=True): (key_node, value_node)
                 for key_node, value_node in node.value}  # the last of each key: the one that counts
        result: dict[str, Any] = {}
        for key, (key_node, value_node) in pairs.items():
            self.lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = self.value(value_node, (*path, key))
        return result


def parse_yaml(text: str, file: str) -> tuple[Any, Lines]:
    """Parse one YAML document; a syntax error becomes a `SiteFileError` at its line."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise SiteFileError(file, 1, "", "the file is empty")
        walker = _Walker(loader, file)
        data = walker.value(node, ())
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise SiteFileError(file, line, "", f"not valid YAML: {error.problem or error}") from error
    finally:
        loader.dispose()
    return data, Lines(file, walker.lines)
