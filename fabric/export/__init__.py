"""Exports of a built fabric: docs, cabling plan, topology drawing, containerlab topology.

The exports read the design stage's output only (:func:`~fabric.export.view.build_view`
indexes a :class:`~fabric.design.Design`), plus, for the lab copies of startup configs,
the rendered devices. Each export is a pure function from a
:class:`~fabric.export.view.FabricView` to text (:func:`docs_pages`, :func:`cabling_csv`,
:func:`topology_svg`, :func:`clab_yaml`); :func:`render_exports` gathers them as
``{relative path: text}`` and :func:`write_all` writes them under the build directory.
:meth:`fabric.api.Fabric.build` calls :func:`write_all`. Output is deterministic: the same
fabric gives byte-identical files.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fabric.export.cabling import cabling_csv
from fabric.export.clab import DAEMONS_FILE, FRR_DAEMONS, clab_yaml, lab_config, renumbered_devices
from fabric.export.docs import docs_pages
from fabric.export.svg import topology_svg
from fabric.export.view import ExportError, FabricView, build_view
from fabric.files import Staging
from fabric.render.base import RenderedDevice

DOCS_DIR = "docs"
CABLING = "cabling.csv"
TOPOLOGY = "topology.svg"
CONFIG_DIR = "configs"
LAB_CONFIG_DIR = "clab-configs"
LAB_CONFIG_FORMATS = ("conf", "cfg")
"""Formats a virtual switch boots from (Junos ``.conf``, NX-OS ``.cfg``)."""


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


def lab_config_devices(view: FabricView) -> frozenset[str]:
    """Devices whose startup config :func:`write_all` copies onto lab port names: the
    rendered devices it needs."""
    return frozenset(renumbered_devices(view))


def remove_stale_exports(out_dir: Path, keep: set[Path]) -> list[Path]:
    """Remove the device pages in ``out_dir/docs`` and the files in ``out_dir/clab-configs``
    that are not in ``keep`` (what :func:`write_all` writes); the paths removed. The build
    cache calls it when it skips the exports."""
    removed: list[Path] = []
    for folder, pattern in ((out_dir / DOCS_DIR, "*.md"), (out_dir / LAB_CONFIG_DIR, "*")):
        if folder.is_dir():
            for old in sorted(folder.glob(pattern)):
                if old not in keep and old.is_file():
                    old.unlink()
                    removed.append(old)
    return removed


def write_all(view: FabricView, rendered: Mapping[str, RenderedDevice], out_dir: Path) -> list[Path]:
    """Write every export under ``out_dir`` and return their paths (all at once through
    :class:`fabric.files.Staging`; a file already holding the same text is left alone). ``rendered`` holds at least the devices of
    :func:`lab_config_devices`: their startup configs are copied, renamed onto lab ports,
    to ``clab-configs/``.

    Device pages of devices no longer in the fabric are removed from ``out_dir/docs`` (that
    folder holds nothing else), and so are stale lab configs, so a rebuild never leaves a
    stale file behind."""
    files = render_exports(view)
    out_dir = Path(out_dir)
    for name, pm in renumbered_devices(view).items():
        r = rendered.get(name)
        if r is None:
            raise ExportError(f"{name}: the lab copy of its startup config needs the rendered device")
        for ext in LAB_CONFIG_FORMATS:
            if ext in r.files:
                files[f"{LAB_CONFIG_DIR}/{name}.{ext}"] = lab_config(r.files[ext], pm.renumbered)
    remove_stale_exports(out_dir, {out_dir / rel for rel in files})
    staging = Staging()
    try:
        for rel, text in files.items():
            staging.add(out_dir / rel, text)
    except BaseException:
        staging.discard()
        raise
    staging.commit()
    return [out_dir / rel for rel in files]


__all__ = [
    "ExportError", "FabricView", "build_view", "cabling_csv", "clab_yaml", "docs_pages", "lab_config",
    "lab_config_devices", "remove_stale_exports", "render_exports", "topology_svg", "write_all",
]
