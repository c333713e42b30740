"""Generated files committed in the repository (a development tool: ``make labs`` runs
``python -m tests.golden.labs``): the containerlab topologies under ``labs/``, one per
example inventory, and the example ConfigMap ``deploy/configmap.yaml`` (the bgp-agent
configs of ``inventories/lab``'s nodes as ``fabric build`` writes them; the user sections of
its entries are kept from the committed file).

A unit test fails when a committed file differs from what this module produces now. They
are the same text ``fabric build`` writes as ``<fabric>.clab.yml``, except that the startup
configs are looked up in ``../build/<inventory>/configs/``: the configs are build output
(not committed), made by ``fabric build inventories/<inventory> -o build/<inventory>``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fabric.api import load
from fabric.export.agents import agent_files
from fabric.export.clab import clab_yaml
from fabric.export.view import build_view

LAB_INVENTORIES: tuple[str, ...] = ("lab", "shownet2024", "shownet2024-dci")
"""Inventories (folders under ``inventories/``) that get a committed topology."""

ROOT = Path(__file__).resolve().parents[2]


def lab_files(root: Path = ROOT) -> dict[Path, str]:
    """``{labs/<fabric>.clab.yml: text}`` for every inventory in :data:`LAB_INVENTORIES`."""
    out: dict[Path, str] = {}
    for name in LAB_INVENTORIES:
        view = build_view(load(root / "inventories" / name).designed())
        build = f"../build/{name}"
        out[root / "labs" / f"{view.name}.clab.yml"] = clab_yaml(view, f"{build}/configs", f"{build}/clab-configs")
    return out


DEPLOY_INVENTORY = "lab"
"""The inventory whose (only) cluster's ConfigMap is ``deploy/configmap.yaml``."""
DEPLOY_CONFIGMAP = "deploy/configmap.yaml"


def deploy_files(root: Path = ROOT) -> dict[Path, str]:
    """``{deploy/configmap.yaml: text}``: the ConfigMap of :data:`DEPLOY_INVENTORY`'s
    cluster, keeping the user sections of the committed file (InventoryError if one is
    broken)."""
    designed = load(root / "inventories" / DEPLOY_INVENTORY).designed()
    (cluster,) = [c.name for c in designed.summary.clusters]
    files = agent_files(designed.devices, designed.summary, root, configmaps={cluster: DEPLOY_CONFIGMAP},
                        node_files=False, source=f"`make labs` from inventories/{DEPLOY_INVENTORY}")
    return {root / DEPLOY_CONFIGMAP: files[DEPLOY_CONFIGMAP]}


def write_labs(root: Path = ROOT) -> list[Path]:
    """Write the committed topologies and the deploy ConfigMap; returns the files that changed."""
    changed: list[Path] = []
    for path, text in {**lab_files(root), **deploy_files(root)}.items():
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        changed.append(path)
    return changed


if __name__ == "__main__":
    for p in write_labs():
        sys.stdout.write(f"wrote {p}\n")
