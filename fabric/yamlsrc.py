"""YAML loading that remembers where every value came from, and refuses hostile files.

``load_yaml_with_lines`` reads libyaml's (C) event stream and builds plain Python data
itself - no recursion, so nesting depth costs nothing but a list - while recording, for
each data path, the file and line it was written on. Paths are tuples of keys and list
indices, the same shape pydantic uses in ``loc``.

Every way a file can be unusable is one :class:`SourceError` naming the file (and the
line, where there is one): not UTF-8, not YAML, a duplicate key, nesting deeper than
:data:`MAX_DEPTH`, aliases that expand to more than :data:`MAX_ALIAS_NODES` nodes (an
"alias bomb": a 1 KB file that would expand to millions), and, in
:func:`read_yaml_file`, a path that is a directory, a FIFO or device, a symlink loop, or
a file that cannot be opened. None of them blocks (a FIFO is never opened) or recurses.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

try:
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader

PathT = tuple[str | int, ...]

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists accepted (the inventory model needs about 8)."""

MAX_ALIAS_NODES = 10_000
"""Most nodes that ``*alias`` references may add to one file in total."""

_STR = "tag:yaml.org,2002:str"
_MAP_TAGS = (None, "!", "tag:yaml.org,2002:map")
_SEQ_TAGS = (None, "!", "tag:yaml.org,2002:seq")


@dataclass
class SourceMap:
    """Where each data path of a merged document was written (file, 1-based line)."""

    where: dict[PathT, tuple[str, int]] = field(default_factory=dict)

    def locate(self, path: PathT) -> tuple[str, int]:
        """The file and line of ``path`` or of its nearest ancestor that was written down."""
        p = tuple(path)
        while p:
            hit = self.where.get(p)
            if hit is not None:
                return hit
            p = p[:-1]
        return self.where.get((), ("<inventory>", 0))


class SourceError(Exception):
    """A file cannot be used as YAML input; carries the file and line (0: the whole file)."""

    def __init__(self, file: str, line: int, message: str, path: PathT = ()) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.message = message
        self.path = path
        """The data path the problem is at, where there is one (a duplicate key's)."""


YamlSyntaxError = SourceError
"""The older name of :class:`SourceError`."""


@dataclass
class _Frame:
    value: dict[Any, Any] | list[Any]
    path: PathT
    anchor: str | None
    nodes: int = 1
    key: str | int | None = None
    has_key: bool = False


def _syntax_error(e: yaml.MarkedYAMLError, fname: str) -> SourceError:
    """Point at where the problem starts: an unterminated quote or bracket at the line it
    opens, not at the end of the file where libyaml noticed."""
    problem = e.problem or str(e)
    ctx = e.context or ""
    pm, cm = e.problem_mark, e.context_mark
    if cm is not None and pm is not None and cm.line != pm.line:
        if ctx.startswith("while scanning a quoted scalar"):
            return SourceError(fname, cm.line + 1, "YAML syntax error: this quoted string is never closed "
                                                   f"(the quote opens here; {problem} at line {pm.line + 1})")
        if ctx.startswith("while parsing a flow"):
            kind = "[" if "sequence" in ctx else "{"
            return SourceError(fname, cm.line + 1, f"YAML syntax error: the '{kind}' opened here is never closed "
                                                   f"({problem} at line {pm.line + 1})")
    mark = pm or cm
    line = mark.line + 1 if mark is not None else 0
    return SourceError(fname, line, f"YAML syntax error: {problem}")


def _scalar(loader: yaml.SafeLoader, ev: yaml.ScalarEvent) -> Any:
    """Resolve and construct a plain scalar the way SafeLoader does (ints, bools, nulls,
    floats, strings)."""
    tag = ev.tag
    if tag is None or tag == "!":
        tag = loader.resolve(yaml.ScalarNode, ev.value, ev.implicit)  # type: ignore[no-untyped-call]
    if tag == _STR:
        return ev.value
    ctor = loader.yaml_constructors.get(tag)
    if ctor is None or tag.startswith("tag:yaml.org,2002:python"):
        raise ValueError(f"unsupported YAML tag {tag}")
    return ctor(loader, yaml.ScalarNode(tag, ev.value, style=ev.style))


