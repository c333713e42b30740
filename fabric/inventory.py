"""Load a folder of YAML files into a validated :class:`~fabric.model.Inventory`.

Every problem is collected before anything fails: YAML syntax, schema (pydantic) and the
cross-checks in :mod:`fabric.checks`. Each is reported as ``FILE:LINE: data.path: message``
in one :class:`~fabric.errors.InventoryError`.
"""

from __future__ import annotations

import difflib
import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

import fabric.checks_external  # noqa: F401  (registers the external_routers checks)
from fabric.checks import cross_check
from fabric.errors import InventoryError, Problem
from fabric.model import Inventory
from fabric.model.deploy import DeploySettings
from fabric.model.external import ExternalRouter
from fabric.model.fabric import DciLink, FabricSettings, Leaf, Link, Spine
from fabric.model.kubernetes import Kubernetes
from fabric.model.pools import Pools
from fabric.model.servers import Server
from fabric.model.tenants import Tenant
from fabric.yamlsrc import SourceError, SourceMap, format_path, read_yaml_file, schema_problems, unknown_key_message

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
    "external_routers": (ExternalRouter, True),
    "servers": (Server, True),
    "deploy": (DeploySettings, False),
}
_REQUIRED = ("fabric", "pools", "spines", "leaves")


@dataclass
class LoadedInventory:
    """A validated inventory with the source map that locates each of its values."""

    inventory: Inventory
    source: SourceMap
    path: Path


def _check_folder(folder: Path) -> None:
    """The inventory is a folder of YAML files; say so when given anything else."""
    try:
        st = os.stat(folder)
    except OSError as e:
        if e.errno == errno.ELOOP:
            why = "symlink loop: the inventory folder cannot be read"
        elif e.errno == errno.ENOENT:
            why = "inventory folder does not exist"
        else:
            why = f"cannot read the inventory folder: {e.strerror}"
        raise InventoryError([Problem(str(folder), 0, "", why)]) from None
    if stat.S_ISDIR(st.st_mode):
        return
    if stat.S_ISREG(st.st_mode):
        parent = str(folder.parent) if str(folder.parent) else "."
        raise InventoryError([Problem(str(folder), 0, "", f"is a file: give the inventory folder that holds it "
                                                          f"(e.g. `{parent}`); every YAML file there is read")])
    raise InventoryError([Problem(str(folder), 0, "", "not a folder: give the inventory folder")])


@dataclass
class Documents:
    """The merged top-level keys of an inventory folder, where they were written, the
    problems of reading them, and the keys written in more than one file (with every
    copy: they are not validated, but the names in them count as known)."""

    data: dict[str, Any]
    smap: SourceMap
    problems: list[Problem]
    twice: dict[str, list[Any]]
    unread: list[str]
    """Files that could not be read or parsed: any section may be in them."""


def read_documents(folder: Path) -> tuple[dict[str, Any], SourceMap, list[Problem]]:
    """Read and merge every YAML file of ``folder`` (except the ledger)."""
    d = read_folder(folder)
    return d.data, d.smap, d.problems


def inventory_files(folder: Path) -> list[Path]:
    """The files an inventory is read from: every YAML file of ``folder`` but the ledger,
    sorted (the build cache hashes the same list: :mod:`fabric.buildcache`)."""
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.name != LEDGER_FILE)


def read_folder(folder: Path) -> Documents:
    """Read and merge every YAML file of ``folder`` (except the ledger). A top-level key
    written in two files is one problem naming both places; neither copy is used."""
    smap = SourceMap()
    problems: list[Problem] = []
    merged: dict[str, Any] = {}
    twice: dict[str, list[Any]] = {}
    first_at: dict[str, tuple[str, int]] = {}
    unread: list[str] = []
    _check_folder(folder)
    try:
        files = inventory_files(folder)
    except OSError as e:
        raise InventoryError([Problem(str(folder), 0, "", f"cannot list the inventory folder: {e.strerror}")]) from None
    if not files:
        raise InventoryError([Problem(str(folder), 0, "", "no YAML files in the inventory folder")])
    smap.where[()] = (str(files[0]), 0)
    for f in files:
        display = str(f)
        try:
            doc = read_yaml_file(f, smap, display)
        except SourceError as e:
            problems.append(Problem(e.file, e.line, format_path(e.path), e.message))
            unread.append(display)
            continue
        if doc is None:
            continue
        if not isinstance(doc, dict):
            problems.append(Problem(display, 1, "", "the file must be a mapping of top-level keys"))
            continue
        for key, value in doc.items():
            if key in first_at:
                first = first_at[key]
                problems.append(
                    Problem(display, smap.where[(key,)][1], str(key),
                            f"top-level key also defined in {first[0]}:{first[1]}; a section is written in one "
                            "file only (neither copy was checked)")
                )
                twice.setdefault(key, [merged[key]]).append(value)
                continue
            merged[key] = value
            first_at[key] = smap.where[(key,)]
    for key in twice:
        del merged[key]
    return Documents(merged, smap, problems, twice, unread)


