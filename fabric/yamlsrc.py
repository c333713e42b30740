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

:meth:`SourceMap.problem` locates a message at a data path; :func:`schema_problems`
turns a pydantic :class:`~pydantic.ValidationError` into located problems (as data:
:class:`~fabric.errors.Problem`, never strings parsed back), naming the closest valid
key for an unknown one.
"""

from __future__ import annotations

import difflib
import errno
import json
import os
import re
import stat
import types
import typing
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from fabric.errors import Problem

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

    def problem(self, path: PathT, message: str) -> Problem:
        """A problem located at ``path`` (or its nearest written ancestor)."""
        fname, line = self.locate(path)
        return Problem(fname, line, format_path(path), message)


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_/-]*$|^[A-Za-z0-9_][A-Za-z0-9_./-]*[A-Za-z0-9_]$")


def format_path(path: PathT) -> str:
    """``("leaves", 3, "name")`` -> ``leaves[3].name``; a key with spaces, quotes or other
    odd characters is written ``["a key"]`` (JSON-quoted), so a path never holds ": "."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _PLAIN_KEY.match(part) and not (out == "" and part == "<root>"):
            out += f"[{json.dumps(part)}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _real_path(data: Any, loc: tuple[str | int, ...]) -> PathT:
    """Map a pydantic ``loc`` onto the data path, dropping union-member tags."""
    out: list[str | int] = []
    cur = data
    for part in loc:
        if isinstance(cur, dict) and part in cur:
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, dict | list):
            # pydantic names a missing key or a union member: keep names of missing keys
            if isinstance(part, str) and not any(c in part for c in "[]'(,"):
                out.append(part)
            cur = None
        # else: beyond a scalar: union tags; ignore
    return tuple(out)


def _message(err: dict[str, Any]) -> str:
    msg = str(err.get("msg", "invalid value"))
    if err.get("type") == "extra_forbidden":
        return "unknown key"
    if err.get("type") == "missing":
        return "required key is missing"
    return msg.removeprefix("Value error, ")


def _unwrap(tp: Any) -> list[Any]:
    """The types a field annotation may hold: Optional, Annotated and unions opened up."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(tp) for t in _unwrap(a)]
    return [tp]


def model_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class that holds the keys at ``loc`` (a pydantic loc under ``model``)."""
    current: list[Any] = [model]
    for part in loc:
        nxt: list[Any] = []
        for tp in current:
            for t in _unwrap(tp):
                origin = typing.get_origin(t)
                if isinstance(part, int) and origin in (list, tuple):
                    nxt.extend(_unwrap(typing.get_args(t)[0]))
                elif isinstance(part, str) and isinstance(t, type) and issubclass(t, BaseModel):
                    f = t.model_fields.get(part)
                    if f is not None:
                        nxt.extend(_unwrap(f.annotation))
        current = nxt
    models = [t for t in current if isinstance(t, type) and issubclass(t, BaseModel)]
    return models[0] if len(models) == 1 else None


def unknown_key_message(
    key: object, valid: list[str], missing: set[str] | frozenset[str] = frozenset()
) -> tuple[str, str | None]:
    """The message for an unknown ``key`` among ``valid`` keys, and the valid key it most
    likely meant (preferring a required key that is missing)."""
    guess = difflib.get_close_matches(str(key), sorted(missing), n=1, cutoff=0.6) or \
        difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6)
    meant = guess[0] if guess else None
    hint = f"did you mean {meant!r}? " if meant else ""
    return f"unknown key {key!r}; {hint}valid keys here: {', '.join(valid)}", meant


def schema_problems(
    data: Any, smap: SourceMap, exc: ValidationError, root: PathT = (), model: type[BaseModel] | None = None
) -> list[Problem]:
    """Every error of ``exc`` (validating the value at ``root`` of ``data``) as a located
    problem: pydantic's ``loc`` mapped onto the data path, its message made plain.

    With the ``model`` that was validated, an unknown key names the closest valid key and
    lists the valid keys at that place; a misspelled required key is one problem, at the
    misspelling (its "required key is missing" is not reported beside it)."""
    errors: list[dict[str, Any]] = [dict(e) for e in exc.errors()]
    missing: dict[tuple[str | int, ...], set[str]] = defaultdict(set)
    for err in errors:
        eloc: tuple[str | int, ...] = tuple(err["loc"])
        if err.get("type") == "missing" and eloc and isinstance(eloc[-1], str):
            missing[eloc[:-1]].add(eloc[-1])
    replaced: set[tuple[str | int, ...]] = set()
    out = []
    for err in errors:
        loc: tuple[str | int, ...] = tuple(err["loc"])
        owner = model_at(model, loc[:-1]) if model is not None and loc and err.get("type") == "extra_forbidden" \
            else None
        if owner is not None:
            msg, meant = unknown_key_message(loc[-1], list(owner.model_fields), missing.get(loc[:-1], set()))
            if meant is not None and meant in missing.get(loc[:-1], set()):
                replaced.add((*loc[:-1], meant))
            out.append((loc, msg))
            continue
        out.append((loc, _message(err)))
    return [smap.problem(_real_path(data, (*root, *loc)), msg) for loc, msg in out
            if not (msg == "required key is missing" and loc in replaced)]


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


