"""The containerlab topologies committed under ``labs/``, one per example inventory (a
development tool: ``make labs`` runs ``python -m tests.golden.labs``).

A unit test fails when a committed file differs from what this module produces now. They
are the same text ``fabric build`` writes as ``<fabric>.clab.yml``, except that the startup
configs are looked up in ``../build/<inventory>/configs/``: the configs are build output
(not committed), made by ``fabric build inventories/<inventory> -o build/<inventory>``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fabric.api import load
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


def write_labs(root: Path = ROOT) -> list[Path]:
    """Write the committed topologies; returns the files that changed."""
    changed: list[Path] = []
    for path, text in lab_files(root).items():
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        changed.append(path)
    return changed


if __name__ == "__main__":
    for p in write_labs():
        sys.stdout.write(f"wrote {p}\n")