def _names_in(item: Any) -> set[str]:
    """Names written on a raw list item (and, for a tenant, on its VRFs and networks)."""
    out: set[str] = set()
    if isinstance(item, dict):
        if isinstance(item.get("name"), str):
            out.add(item["name"])
        elif "name" not in item:  # a misspelled `nmae:` still names the object
            out |= {v for k, v in item.items() if isinstance(v, str) and difflib.get_close_matches(str(k), ["name"])}
        for sub in ("vrfs", "networks"):
            if isinstance(item.get(sub), list):
                out |= {x["name"] for x in item[sub] if isinstance(x, dict) and isinstance(x.get("name"), str)}
    return out


def validate_sections(
    data: dict[str, Any], smap: SourceMap, folder_name: str = "<inventory>"
) -> tuple[dict[str, Any], list[Problem], frozenset[str]]:
    """Validate each top-level section; return the valid ones, the problems, and the
    names of list items that failed (a list section keeps its valid items, so the
    cross-checks still look at them)."""
    problems: list[Problem] = []
    good: dict[str, Any] = {}
    broken: set[str] = set()
    absent = {k for k in _SECTIONS if k not in data}
    meant_for: set[str] = set()
    for key in data:
        if key not in _SECTIONS:
            msg, meant = unknown_key_message(key, list(_SECTIONS), absent & set(_REQUIRED))
            if meant is not None and meant in absent:
                meant_for.add(meant)
            problems.append(smap.problem((key,), msg.replace("unknown key", "unknown top-level key", 1)))
    for key in _REQUIRED:
        if key not in data and key not in meant_for:
            problems.append(Problem(folder_name, 0, key, "required top-level key is missing: no file of the "
                                    f"inventory folder has `{key}:`"))
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
                    problems.extend(schema_problems(data, smap, e, (key, i), model))
            if key in ("spines", "leaves") and not raw:
                problems.append(smap.problem((key,), "at least one is required"))
            elif items or not raw:
                good[key] = items
        else:
            try:
                good[key] = model.model_validate(raw)
            except ValidationError as e:
                problems.extend(schema_problems(data, smap, e, (key,), model))
    return good, problems, frozenset(broken)


def load_inventory(folder: str | Path) -> LoadedInventory:
    """Load, validate and cross-check the inventory in ``folder``.

    Raises :class:`InventoryError` listing every problem found."""
    path = Path(folder)
    docs = read_folder(path)
    data, smap, problems = docs.data, docs.smap, docs.problems
    # a section written twice counts as written but broken: reported once, no follow-on errors
    good, schema_problems, broken = validate_sections({**data, **{k: None for k in docs.twice}}, smap, str(path))
    if docs.unread:  # a file that could not be read may hold the "missing" sections: no follow-on errors
        schema_problems = [p for p in schema_problems if not p.message.startswith("required top-level key is missing")]
    for key in docs.twice:
        good.pop(key, None)
        schema_problems = [p for p in schema_problems if not (p.path == key or p.path.startswith(f"{key}."))]
        broken |= {n for copy in docs.twice[key] if isinstance(copy, list) for item in copy for n in _names_in(item)}
    problems.extend(schema_problems)
    # a misspelled section (`leafs:`) counts as written: checks treat it as broken, not absent
    present = set(data) | set(docs.twice) | (set(_SECTIONS) if docs.unread else set()) | {
        m for k in data if k not in _SECTIONS
        for m in difflib.get_close_matches(str(k), list(_SECTIONS), n=1) if m not in data}
    problems.extend(cross_check(good, smap, frozenset(present), broken))
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
    if "servers" not in good:
        inv.servers = []
    if "deploy" not in good:
        inv.deploy = DeploySettings()
    if "external_routers" not in good:
        inv.external_routers = []
    return LoadedInventory(inv, smap, path)