class _Frame:
    """A mapping or list being built: its value, data path, anchor, node count, and (for
    a mapping) the key waiting for its value."""

    __slots__ = ("anchor", "has_key", "is_map", "key", "nodes", "path", "value")

    def __init__(self, value: dict[Any, Any] | list[Any], path: PathT, anchor: str | None) -> None:
        self.value = value
        self.path = path
        self.anchor = anchor
        self.is_map = isinstance(value, dict)
        self.nodes = 1
        self.key: str | int | None = None
        self.has_key = False


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


# A plain scalar starting with none of these is a string in YAML 1.1 (bools start with
# y/n/t/f/o, nulls with ~/n, numbers with a digit, sign or dot, timestamps with a digit).
_MAYBE_TYPED = frozenset("0123456789+-.~:<=yYnNtTfFoO")
_WORDS: dict[str, bool | None] = {
    **{w: True for w in ("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON")},
    **{w: False for w in ("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF")},
    **{w: None for w in ("null", "Null", "NULL")},
}
"""The plain scalars starting with a letter that SafeLoader does not read as strings."""


def _scalar(loader: yaml.SafeLoader, ev: yaml.ScalarEvent, memo: dict[str, Any]) -> Any:
    """Resolve and construct a plain scalar the way SafeLoader does (ints, bools, nulls,
    floats, strings); ``memo`` caches resolved plain scalars by their text."""
    tag = ev.tag
    value = ev.value
    if tag is None or tag == "!":
        if not ev.implicit[0]:
            return value  # quoted: a string
        if value and value[0] not in _MAYBE_TYPED:
            return value
        if value[:1].isalpha():  # y/n/t/f/o: only the YAML 1.1 bool and null words are typed
            return _WORDS.get(value, value)
        if "/" in value:  # no implicit YAML 1.1 type has a slash (10.1.1.1/24 is a string)
            return value
        if value in memo:
            return memo[value]
        tag = loader.resolve(yaml.ScalarNode, value, ev.implicit)  # type: ignore[no-untyped-call]
        if tag in (_STR, "tag:yaml.org,2002:int", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null",
                   "tag:yaml.org,2002:float"):
            memo[value] = out = value if tag == _STR else _construct(loader, tag, ev)
            return out
    if tag == _STR:
        return value
    return _construct(loader, tag, ev)


def _construct(loader: yaml.SafeLoader, tag: str, ev: yaml.ScalarEvent) -> Any:
    ctor = loader.yaml_constructors.get(tag)
    if ctor is None or tag.startswith("tag:yaml.org,2002:python"):
        raise ValueError(f"unsupported YAML tag {tag}")
    return ctor(loader, yaml.ScalarNode(tag, ev.value, style=ev.style))


