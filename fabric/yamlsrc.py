"""YAML loading that remembers where every value came from.

``load_yaml_with_lines`` parses with libyaml (C) into nodes and turns them into plain
Python data while recording, for each data path, the file and line it was written on.
Paths are tuples of keys and list indices, the same shape pydantic uses in ``loc``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

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