def load_yaml_with_lines(text: str, fname: str, smap: SourceMap, root: PathT = ()) -> Any:
    """Parse one YAML document; record the line of every path under ``root`` in ``smap``.

    Raises :class:`SourceError` (with the line) for anything that is not a plain YAML
    document of mappings, lists and scalars within the bounds above."""
    loader = _Loader(text)
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Any, int]] = {}
    aliased = 0
    result: Any = None
    documents = 0

    def fail(line: int, message: str, path: PathT = ()) -> SourceError:
        return SourceError(fname, line, message, path)

    def child_path(line: int) -> PathT:
        if not stack:
            return root
        top = stack[-1]
        if isinstance(top.value, list):
            return (*top.path, len(top.value))
        if not top.has_key:
            raise fail(line, "mapping keys must be plain strings or numbers")
        assert top.key is not None
        return (*top.path, top.key)

    def add(value: Any, line: int, nodes: int, is_scalar: bool) -> None:
        nonlocal result
        if not stack:
            result = value
            return
        top = stack[-1]
        top.nodes += nodes
        if isinstance(top.value, list):
            top.value.append(value)
            return
        if not top.has_key:
            if not is_scalar or isinstance(value, bool) or not isinstance(value, str | int):
                raise fail(line, "mapping keys must be plain strings or numbers")
            if value in top.value:
                first = smap.where.get((*top.path, value), (fname, 0))[1]
                raise fail(line, f"duplicate key {value!r} (first at line {first})", (*top.path, value))
            top.key, top.has_key = value, True
            smap.where[(*top.path, value)] = (fname, line)
            return
        top.value[top.key] = value
        top.key, top.has_key = None, False

    try:
        while loader.check_event():
            ev = loader.get_event()  # type: ignore[no-untyped-call]
            line = ev.start_mark.line + 1 if ev.start_mark is not None else 0
            if isinstance(ev, yaml.ScalarEvent):
                if stack and isinstance(stack[-1].value, dict) and not stack[-1].has_key and ev.value == "<<" \
                        and ev.implicit[0]:
                    raise fail(line, "YAML merge keys (<<) are not supported")
                try:
                    value = _scalar(loader, ev)
                except (ValueError, yaml.YAMLError) as e:
                    raise fail(line, f"YAML value error: {e}") from None
                keyed = bool(stack) and isinstance(stack[-1].value, dict) and stack[-1].has_key
                if not (stack and isinstance(stack[-1].value, dict) and not stack[-1].has_key):
                    path = child_path(line)
                    if not keyed:  # a key's own line is already recorded for its value
                        smap.where[path] = (fname, line)
                if ev.anchor:
                    anchors[ev.anchor] = (value, 1)
                add(value, line, 1, True)
            elif isinstance(ev, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                is_map = isinstance(ev, yaml.MappingStartEvent)
                if ev.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
                    raise fail(line, f"unsupported YAML tag {ev.tag}")
                if len(stack) >= MAX_DEPTH:
                    raise fail(line, f"nested deeper than {MAX_DEPTH} levels")
                path = child_path(line)
                keyed = bool(stack) and isinstance(stack[-1].value, dict)
                if not keyed:
                    smap.where[path] = (fname, line)
                stack.append(_Frame({} if is_map else [], path, ev.anchor))
            elif isinstance(ev, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                frame = stack.pop()
                if frame.anchor:
                    anchors[frame.anchor] = (frame.value, frame.nodes)
                add(frame.value, line, frame.nodes, False)
            elif isinstance(ev, yaml.AliasEvent):
                hit = anchors.get(ev.anchor or "")
                if hit is None:
                    raise fail(line, f"unknown alias *{ev.anchor} (an anchor must be defined before its use)")
                value, nodes = hit
                aliased += nodes
                if aliased > MAX_ALIAS_NODES:
                    raise fail(line, f"aliases expand to more than {MAX_ALIAS_NODES} nodes (an alias bomb?); "
                                     "write the values out instead")
                if not (stack and isinstance(stack[-1].value, dict) and not stack[-1].has_key):
                    path = child_path(line)
                    if not (stack and isinstance(stack[-1].value, dict)):
                        smap.where[path] = (fname, line)
                add(value, line, nodes, not isinstance(value, dict | list))
            elif isinstance(ev, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise fail(line, "more than one YAML document (---) in the file")
    except yaml.MarkedYAMLError as e:
        raise _syntax_error(e, fname) from None
    except yaml.YAMLError as e:  # pragma: no cover - unmarked libyaml errors
        raise fail(0, f"YAML syntax error: {e}") from None
    finally:
        loader.dispose()
    return result


def _decode(data: bytes, fname: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        bad = data[e.start:e.start + 1].hex()
        raise SourceError(fname, line, f"not UTF-8 text (byte 0x{bad}); save the file as UTF-8") from None


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def read_source(path: Path, display: str | None = None) -> str:
    """The text of ``path``, or :class:`SourceError` saying why it is not a usable file.
    Checks what the path is before opening it, so a FIFO never blocks the reader."""
    fname = display or str(path)
    try:
        st = os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise SourceError(fname, 0, "symlink loop: the file cannot be read") from None
        if e.errno == errno.ENOENT and os.path.islink(path):
            raise SourceError(fname, 0, f"broken symlink to {os.readlink(path)}") from None
        raise SourceError(fname, 0, f"cannot be read: {e.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise SourceError(fname, 0, "is a directory, not a YAML file (rename it or move it out of the folder)")
    if not stat.S_ISREG(st.st_mode):
        raise SourceError(fname, 0, f"is {_kind(st.st_mode)}, not a YAML file")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise SourceError(fname, 0, f"cannot be read: {e.strerror or e}") from None
    return _decode(data, fname)


def read_yaml_file(path: Path, smap: SourceMap, display: str | None = None) -> Any:
    """Read and parse a file, naming it ``display`` (default: its path) in the source map."""
    name = display or str(path)
    return load_yaml_with_lines(read_source(path, name), name, smap)
