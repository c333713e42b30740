"""Load a folder of YAML files into a validated :class:`~fabric.model.Inventory`.

Every problem is collected before anything fails: YAML syntax, schema (pydantic) and the
cross-checks in :mod:`fabric.checks`. Each is reported as ``FILE:LINE: data.path: message``
in one :class:`~fabric.errors.InventoryError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from fabric.checks import cross_check
from fabric.errors import InventoryError, Problem
from fabric.model import Inventory
from fabric.model.deploy import DeploySettings
from fabric.model.fabric import DciLink, FabricSettings, Leaf, Link, Spine
from fabric.model.kubernetes import Kubernetes
from fabric.model.pools import Pools
from fabric.model.tenants import Tenant
from fabric.yamlsrc import SourceMap, YamlSyntaxError, read_yaml_file, schema_problems

LEDGER_FILE = "allocations.yaml"

# What each top-level key holds; validated one section at a time so that a mistake in
# one section still lets the cross-checks of the others run.
_SECTIONS: dict[str, tuple[type[BaseModel], bool]] = {
    "fabric": (FabricSettings, False),
    "pools": (Pools, False),
    "spines": (Spine, True),
    "leaves": (Leaf, True),
    "cabling": (Link, True),
    "dci_links": (DciLink, True),
    "tenants": (Tenant, True),
    "kubernetes": (Kubernetes, False),
    "deploy": (DeploySettings, False),
}
_REQUIRED = ("fabric", "pools", "spines", "leaves")


@dataclass
class LoadedInventory:
    """A validated inventory with the source map that locates each of its values."""

    inventory: Inventory
    source: SourceMap
    path: Path


def read_documents(folder: Path) -> tuple[dict[str, Any], SourceMap, list[Problem]]:
    """Read and merge every YAML file of ``folder`` (except the ledger)."""
    smap = SourceMap()
    problems: list[Problem] = []
    merged: dict[str, Any] = {}
    if not folder.is_dir():
        raise InventoryError([Problem(str(folder), 0, "", "inventory folder does not exist")])
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.name != LEDGER_FILE)
    if not files:
        raise InventoryError([Problem(str(folder), 0, "", "no YAML files in the inventory folder")])
    smap.where[()] = (str(files[0]), 0)
    for f in files:
        display = str(f)
        try:
            doc = read_yaml_file(f, smap, display)
        except YamlSyntaxError as e:
            problems.append(Problem(e.file, e.line, "", e.message))
            continue
        if doc is None:
            continue
        if not isinstance(doc, dict):
            problems.append(Problem(display, 1, "", "the file must be a mapping of top-level keys"))
            continue
        for key, value in doc.items():
            if key in merged:
                first = smap.where.get(("__first__", key), ("?", 0))
                problems.append(
                    Problem(display, smap.where[(key,)][1], str(key),
                            f"top-level key also defined in {first[0]}:{first[1]}")
                )
                continue
            merged[key] = value
            smap.where[("__first__", key)] = smap.where[(key,)]
    return merged, smap, problems


def _names_in(item: Any) -> set[str]:
    """Names written on a raw list item (and, for a tenant, on its VRFs and networks)."""
    out: set[str] = set()
    if isinstance(item, dict):
        if isinstance(item.get("name"), str):
            out.add(item["name"])
        for sub in ("vrfs", "networks"):
            if isinstance(item.get(sub), list):
                out |= {x["name"] for x in item[sub] if isinstance(x, dict) and isinstance(x.get("name"), str)}
    return out


def validate_sections(
    data: dict[str, Any], smap: SourceMap
) -> tuple[dict[str, Any], list[Problem], frozenset[str]]:
    """Validate each top-level section; return the valid ones, the problems, and the
    names of list items that failed (a list section keeps its valid items, so the
    cross-checks still look at them)."""
    problems: list[Problem] = []
    good: dict[str, Any] = {}
    broken: set[str] = set()
    for key in data:
        if key not in _SECTIONS:
            problems.append(smap.problem((key,), f"unknown top-level key; expected one of {', '.join(_SECTIONS)}"))
    for key in _REQUIRED:
        if key not in data:
            fname = smap.where.get((), ("<inventory>", 0))[0]
            problems.append(Problem(fname, 0, key, "required top-level key is missing"))
    for key, (model, is_list) in _SECTIONS.items():
        if key not in data:
            continue
        raw = data[key]
        if is_list:
            if raw is None:
                raw = []
            if not isinstance(raw, list):
                problems.append(smap.problem((key,), "expected a list"))
                continue
            items = []
            for i, item in enumerate(raw):
                try:
                    items.append(model.model_validate(item))
                except ValidationError as e:
                    broken |= _names_in(item)
                    problems.extend(schema_problems(data, smap, e, (key, i)))
            if key in ("spines", "leaves") and not raw:
                problems.append(smap.problem((key,), "at least one is required"))
            elif items or not raw:
                good[key] = items
        else:
            try:
                good[key] = model.model_validate(raw)
            except ValidationError as e:
                problems.extend(schema_problems(data, smap, e, (key,)))
    return good, problems, frozenset(broken)


def load_inventory(folder: str | Path) -> LoadedInventory:
    """Load, validate and cross-check the inventory in ``folder``.

    Raises :class:`InventoryError` listing every problem found."""
    path = Path(folder)
    data, smap, problems = read_documents(path)
    good, schema_problems, broken = validate_sections(data, smap)
    problems.extend(schema_problems)
    problems.extend(cross_check(good, smap, frozenset(data), broken))
    if problems:
        raise InventoryError(problems)
    inv = Inventory.model_construct(**{k: v for k, v in good.items()})
    # fill defaults that model_construct leaves out
    if "cabling" not in good:
        inv.cabling = None
    if "dci_links" not in good:
        inv.dci_links = []
    if "tenants" not in good:
        inv.tenants = []
    if "kubernetes" not in good:
        inv.kubernetes = Kubernetes()
    if "deploy" not in good:
        inv.deploy = DeploySettings()
    return LoadedInventory(inv, smap, path)
