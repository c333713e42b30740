"""YAML + pydantic -> ``FILE:LINE: path: message``: the one way bgp reads a config file.

Used by the agent config (:mod:`bgp.config`) and the directory source's service files.
A caller may rely on:

- :func:`load` returns the validated model or raises :class:`ConfigError` carrying *every*
  problem as a :class:`Problem` record (file, line, data path, message): data, never a
  string to be parsed back;
- any key or string value holding a control character or a newline is a problem (it could
  start a new command on ExaBGP's pipe), reported once, before any model looks at it;
- a cross-field check raises :class:`CrossCheckError` from a model validator with its own
  ``(location, message)`` pairs; they come out as problems with the right line too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
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

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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


class CrossCheckError(ValueError):
    """Raised by a model validator: problems spanning fields, each with its own location
    relative to the validated document."""

    def __init__(self, found: Iterable[tuple[Loc, str]]) -> None:
        self.found = list(found)
        super().__init__("; ".join(f"{format_path(loc)}: {msg}" for loc, msg in self.found))


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
        elif node.tag == "tag:yaml.org,2002:str":
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
        _check_shape(root)
        return _build(loader, root, lines), lines
    except _Refused as e:
        raise ConfigError([Problem(display, e.line, "", e.message)]) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise ConfigError([Problem(display, line, "", f"YAML syntax error: {getattr(e, 'problem', None) or e}")]) from None
    finally:
        loader.dispose()


def read_yaml(path: Path | str, display: str | None = None) -> tuple[Any, dict[Loc, int]]:
    """Read and parse one YAML file: its data and the line of every data path.
    Raises :class:`ConfigError` (one problem naming the file) when it cannot."""
    p = Path(path)
    display = str(path) if display is None else display
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError([Problem(display, 0, "", f"cannot read: {e.strerror or e}")]) from None
    except UnicodeDecodeError:
        raise ConfigError([Problem(display, 0, "", "not UTF-8 text")]) from None
    return parse_yaml(text, display)


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
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, CrossCheckError):
            base = _document_loc(data, err["loc"], False)
            found += [((*base, *loc), "cross", msg) for loc, msg in ctx_error.found]
            continue
        loc = _document_loc(data, err["loc"], err["type"] == "missing")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] == "union_tag_not_found":
            loc, msg = (*loc, "kind"), "Field required (tcp, http, dns or exec)"
        found.append((loc, err["type"], msg))
    return found


def validate(schema: type[M] | TypeAdapter[M], data: Any, display: str, lines: LineMap | None = None) -> M:
    """Validate parsed YAML against a pydantic model (or a TypeAdapter); raises
    :class:`ConfigError` with every problem, each located with ``lines``."""
    lines = lines or {}

    def at(loc: Loc, message: str) -> Problem:
        return Problem(display, line_of(loc, lines), format_path(loc), message)

    control = control_paths(data)
    problems = [at(loc, "must not contain control characters or newlines") for loc in control]
    adapter: TypeAdapter[M] = schema if isinstance(schema, TypeAdapter) else TypeAdapter(schema)
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
        raise ConfigError(list(dict.fromkeys(problems))) from None
    if problems:
        raise ConfigError(problems)
    return result


def load(schema: type[M] | TypeAdapter[M], path: Path | str, display: str | None = None) -> M:
    """Read, parse and validate one file (:func:`read_yaml` then :func:`validate`)."""
    display = str(path) if display is None else display
    data, lines = read_yaml(path, display)
    return validate(schema, data, display, lines)

