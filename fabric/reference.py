"""The inventory reference, generated from the model: ``docs/inventory.md`` (every key,
its type, default and an example) and the JSON Schema ``fabric schema`` prints (and
``docs/inventory.schema.json`` holds) for editors.

Both come from the pydantic models in :mod:`fabric.model`, so they cannot drift from
what the loader accepts; ``tests/unit/test_reference.py`` fails when the committed files
differ from what this module generates (``python -m fabric.reference`` rewrites them).
Examples are the first value each key has in the example inventories under
``inventories/``, or a value written for the type where no example uses the key.
"""

from __future__ import annotations

import json
import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface, IPv6Network
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from fabric.model import Inventory
from fabric.model.base import NAME_RE, IntRange
from fabric.model.pools import MAC_RE

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = ("shownet2024", "shownet2024-dci", "lab")
SCHEMA_ID = "https://leafspine.invalid/inventory.schema.json"
SCHEMA_FILE = "docs/inventory.schema.json"
MARKDOWN_FILE = "docs/inventory.md"
MODELINE = "# yaml-language-server: $schema=../../docs/inventory.schema.json"
"""The first line of each example inventory file: editors with the YAML language server
(VS Code's YAML extension, Neovim's yamlls) then complete and check keys as you type."""

_FALLBACK: dict[Any, str] = {
    str: "text", int: "1", bool: "true", IPv4Address: "10.0.0.1", IPv6Address: "2001:db8::1",
    IPv4Interface: "192.168.0.11/24", IPv6Interface: "2001:db8::1/64", IPv4Network: "10.0.0.0/24",
    IPv6Network: "2001:db8::/64", IntRange: "65001-65099",
}
_TYPE_NAMES: dict[Any, str] = {
    str: "text", int: "integer", bool: "true/false", IPv4Address: "IPv4 address", IPv6Address: "IPv6 address",
    IPv4Interface: "IPv4 address/length", IPv6Interface: "IPv6 address/length", IPv4Network: "IPv4 prefix",
    IPv6Network: "IPv6 prefix", IntRange: "range `FIRST-LAST` or a number",
}


def _args(tp: Any) -> tuple[Any, ...]:
    return typing.get_args(tp)


