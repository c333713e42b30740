"""Exports of a built fabric: docs, cabling plan, topology drawing, containerlab topology.

Each export is a pure function from a :class:`~fabric.export.view.FabricView` to text
(:func:`docs_pages`, :func:`cabling_csv`, :func:`topology_svg`, :func:`clab_yaml`);
:func:`render_exports` gathers them as ``{relative path: text}`` and :func:`write_all`
writes them under the build directory. ``fabric build`` calls :func:`write_all`.
Output is deterministic: the same fabric gives byte-identical files.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from fabric.export.cabling import cabling_csv
from fabric.export.clab import DAEMONS_FILE, FRR_DAEMONS, clab_yaml, lab_config, renumbered_devices
from fabric.export.docs import docs_pages
from fabric.export.svg import topology_svg
from fabric.export.view import ExportError, FabricView, build_view

if TYPE_CHECKING:
    from fabric.api import Fabric
    from fabric.design.intent import DeviceIntent, FabricSummary

DOCS_DIR = "docs"
CABLING = "cabling.csv"
TOPOLOGY = "topology.svg"
CONFIG_DIR = "configs"
LAB_CONFIG_DIR = "clab-configs"


def clab_name(view: FabricView) -> str:
    """File name of the containerlab topology: ``<fabric>.clab.yml``."""
    return f"{view.name}.clab.yml"


def render_exports(view: FabricView, config_dir: str = CONFIG_DIR) -> dict[str, str]:
    """Every export as ``{path relative to the build directory: text}``, in a fixed order."""
    files = {f"{DOCS_DIR}/{name}": text for name, text in docs_pages(view).items()}
    files[CABLING] = cabling_csv(view)
    files[TOPOLOGY] = topology_svg(view)
    files[clab_name(view)] = clab_yaml(view, config_dir)
    files[DAEMONS_FILE] = FRR_DAEMONS
    return files


def write_all(
    fab: Fabric,
    intents: Mapping[str, DeviceIntent] | None,
    out_dir: Path,
    summary: FabricSummary | None = None,
) -> list[Path]:
    """Write every export of ``fab`` under ``out_dir`` and return the paths written.

    Device pages of devices no longer in the fabric are removed from ``out_dir/docs`` (that
    folder holds nothing else), so a rebuild never leaves a stale page behind."""
    view = build_view(fab, intents, summary)
    files = render_exports(view)
    out_dir = Path(out_dir)
    docs = out_dir / DOCS_DIR
    docs.mkdir(parents=True, exist_ok=True)
    keep = {out_dir / rel for rel in files}
    for old in sorted(docs.glob("*.md")):
        if old not in keep:
            old.unlink()
    written: list[Path] = []
    # startup configs renamed onto the ports a virtual switch has (see clab.lab_config)
    lab_dir = out_dir / LAB_CONFIG_DIR
    stale = set(lab_dir.glob("*")) if lab_dir.is_dir() else set()
    for name, pm in renumbered_devices(view).items():
        for src in sorted((out_dir / CONFIG_DIR).glob(f"{name}.*")):
            if src.name.removeprefix(name) in (".conf", ".cfg"):
                files[f"{LAB_CONFIG_DIR}/{src.name}"] = lab_config(src.read_text(encoding="utf-8"), pm.renumbered)
                stale.discard(lab_dir / src.name)
    for old in sorted(stale):
        old.unlink()
    for rel, text in files.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


__all__ = [
    "ExportError", "FabricView", "build_view", "cabling_csv", "clab_name", "clab_yaml", "docs_pages", "lab_config",
    "render_exports", "topology_svg", "write_all",
]
