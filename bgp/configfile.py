"""YAML + pydantic -> ``FILE:LINE: path: message``: the one way bgp reads a config file.

Used by the agent config (:mod:`bgp.config`) and the directory source's service files.
A caller may rely on:

- :func:`load` returns the validated model or raises :class:`ConfigError` carrying *every*
  problem as a :class:`Problem` record (file, line, data path, message): data, never a
  string to be parsed back;
- any key or string value holding a control character or a newline is a problem (it could
  start a new command on ExaBGP's pipe), reported once, before any model looks at it;
- cross-field checks (``cross``) run whether or not the fields validated, so a field
  error never hides them; problems come out sorted by line.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import TypeAdapter, ValidationError

Loc = tuple[str | int, ...]
"""A data path as a tuple of keys and list indices (the shape of pydantic's ``loc``)."""
LineMap = Mapping[Loc, int]
"""1-based line of each data path of a document."""

M = TypeVar("M")

_BASE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"


class _Loader(_BASE_LOADER):  # type: ignore[valid-type,misc]
    """The safe loader, with one shortcut: a plain scalar holding a ``/`` is a string. No
    implicit resolver of YAML 1.1 (bool, int, float, null, timestamp, merge, value) matches a
    ``/`` (tests/bgp/unit/test_bgp_configfile_speed.py checks each), so the answer is the one
    the resolvers would give, without trying their regular expressions on every prefix of a
    services file: that was half the time of reading 10,000 prefixes."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0] and "/" in value:
            return _STR
        return super().resolve(kind, value, implicit)


_LOADER: type[yaml.SafeLoader] = _Loader
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SEXAGESIMAL = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})


@dataclass(frozen=True)
class Problem:
    """One problem of a config file. ``line`` 0: not known; ``path`` "": the file as a whole;
    ``file`` "": not known yet (the caller names it with :meth:`ConfigError.in_file`)."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.file and self.line else self.file
        parts = [p for p in (where, self.path) if p]
        return ": ".join([*parts, self.message])


class ConfigError(Exception):
    """Invalid configuration: ``problems`` holds every problem found, in file order."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One ``FILE:LINE: path: message`` line per problem."""
        return [str(p) for p in self.problems]

    def in_file(self, display: str) -> ConfigError:
        """The same problems, with ``display`` as the file of those that named none."""
        return ConfigError([p if p.file else replace(p, file=display) for p in self.problems])


def problem(path: str, message: str) -> ConfigError:
    """A single problem found outside a file read (a setting that fails at use)."""
    return ConfigError([Problem("", 0, path, message)])


def format_path(loc: Loc) -> str:
    """``peers[1].address`` from ``("peers", 1, "address")``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def line_of(loc: Loc, lines: LineMap) -> int:
    """Line of ``loc`` or of its nearest ancestor that is written in the file (0: none)."""
    parts = tuple(loc)
    while parts:
        if parts in lines:
            return lines[parts]
        parts = parts[:-1]
    return 0


MAX_DEPTH = 50
"""Deepest nesting of lists and mappings a config file may have (a real one needs < 10)."""
MAX_ALIAS_NODES = 100_000
"""How many nodes YAML aliases may add to a file when expanded (an alias bomb adds billions)."""


class _Refused(Exception):
    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message


def _check_shape(root: yaml.Node) -> None:
    """Refuse (before anything is built) nesting deeper than :data:`MAX_DEPTH`, recursive
    aliases, and aliases expanding to more than :data:`MAX_ALIAS_NODES` extra nodes."""
    size: dict[int, int] = {}
    open_: set[int] = set()
    limit = MAX_ALIAS_NODES + 1

    def walk(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in size:
            return size[key]
        if key in open_:
            raise _Refused(node.start_mark.line + 1, "a YAML alias refers to the node that contains it")
        if depth > MAX_DEPTH:
            raise _Refused(node.start_mark.line + 1, f"nested deeper than {MAX_DEPTH} levels")
        n = 1
        if isinstance(node, yaml.SequenceNode | yaml.MappingNode):
            open_.add(key)
            children = node.value if isinstance(node, yaml.SequenceNode) else [c for kv in node.value for c in kv]
            for child in children:
                n = min(n + walk(child, depth + 1), limit * 4)
            open_.discard(key)
        size[key] = n
        return n

    expanded = walk(root, 0)
    if expanded - len(size) > MAX_ALIAS_NODES:
        raise _Refused(root.start_mark.line + 1, f"YAML aliases expand to more than {MAX_ALIAS_NODES} extra nodes")


def _check_depth(node: yaml.Node, depth: int = 0) -> None:
    """:func:`_check_shape` for a document without anchors (hence without aliases): only the
    depth can be wrong; the same node is reported (the first too deep, in document order)."""
    if depth > MAX_DEPTH:
        raise _Refused(node.start_mark.line + 1, f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(node, yaml.SequenceNode):
        children: list[yaml.Node] = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [c for kv in node.value for c in kv]
    else:
        return
    for child in children:
        if depth + 1 > MAX_DEPTH or not isinstance(child, yaml.ScalarNode):
            _check_depth(child, depth + 1)


def _build(loader: yaml.SafeLoader, root: yaml.Node, lines: dict[Loc, int]) -> Any:
    """Python data from the composed nodes, recording the line of every path; refuses
    duplicate keys and merge keys (``<<``). Aliased nodes are built once and shared."""
    built: dict[int, Any] = {}

    def walk(node: yaml.Node, path: Loc) -> Any:
        lines.setdefault(path, node.start_mark.line + 1)
        if id(node) in built:
            return built[id(node)]
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            first: dict[Any, int] = {}
            for knode, vnode in node.value:
                kline = knode.start_mark.line + 1
                if knode.tag == "tag:yaml.org,2002:merge":
                    raise _Refused(kline, "YAML merge keys (<<) are not supported: write the keys out")
                if not isinstance(knode, yaml.ScalarNode):
                    raise _Refused(kline, "a mapping key must be a plain value, not a list or mapping")
                key = walk(knode, (*path, "<key>"))
                if key in first:
                    raise _Refused(kline, f"{format_path((*path, key))}: duplicate key {key!r} (first at line {first[key]})")
                first[key] = kline
                lines[(*path, key)] = kline
                out[key] = walk(vnode, (*path, key))
            value: Any = out
        elif isinstance(node, yaml.SequenceNode):
            value = [walk(item, (*path, i)) for i, item in enumerate(node.value)]
        elif node.tag == "tag:yaml.org,2002:str" or (node.tag in _SEXAGESIMAL and ":" in node.value):
            # YAML 1.1 reads 65000:100 as a base-60 number; here it is the text as written
            # (a community), as YAML 1.2 has it.
            value = node.value
        else:
            value = loader.construct_object(node)
        built[id(node)] = value
        return value

    data = walk(root, ())
    for key in [k for k in lines if "<key>" in k]:
        del lines[key]
    return data


def parse_yaml(text: str, display: str) -> tuple[Any, dict[Loc, int]]:
    """One YAML document: its data and the 1-based line of every data path. Raises
    :class:`ConfigError` with one problem (syntax, duplicate key, too deep, alias bomb)."""
    loader = _LOADER(text)
    lines: dict[Loc, int] = {}
    try:
        root = loader.get_single_node()
        if root is None:
            return None, lines
        if "&" in text:  # anchors, hence possibly aliases: the full check
            _check_shape(root)
        else:
            _check_depth(root)
        return _build(loader, root, lines), lines
    except _Refused as e:
        raise ConfigError([Problem(display, e.line, "", e.message)]) from None
    except yaml.reader.ReaderError as e:
        line = text[: e.position].count("\n") + 1
        char = e.character if isinstance(e.character, str) else chr(e.character)
        raise ConfigError([Problem(display, line, "", f"YAML syntax error: character {char!r} is not allowed")]) from None
    except yaml.YAMLError as e:
        raise ConfigError([_syntax_problem(e, display)]) from None
    finally:
        loader.dispose()


def _opened(context: str) -> str:
    return context.removeprefix("while scanning ").removeprefix("while parsing ")


def _syntax_problem(e: yaml.YAMLError, display: str) -> Problem:
    """Where a syntax error starts: for a construct left open until the end of the file (an
    unterminated quote or bracket) that is the line it opens, not the end of the file."""
    mark = getattr(e, "problem_mark", None)
    context_mark = getattr(e, "context_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    context = getattr(e, "context", None)
    if context_mark is not None and context and "end of stream" in problem:
        message = f"YAML syntax error: {_opened(context)} that starts here is never closed"
        return Problem(display, context_mark.line + 1, "", message)
    return Problem(display, mark.line + 1 if mark is not None else 0, "", f"YAML syntax error: {problem}")


MAX_FILE_BYTES = 64 * 2**20
"""Largest file read (a directory-source file with 100,000 prefixes is about 2.5 MB)."""


def read_text(path: Path | str, display: str | None = None) -> str:
    """The UTF-8 text of a regular file. A directory, a FIFO or device (which could block
    or never end), an unreadable or oversized file, a symlink loop, a file that is not
    UTF-8: each one :class:`ConfigError` naming the file."""
    display = str(path) if display is None else display

    def refuse(message: str) -> ConfigError:
        return ConfigError([Problem(display, 0, "", message)])

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise refuse(f"cannot read: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise refuse("is a directory, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise refuse("not a regular file")
        if st.st_size > MAX_FILE_BYTES:
            raise refuse(f"larger than {MAX_FILE_BYTES // 2**20} MiB")
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise refuse(f"cannot read: {e.strerror or e}") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_FILE_BYTES:
        raise refuse(f"larger than {MAX_FILE_BYTES // 2**20} MiB")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ConfigError([Problem(display, line, "", f"not UTF-8 text (byte {raw[e.start]:#04x})")]) from None


def read_yaml(path: Path | str, display: str | None = None) -> tuple[Any, dict[Loc, int]]:
    """Read and parse one YAML file: its data and the line of every data path.
    Raises :class:`ConfigError` (one problem naming the file) when it cannot."""
    display = str(path) if display is None else display
    return parse_yaml(read_text(path, display), display)


def control_paths(data: Any, path: Loc = ()) -> list[Loc]:
    """Data paths of every key or string value holding a control character or newline."""
    found: list[Loc] = []
    if isinstance(data, str):
        if _CONTROL.search(data):
            found.append(path)
    elif isinstance(data, Mapping):
        for key, value in data.items():
            sub = (*path, str(key))
            if isinstance(key, str) and _CONTROL.search(key):
                found.append(sub)
            else:
                found.extend(control_paths(value, sub))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found.extend(control_paths(value, (*path, i)))
    return found


def _document_loc(data: Any, loc: Sequence[int | str], missing: bool) -> Loc:
    """The part of a pydantic ``loc`` that names keys of the document (union tags and
    validator names dropped), so the path points into the file."""
    out: list[str | int] = []
    cur = data
    for i, part in enumerate(loc):
        if isinstance(part, int) and isinstance(cur, list) and 0 <= part < len(cur):
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, Mapping) and part in cur:
            out.append(part)
            cur = cur[part]
        elif missing and i == len(loc) - 1:
            out.append(part)
    return tuple(out)


def _found(data: Any, e: ValidationError) -> list[tuple[Loc, str, str]]:
    """``(location, error type, message)`` of every error pydantic reported."""
    found: list[tuple[Loc, str, str]] = []
    for err in e.errors(include_url=False):
        loc = _document_loc(data, err["loc"], err["type"] == "missing")
        # a message quoting a value with a newline (a union tag) must stay one line
        msg = _CONTROL.sub(lambda m: repr(m.group())[1:-1], err["msg"].removeprefix("Value error, "))
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] == "union_tag_not_found":
            loc, msg = (*loc, "kind"), "Field required (tcp, http, dns or exec)"
        found.append((loc, err["type"], msg))
    return _join_misspelled(found)


def _join_misspelled(found: list[tuple[Loc, str, str]]) -> list[tuple[Loc, str, str]]:
    """A misspelled required key gives two errors (the key is unknown, the required one is
    missing): report the one real problem, at the misspelled key."""
    missing = {loc: i for i, (loc, kind, _) in enumerate(found) if kind == "missing" and loc and isinstance(loc[-1], str)}
    drop: set[int] = set()
    for i, (loc, kind, _) in enumerate(found):
        if kind != "extra_forbidden" or not loc or not isinstance(loc[-1], str):
            continue
        siblings = [str(m[-1]) for m in missing if m[:-1] == loc[:-1] and missing[m] not in drop]
        close = difflib.get_close_matches(loc[-1], siblings, n=1, cutoff=0.6)
        if close:
            drop.add(missing[(*loc[:-1], close[0])])
            found[i] = (loc, kind, f"unknown key: did you mean {close[0]!r} (required, missing)?")
    return [f for i, f in enumerate(found) if i not in drop]


def validate(
    schema: type[M] | TypeAdapter[M],
    data: Any,
    display: str,
    lines: LineMap | None = None,
    cross: Callable[[Any, M | None], Iterable[tuple[Loc, str]]] | None = None,
) -> M:
    """Validate parsed YAML against a pydantic model (or a TypeAdapter); raises
    :class:`ConfigError` with every problem, each located with ``lines``.

    ``cross(data, model_or_None)`` returns the problems that span fields; it runs whether
    or not the fields validated (given None and the raw data when they did not), so one
    field error never hides the cross-checks."""
    lines = lines or {}

    def at(loc: Loc, message: str) -> Problem:
        return Problem(display, line_of(loc, lines), format_path(loc), message)

    control = control_paths(data)
    problems = [at(loc, "must not contain control characters or newlines") for loc in control]
    adapter: TypeAdapter[M] = schema if isinstance(schema, TypeAdapter) else TypeAdapter(schema)
    result: M | None = None
    try:
        result = adapter.validate_python(data)
    except ValidationError as e:
        found = _found(data, e)
        for loc, kind, msg in found:
            if loc in control:
                continue  # already reported as a control character; one message is enough
            if kind == "too_short" and any(other[: len(loc)] == loc and len(other) > len(loc) for other, _, _ in found):
                continue  # pydantic's "too short" after an item failed is an echo, not a problem
            problems.append(at(loc, msg))
    if cross is not None:
        problems += [at(loc, msg) for loc, msg in cross(data, result)]
    if problems or result is None:
        problems = sorted(dict.fromkeys(problems), key=lambda p: (p.line, p.path))
        raise ConfigError(problems)
    return result


def load(schema: type[M] | TypeAdapter[M], path: Path | str, display: str | None = None) -> M:
    """Read, parse and validate one file (:func:`read_yaml` then :func:`validate`)."""
    display = str(path) if display is None else display
    data, lines = read_yaml(path, display)
    return validate(schema, data, display, lines)

