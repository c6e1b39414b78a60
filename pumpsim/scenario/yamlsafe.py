"""Safe YAML loading that remembers the line of every key.

The text is parsed into an event stream (libyaml's C parser when PyYAML has it, else PyYAML's
pure-Python parser; both are iterative) and built into plain data here, without recursion, so:

- only the standard YAML tags are accepted (no object construction, no ``!!binary``/``!!set``);
- nesting deeper than ``MAX_DEPTH`` is refused (no RecursionError, no C stack overflow);
- aliases are counted as the nodes they expand to, so an alias bomb is refused, and an alias to
  a collection that is still open (a cycle) is refused;
- files larger than ``MAX_FILE_BYTES`` are refused before parsing; only regular files are ever
  opened (a FIFO would block, a device may never end), non-blocking, so nothing hangs;
- text must be UTF-8 (a UTF-8 byte-order mark is accepted); UTF-16, binary and other encodings
  are refused with a message that says so.

A syntax error found by libyaml is re-read with the pure-Python parser, only to report the
same message and line as the pure loader gives.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Any

import yaml

from pumpsim.errors import ScenarioError

try:  # libyaml: the same events, about 15 times faster
    from yaml import CSafeLoader as _CLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CLoader = None

MAX_FILE_BYTES = 1_000_000
MAX_NODES = 200_000
MAX_DEPTH = 100

_STANDARD_TAGS = frozenset(
    {
        "tag:yaml.org,2002:str",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:timestamp",
        "tag:yaml.org,2002:map",
        "tag:yaml.org,2002:seq",
    }
)
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def libyaml_available() -> bool:
    """Whether PyYAML has libyaml's C parser (the fast path)."""
    return _CLoader is not None


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


@dataclass
class _Open:
    """A mapping or sequence being built."""

    value: Any
    path: tuple[object, ...]
    anchor: str | None
    nodes_before: int
    key: object = None
    has_key: bool = False


class _Builder:
    """Builds plain data from a YAML event stream, iteratively."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.nodes = 0
        self.lines: dict[tuple[object, ...], int] = {}
        self.anchors: dict[str, tuple[Any, int, bool]] = {}  # value, node count, still open
        self._yaml = yaml.SafeLoader("")  # implicit tag resolution and scalar construction

    def fail(self, message: str, line: int | None, path: tuple[object, ...] = ()) -> ScenarioError:
        return ScenarioError(message, file=self.file, path=path, line=line)

    def build(self, parser: Any) -> Any:
        """Consume one document's events; return its data (None for an empty stream)."""
        stack: list[_Open] = []
        result: Any = None
        documents = 0
        while parser.check_event():
            event = parser.get_event()
            kind = type(event)
            line = event.start_mark.line + 1 if event.start_mark is not None else None
            if kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise self.fail("a scenario file holds one YAML document, not several", line)
                continue
            if kind in (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent):
                continue
            if kind in (yaml.MappingEndEvent, yaml.SequenceEndEvent):
                done = stack.pop()
                if done.anchor is not None:
                    self.anchors[done.anchor] = (done.value, self.nodes - done.nodes_before, False)
                value, have = done.value, True
            else:
                path = self._child_path(stack)
                value, have = self._node(event, kind, path, line, stack)
            if not have:
                continue
            if not stack:
                result = value
            else:
                self._deliver(stack[-1], value, line)
        return result

    def _child_path(self, stack: list[_Open]) -> tuple[object, ...]:
        if not stack:
            return ()
        top = stack[-1]
        if isinstance(top.value, list):
            return (*top.path, len(top.value))
        if top.has_key:
            return (*top.path, top.key)
        return (*top.path, "<key>")

    def _count(self, n: int, line: int | None) -> None:
        self.nodes += n
        if self.nodes > MAX_NODES:
            raise self.fail(f"document expands to more than {MAX_NODES} nodes (alias bomb?)", line)

    def _check_tag(self, tag: str, path: tuple[object, ...], line: int | None) -> None:
        if tag not in _STANDARD_TAGS:
            raise self.fail(f"tag {tag!r} is not allowed (only plain YAML data)", line, path)

    def _node(
        self, event: Any, kind: type, path: tuple[object, ...], line: int | None, stack: list[_Open]
    ) -> tuple[Any, bool]:
        if kind is yaml.AliasEvent:
            if event.anchor not in self.anchors:
                raise self.fail(f"unknown alias *{event.anchor}", line, path)
            value, size, still_open = self.anchors[event.anchor]
            if still_open:
                raise self.fail("recursive or too deeply nested alias", line, path)
            self._count(size, line)
            self.lines.setdefault(path, line or 0)
            return value, True
        self._count(1, line)
        if line is not None:
            self.lines.setdefault(path, line)
        anchor = getattr(event, "anchor", None)
        if anchor is not None and anchor in self.anchors:
            raise self.fail(f"duplicate anchor &{anchor}", line, path)
        if kind is yaml.ScalarEvent:
            value = self._scalar(event, path, line)
            if anchor is not None:
                self.anchors[anchor] = (value, 1, False)
            return value, True
        is_map = kind is yaml.MappingStartEvent
        tag = event.tag
        if tag is None or tag == "!":
            tag = "tag:yaml.org,2002:map" if is_map else "tag:yaml.org,2002:seq"
        self._check_tag(tag, path, line)
        if len(stack) >= MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} levels deep", line, path)
        opened = _Open({} if is_map else [], path, anchor, self.nodes - 1)
        if anchor is not None:
            self.anchors[anchor] = (opened.value, 0, True)
        stack.append(opened)
        return None, False

    def _scalar(self, event: Any, path: tuple[object, ...], line: int | None) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self._yaml.resolve(yaml.ScalarNode, event.value, event.implicit)
        self._check_tag(tag, path, line)
        if tag == "tag:yaml.org,2002:str":
            return event.value
        # YAML 1.1 reads 08:00 as a base-60 integer; a clock time is always meant.
        if tag in _NUMBER_TAGS and ":" in event.value:
            return event.value
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return self._yaml.construct_object(node, deep=True)
        except (ValueError, OverflowError, yaml.YAMLError) as exc:
            raise self.fail(f"cannot read {event.value!r}: {exc}", line, path) from None

    def _deliver(self, top: _Open, value: Any, line: int | None) -> None:
        if isinstance(top.value, list):
            top.value.append(value)
            return
        if not top.has_key:
            if isinstance(value, dict | list):
                raise self.fail(
                    "a key must be a plain value, not a mapping or list", line, top.path
                )
            key = value if isinstance(value, str) else str(value)
            self.lines.pop((*top.path, "<key>"), None)
            if key in top.value:
                raise self.fail(f"duplicate key {key!r}", line, (*top.path, key))
            top.key, top.has_key = key, True
            self.lines[(*top.path, key)] = line or 0
            return
        top.value[top.key] = value
        top.has_key = False


