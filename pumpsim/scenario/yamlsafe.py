"""Safe YAML loading that remembers the line of every key.

Only the standard YAML tags are accepted (no object construction), aliases are counted so an
alias bomb is refused, and oversized files are refused before parsing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from pumpsim.errors import ScenarioError

MAX_FILE_BYTES = 1_000_000
MAX_NODES = 200_000
MAX_DEPTH = 100

_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


@dataclass
class LocatedYaml:
    """Plain Python data plus the 1-based line of every key path."""

    data: Any
    lines: dict[tuple[object, ...], int] = field(default_factory=dict)

    def line_of(self, path: tuple[object, ...]) -> int | None:
        """The line of the longest prefix of ``path`` that exists."""
        for n in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:n]))
            if line is not None:
                return line
        return None


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.nodes = 0
        self.lines: dict[tuple[object, ...], int] = {}
        self._constructor = yaml.SafeLoader("")
        self._open: set[int] = set()  # nodes being built: an alias back to one is a cycle

    def build(self, node: yaml.Node, path: tuple[object, ...]) -> Any:
        self.nodes += 1
        if id(node) in self._open or len(self._open) > MAX_DEPTH:
            raise ScenarioError(
                "recursive or too deeply nested alias",
                file=self.file,
                path=path,
                line=node.start_mark.line + 1,
            )
        if self.nodes > MAX_NODES:
            raise ScenarioError(
                f"document expands to more than {MAX_NODES} nodes (alias bomb?)",
                file=self.file,
                line=node.start_mark.line + 1,
            )
        self.lines.setdefault(path, node.start_mark.line + 1)
        if node.tag not in _STANDARD_TAGS:
            raise ScenarioError(
                f"tag {node.tag!r} is not allowed (only plain YAML data)",
                file=self.file,
                path=path,
                line=node.start_mark.line + 1,
            )
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            self._open.add(id(node))
            try:
                return self._collection(node, path)
            finally:
                self._open.discard(id(node))
        try:
            value = self._constructor.construct_object(node, deep=True)
        except (ValueError, yaml.YAMLError) as exc:
            raise ScenarioError(
                f"cannot read {node.value!r}: {exc}",
                file=self.file,
                path=path,
                line=node.start_mark.line + 1,
            ) from None
        # YAML 1.1 reads 08:00 as a base-60 integer; a clock time is always meant.
        if node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and ":" in node.value:
            return node.value
        return value

    def _collection(self, node: yaml.Node, path: tuple[object, ...]) -> Any:
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, (*path, "<key>"))
                if not isinstance(key, str):
                    key = str(key)
                if key in out:
                    raise ScenarioError(
                        f"duplicate key {key!r}",
                        file=self.file,
                        path=(*path, key),
                        line=key_node.start_mark.line + 1,
                    )
                self.lines[(*path, key)] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, (*path, key))
            self.lines.pop((*path, "<key>"), None)
            return out
        return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]


def load_yaml_text(text: str, file: str) -> LocatedYaml:
    """Parse one YAML document safely, keeping key lines. Raises ScenarioError."""
    if len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        raise ScenarioError(f"file is larger than {MAX_FILE_BYTES} bytes", file=file)
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ScenarioError(f"YAML syntax error: {problem}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"YAML error: {exc}", file=file) from None
    if node is None:
        raise ScenarioError("file is empty: expected a scenario mapping", file=file, line=1)
    builder = _Builder(file)
    data = builder.build(node, ())
    return LocatedYaml(data=data, lines=builder.lines)


def load_yaml_file(path: str) -> tuple[LocatedYaml, str]:
    """Read and parse a YAML file. Returns the located data and the file name used in messages."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError("no such file", file=path) from None
    except IsADirectoryError:
        raise ScenarioError("is a directory, not a scenario file", file=path) from None
    except UnicodeDecodeError:
        raise ScenarioError("file is not UTF-8 text", file=path) from None
    except OSError as exc:
        raise ScenarioError(f"cannot read file: {exc.strerror}", file=path) from None
    return load_yaml_text(text, path), path