def load_yaml_with_lines(text: str, fname: str, smap: SourceMap, root: PathT = ()) -> Any:
    """Parse one YAML document; record the line of every path under ``root`` in ``smap``.

    Raises :class:`SourceError` (with the line) for anything that is not a plain YAML
    document of mappings, lists and scalars within the bounds above."""
    loader = _Loader(text)
    where = smap.where
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Any, int]] = {}
    memo: dict[str, Any] = {}
    aliased = 0
    documents = 0
    result: Any = None
    done = False
    next_event = loader.get_event
    scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
    map_start, seq_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
    map_end, seq_end = yaml.MappingEndEvent, yaml.SequenceEndEvent

    def fail(line: int, message: str, path: PathT = ()) -> SourceError:
        return SourceError(fname, line, message, path)

    def place(value: Any, nodes: int, line: int, is_scalar: bool, start: bool) -> None:
        """Put a finished value (or, with ``start``, record the path of a collection
        about to be built) into the collection on top of the stack."""
        nonlocal result, done
        if not stack:
            if not start:
                result, done = value, True
            else:
                where[root] = (fname, line)
            return
        top = stack[-1]
        if top.is_map:
            if not top.has_key:
                if start or not is_scalar or isinstance(value, bool) or not isinstance(value, str | int):
                    raise fail(line, "mapping keys must be plain strings or numbers")
                if value in top.value:
                    first = where.get((*top.path, value), (fname, 0))[1]
                    raise fail(line, f"duplicate key {value!r} (first at line {first})", (*top.path, value))
                top.key, top.has_key = value, True
                where[(*top.path, value)] = (fname, line)  # a value's line is its key's line
                return
            if start:
                return
            top.value[top.key] = value  # type: ignore[index]
            top.key, top.has_key = None, False
        else:
            if start:
                where[(*top.path, len(top.value))] = (fname, line)
                return
            where.setdefault((*top.path, len(top.value)), (fname, line))
            top.value.append(value)  # type: ignore[union-attr]
        top.nodes += nodes

    try:
        # the hot path (a plain scalar into a mapping or list that is there) is written
        # out here; everything else goes through place() and _scalar()
        while (ev := next_event()) is not None:  # type: ignore[no-untyped-call]
            cls = type(ev)
            if cls is scalar_event:
                line = ev.start_mark.line + 1
                top = stack[-1] if stack else None
                value = ev.value
                if top is not None and top.is_map and not top.has_key and value == "<<" and ev.implicit[0]:
                    raise fail(line, "YAML merge keys (<<) are not supported")
                if ev.tag is None and (not ev.implicit[0] or (value and value[0] not in _MAYBE_TYPED)):
                    pass  # a string: quoted, or plain and starting like no other type
                else:
                    try:
                        value = _scalar(loader, ev, memo)
                    except (ValueError, yaml.YAMLError) as e:
                        raise fail(line, f"YAML value error: {e}") from None
                if ev.anchor:
                    anchors[ev.anchor] = (value, 1)
                if top is None or type(value) is not str:
                    place(value, 1, line, True, False)
                elif top.is_map:
                    if not top.has_key:
                        if value in top.value:
                            place(value, 1, line, True, False)  # the duplicate key's error
                        top.key, top.has_key = value, True
                        where[(*top.path, value)] = (fname, line)  # a value's line is its key's line
                        continue
                    top.value[top.key] = value  # type: ignore[index]
                    top.key, top.has_key = None, False
                    top.nodes += 1
                else:
                    items = top.value
                    where.setdefault((*top.path, len(items)), (fname, line))
                    items.append(value)  # type: ignore[union-attr]
                    top.nodes += 1
            elif cls is map_start or cls is seq_start:
                line = ev.start_mark.line + 1
                is_map = cls is map_start
                if ev.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
                    raise fail(line, f"unsupported YAML tag {ev.tag}")
                if len(stack) >= MAX_DEPTH:
                    raise fail(line, f"nested deeper than {MAX_DEPTH} levels")
                place(None, 0, line, False, True)
                if stack:
                    top = stack[-1]
                    path = (*top.path, top.key if top.key is not None else "") if top.is_map \
                        else (*top.path, len(top.value))
                else:
                    path = root
                stack.append(_Frame({} if is_map else [], path, ev.anchor))
            elif cls is map_end or cls is seq_end:
                frame = stack.pop()
                if frame.anchor:
                    anchors[frame.anchor] = (frame.value, frame.nodes)
                place(frame.value, frame.nodes, ev.start_mark.line + 1, False, False)
            elif cls is alias_event:
                line = ev.start_mark.line + 1
                hit = anchors.get(ev.anchor or "")
                if hit is None:
                    raise fail(line, f"unknown alias *{ev.anchor} (an anchor must be defined before its use)")
                value, nodes = hit
                aliased += nodes
                if aliased > MAX_ALIAS_NODES:
                    raise fail(line, f"aliases expand to more than {MAX_ALIAS_NODES} nodes (an alias bomb?); "
                                     "write the values out instead")
                place(value, nodes, line, not isinstance(value, dict | list), False)
            elif cls is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise fail(ev.start_mark.line + 1, "more than one YAML document (---) in the file")
    except yaml.MarkedYAMLError as e:
        raise _syntax_error(e, fname) from None
    except yaml.reader.ReaderError as e:  # a character YAML does not allow (a control character)
        line = text.count("\n", 0, max(0, e.position)) + 1
        raise fail(line, f"YAML syntax error: character {ord(e.character) if isinstance(e.character, str) else e.character:#04x}"
                         " is not allowed in YAML") from None
    except yaml.YAMLError as e:  # pragma: no cover - other unmarked libyaml errors
        raise fail(0, "YAML syntax error: " + " ".join(str(e).split())) from None
    finally:
        loader.dispose()
    if not done and result is None and root not in where:
        return None
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