def _located(text: str, file: str, loader_class: Any) -> LocatedYaml:
    builder = _Builder(file)
    parser = loader_class(text)
    try:
        data = builder.build(parser)
    finally:
        parser.dispose()
    if data is None:
        raise ScenarioError("file is empty: expected a mapping of keys", file=file, line=1)
    return LocatedYaml(data=data, lines=builder.lines)


def _syntax_error(exc: yaml.YAMLError, file: str, text: str) -> ScenarioError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        return ScenarioError(f"YAML syntax error: {problem}", file=file, line=line)
    if isinstance(exc, yaml.reader.ReaderError):
        return ScenarioError(
            f"unacceptable character #x{exc.character:04x}: "
            "special characters are not allowed in YAML",
            file=file,
            line=text[: exc.position].count("\n") + 1,
        )
    return ScenarioError(f"YAML error: {' '.join(str(exc).split())}", file=file)


def load_yaml_text(text: str, file: str, *, fast: bool = True) -> LocatedYaml:
    """Parse one YAML document safely, keeping key lines. Raises ScenarioError.

    ``fast`` uses libyaml when available; ``fast=False`` forces the pure-Python parser.
    """
    if len(text) > MAX_FILE_BYTES or (
        len(text) * 4 > MAX_FILE_BYTES and len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES
    ):
        raise ScenarioError(f"file is larger than {MAX_FILE_BYTES} bytes", file=file)
    if fast and _CLoader is not None:
        try:
            return _located(text, file, _CLoader)
        except yaml.YAMLError as c_error:
            # Locate it as the pure loader does (same message and line in both set-ups).
            try:
                return _located(text, file, yaml.SafeLoader)
            except yaml.YAMLError as exc:
                raise _syntax_error(exc, file, text) from None
            except ScenarioError:
                raise
            except Exception:
                raise _syntax_error(c_error, file, text) from None
    try:
        return _located(text, file, yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, file, text) from None


_KINDS = (
    (stat.S_ISDIR, "is a directory, not a scenario file"),
    (stat.S_ISFIFO, "is a FIFO (named pipe), not a scenario file"),
    (stat.S_ISCHR, "is a character device, not a scenario file"),
    (stat.S_ISBLK, "is a block device, not a scenario file"),
    (stat.S_ISSOCK, "is a socket, not a scenario file"),
)


def not_a_regular_file(mode: int) -> str | None:
    """Why a file of this ``st_mode`` cannot be read as a scenario (None: a regular file)."""
    if stat.S_ISREG(mode):
        return None
    for test, why in _KINDS:
        if test(mode):
            return why
    return "is not a regular file"


def read_text_file(path: str, *, limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file, at most ``limit`` bytes. Raises ScenarioError.

    Never opens a FIFO or device for reading (checked before opening, and again on the open
    descriptor, which is opened non-blocking so a file swapped for a FIFO cannot hang).
    """
    try:
        why = not_a_regular_file(os.stat(path).st_mode)
        if why:
            raise ScenarioError(why, file=path)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ScenarioError("no such file", file=path) from None
    except PermissionError:
        raise ScenarioError("cannot read file: permission denied", file=path) from None
    except OSError as exc:
        raise ScenarioError(f"cannot read file: {exc.strerror or exc}", file=path) from None
    except ValueError as exc:  # e.g. an embedded NUL character in the name
        raise ScenarioError(f"cannot read file: {exc}", file=repr(path)) from None
    try:
        why = not_a_regular_file(os.fstat(fd).st_mode)
        if why:
            raise ScenarioError(why, file=path)
        chunks = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise ScenarioError(f"cannot read file: {exc.strerror or exc}", file=path) from None
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > limit:
        raise ScenarioError(f"file is larger than {limit} bytes", file=path)
    return decode_utf8(raw, path)


def decode_utf8(raw: bytes, file: str) -> str:
    """Decode file bytes as UTF-8 (a UTF-8 byte-order mark is dropped). Raises ScenarioError."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ScenarioError("file is UTF-16 (or UTF-32) text: save it as UTF-8", file=file)
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise ScenarioError(
            "file is not text (it holds NUL bytes: binary data, or UTF-16 without a "
            "byte-order mark?): save it as UTF-8",
            file=file,
            line=line,
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError(
            f"file is not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be read): "
            "save it as UTF-8",
            file=file,
            line=line,
        ) from None


def load_yaml_file(path: str) -> tuple[LocatedYaml, str]:
    """Read and parse a YAML file. Returns the located data and the file name used in messages."""
    return load_yaml_text(read_text_file(path), path), path