def _strip(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = _args(tp)[0]
    return tp


def _members(tp: Any) -> list[Any]:
    tp = _strip(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [m for a in _args(tp) for m in _members(a)]
    return [tp]


def _is_name(tp: Any) -> bool:
    if typing.get_origin(tp) is not typing.Annotated:
        return False
    for extra in _args(tp)[1:]:
        for m in [extra, *getattr(extra, "metadata", [])]:
            if getattr(m, "pattern", None) == NAME_RE.pattern:
                return True
    return False


def type_name(tp: Any) -> str:
    """A reader's name for an annotation."""
    if _is_name(tp):
        return "name"
    parts = []
    for m in _members(tp):
        if m is type(None):
            continue
        origin = typing.get_origin(m)
        if origin is typing.Literal:
            parts.append("one of " + ", ".join(f"`{a}`" for a in _args(m)))
        elif origin is list:
            inner = type_name(_args(m)[0])
            parts.append(f"list of {inner}s" if inner == "name" else f"list of {inner}")
        elif isinstance(m, type) and issubclass(m, BaseModel) and m is not IntRange:
            parts.append(f"mapping ([{m.__name__}](#{m.__name__.lower()}))")
        else:
            parts.append(_TYPE_NAMES.get(m, getattr(m, "__name__", str(m))))
    return " or ".join(parts)


def _special_type(info: FieldInfo) -> str | None:
    """Names and MACs are text with a pattern; say which."""
    patterns = [getattr(m, "pattern", None) for m in info.metadata]
    if NAME_RE.pattern in patterns:
        return "name (letters, digits, `.` `_` `-`; up to 63)"
    if MAC_RE in patterns:
        return "MAC address `xx:xx:xx:xx:xx:xx` (quote it)"
    return None


def _models(tp: Any) -> Iterator[type[BaseModel]]:
    for m in _members(tp):
        if typing.get_origin(m) is list:
            yield from _models(_args(m)[0])
        elif isinstance(m, type) and issubclass(m, BaseModel) and m is not IntRange:
            yield m


@dataclass
class Row:
    key: str
    type: str
    required: bool
    default: str
    description: str
    example: str


def _examples() -> dict[tuple[str, str], Any]:
    """(model name, key) -> the first value written for it in the example inventories."""
    from fabric.inventory import read_folder

    found: dict[tuple[str, str], Any] = {}

    def walk(model: type[BaseModel], data: Any) -> None:
        if not isinstance(data, dict):
            return
        for key, value in data.items():
            info = model.model_fields.get(str(key)) or next(
                (i for i in model.model_fields.values() if i.alias == key), None)  # `import:` is field import_
            if info is None:
                continue
            found.setdefault((model.__name__, str(key)), value)
            for sub in _models(info.annotation):
                for item in value if isinstance(value, list) else [value]:
                    walk(sub, item)

    for name in EXAMPLES:
        folder = REPO / "inventories" / name
        if folder.is_dir():
            walk(Inventory, read_folder(folder).data)
    return found


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = json.dumps(value, default=str) if isinstance(value, list | dict) else str(value)
    text = text.replace("|", "\\|")
    return text if len(text) <= 50 else text[:47] + "..."


def rows(model: type[BaseModel], examples: dict[tuple[str, str], Any]) -> list[Row]:
    """One row per key of ``model``."""
    out = []
    for key, info in model.model_fields.items():
        required = info.is_required()
        if required:
            default = "required"
        elif info.default_factory is not None:
            made = info.default_factory()  # type: ignore[call-arg]
            default = "empty" if made in ([], {}) else f"`{_show(made.model_dump() if isinstance(made, BaseModel) else made)}`"
        elif info.default is None or info.default is PydanticUndefined:
            default = "none"
        elif info.default == "":
            default = "empty"
        else:
            default = f"`{_show(info.default)}`"
        key = info.alias or key  # the key as written in YAML
        ex = examples.get((model.__name__, key))
        if ex is None or (isinstance(ex, list | dict) and any(True for _ in _models(info.annotation))):
            ex_text = "see below" if any(True for _ in _models(info.annotation)) else _fallback(info)
        else:
            ex_text = f"`{_show(ex)}`"
        desc = info.description or next((_first_sentence(m) for m in _models(info.annotation)), "")
        desc = desc.replace("|", "\\|").replace("\n", " ")
        tname = _special_type(info) or type_name(info.annotation)
        out.append(Row(key, tname, required, default, desc, ex_text))
    return out


def _first_sentence(model: type[BaseModel]) -> str:
    doc = " ".join((model.__doc__ or "").split())
    return doc.split(". ")[0].rstrip(".")


def _fallback(info: FieldInfo) -> str:
    for m in _members(info.annotation):
        if typing.get_origin(m) is typing.Literal:
            return f"`{_args(m)[0]}`"
        if typing.get_origin(m) is list:
            inner = _FALLBACK.get(_strip(_args(m)[0]))
            if inner is not None:
                return f"`[{inner}]`"
        if m in _FALLBACK and m is not type(None):
            return f"`{_FALLBACK[m]}`"
    return "-"


def _all_models() -> list[tuple[str, type[BaseModel]]]:
    """Every model reachable from Inventory, in the order a reader meets them, with the
    YAML path where it appears."""
    seen: dict[type[BaseModel], str] = {}
    order: list[tuple[str, type[BaseModel]]] = []

    def visit(model: type[BaseModel], where: str) -> None:
        if model in seen:
            return
        seen[model] = where
        order.append((where, model))
        for key, info in model.model_fields.items():
            is_list = any(typing.get_origin(m) is list for m in _members(info.annotation))
            for sub in _models(info.annotation):
                path = f"{where}.{key}" if where else key
                visit(sub, f"{path}[]" if is_list else path)

    visit(Inventory, "")
    return order


def markdown() -> str:
    """The text of docs/inventory.md."""
    examples = _examples()
    lines = [
        "# Inventory reference",
        "",
        "<!-- Generated from fabric/model by `python -m fabric.reference`; a test fails when it is stale. -->",
        "",
        "An inventory is a folder of YAML files; each top-level key below is written in exactly",
        "one of them (which file is up to you: the examples use `fabric.yaml`, `tenants.yaml`,",
        "`kubernetes.yaml`). `allocations.yaml` in the same folder is the ledger `fabric plan`",
        "writes. Unknown keys are errors. Examples are taken from the example inventories under",
        "`inventories/` where one uses the key.",
        "",
        "Editors: `fabric schema > inventory.schema.json` prints a JSON Schema (also committed as",
        f"`{SCHEMA_FILE}`); a first line `# yaml-language-server: $schema=PATH` makes the YAML",
        "language server (VS Code's YAML extension, yamlls) complete and check keys as you type.",
        "",
    ]
    for where, model in _all_models():
        title = model.__name__
        lines.append(f"## {title}")
        lines.append("")
        lines.append(f"Where: `{where or '(top level of any file)'}`")
        lines.append("")
        doc = " ".join((model.__doc__ or "").split())
        if doc:
            lines += [doc, ""]
        lines.append("| key | type | default | example | description |")
        lines.append("| --- | --- | --- | --- | --- |")
        for r in rows(model, examples):
            lines.append(f"| `{r.key}` | {r.type} | {r.default} | {r.example} | {r.description} |")
        lines.append("")
    return "\n".join(lines)


def json_schema() -> dict[str, Any]:
    """A JSON Schema for one inventory file: any of the top-level sections, none required
    (the others may be in other files), no other keys."""
    schema = Inventory.model_json_schema(mode="validation")
    schema.pop("required", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "leafspine inventory file"
    schema["description"] = ("One YAML file of a leafspine inventory folder: any of the top-level sections "
                             "(each written in one file only). Generated from fabric/model.")
    schema["additionalProperties"] = False
    # what the loader accepts for a range, not only the parsed shape
    schema["$defs"]["IntRange"] = {
        "title": "IntRange",
        "description": "An inclusive range of integers: FIRST-LAST, a single number, [FIRST, LAST] or {first, last}.",
        "anyOf": [
            {"type": "integer"},
            {"type": "string", "pattern": r"^\s*\d+\s*(-\s*\d+\s*)?$"},
            {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
            {"type": "object", "properties": {"first": {"type": "integer"}, "last": {"type": "integer"}},
             "required": ["first", "last"], "additionalProperties": False},
        ],
    }
    # an interface address must carry its prefix length (the loader refuses one without)
    for node in _nodes(schema):
        if node.get("format") in ("ipv4interface", "ipv6interface"):
            node["pattern"] = r"/\d{1,3}$"
    return schema


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _nodes(v)
    elif isinstance(node, list):
        for v in node:
            yield from _nodes(v)


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=False) + "\n"


def write(root: Path = REPO) -> list[Path]:
    """Rewrite the committed reference files; return those that changed."""
    changed = []
    for rel, text in ((MARKDOWN_FILE, markdown()), (SCHEMA_FILE, schema_text())):
        path = root / rel
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(path)
    return changed


if __name__ == "__main__":  # pragma: no cover
    for p in write():
        sys.stdout.write(f"wrote {p}\n")
