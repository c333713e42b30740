"""YAML loading that remembers where every value came from, and the one way a problem
in such a document becomes ``FILE:LINE: data.path: message``.

``load_yaml_with_lines`` parses with libyaml (C) into nodes and turns them into plain
Python data while recording, for each data path, the file and line it was written on.
Paths are tuples of keys and list indices, the same shape pydantic uses in ``loc``.
:meth:`SourceMap.problem` locates a message at a data path; :func:`schema_problems`
turns a pydantic :class:`~pydantic.ValidationError` into located problems (as data:
:class:`~fabric.errors.Problem`, never strings parsed back).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from fabric.errors import Problem

try:
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader

PathT = tuple[str | int, ...]


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


def format_path(path: PathT) -> str:
    """``("leaves", 3, "name")`` -> ``leaves[3].name``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
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
        return "unknown key (typo?)"
    if err.get("type") == "missing":
        return "required key is missing"
    return msg.removeprefix("Value error, ")


def schema_problems(data: Any, smap: SourceMap, exc: ValidationError, root: PathT = ()) -> list[Problem]:
    """Every error of ``exc`` (validating the value at ``root`` of ``data``) as a located
    problem: pydantic's ``loc`` mapped onto the data path, its message made plain."""
    return [smap.problem(_real_path(data, (*root, *err["loc"])), _message(dict(err))) for err in exc.errors()]


class YamlSyntaxError(Exception):
    """A file is not valid YAML; carries file and line."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.message = message


_construct = _Loader.construct_scalar


def _scalar(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    # Resolve the tag the way SafeLoader does (ints, bools, nulls, floats, strings).
    tag = node.tag
    if tag == "tag:yaml.org,2002:str":
        return node.value
    ctor = loader.yaml_constructors.get(tag)
    if ctor is None:
        return node.value
    return ctor(loader, node)


def _walk(loader: yaml.SafeLoader, node: yaml.Node, path: PathT, fname: str, smap: SourceMap) -> Any:
    smap.where[path] = (fname, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            if knode.tag == "tag:yaml.org,2002:merge":
                raise YamlSyntaxError(fname, knode.start_mark.line + 1, "YAML merge keys (<<) are not supported")
            key = _scalar(loader, knode) if isinstance(knode, yaml.ScalarNode) else None
            if not isinstance(key, str | int):
                raise YamlSyntaxError(fname, knode.start_mark.line + 1, "mapping keys must be strings")
            if key in out:
                raise YamlSyntaxError(fname, knode.start_mark.line + 1, f"duplicate key {key!r}")
            out[key] = _walk(loader, vnode, (*path, key), fname, smap)
            # a key's own line is a better pointer than its value's for scalars on the next line
            smap.where[(*path, key)] = (fname, knode.start_mark.line + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(loader, item, (*path, i), fname, smap) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    return _scalar(loader, node)


def load_yaml_with_lines(text: str, fname: str, smap: SourceMap, root: PathT = ()) -> Any:
    """Parse one YAML document; record the line of every path under ``root`` in ``smap``."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        return _walk(loader, node, root, fname, smap)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise YamlSyntaxError(fname, line, f"YAML syntax error: {e.problem or e}") from None
    finally:
        loader.dispose()


def read_yaml_file(path: Path, smap: SourceMap, display: str | None = None) -> Any:
    """Read and parse a file, naming it ``display`` (default: its path) in the source map."""
    return load_yaml_with_lines(path.read_text(encoding="utf-8"), display or str(path), smap)
