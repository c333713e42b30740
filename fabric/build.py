"""``fabric build``: design, render every device, write configs, intent and exports.

Layout of the build directory::

    DIR/configs/<device>.<ext>     one file per format (.conf .set .xml, .cfg, .frr.conf)
    DIR/intent/<device>.json       the design stage's intent
    DIR/docs/ DIR/cabling.csv DIR/topology.svg DIR/<fabric>.clab.yml   (fabric.export)

Writes are deterministic and minimal: a file is replaced (atomically: temp file in the
same folder, then rename) only when its content changed, and files of devices no longer
in the fabric are removed from ``configs/`` and ``intent/``. Nothing is written unless
every device rendered: rendering happens in memory first.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabric.design.intent import DeviceIntent, FabricSummary, JsonCache
from fabric.errors import RenderError
from fabric.render.base import RENDERERS, RenderedDevice, RendererRegistry, render_device

if TYPE_CHECKING:
    from fabric.api import Fabric

CONFIG_DIR = "configs"
INTENT_DIR = "intent"


@dataclass
class BuildResult:
    """What a build did. ``skipped`` names devices whose platform has no renderer yet
    (their intent is still written); ``exports`` says whether the exports ran."""

    out_dir: Path
    devices: int = 0
    platforms: dict[str, int] = field(default_factory=dict)
    """platform -> devices rendered."""
    files: int = 0
    lines: int = 0
    """Lines of rendered config text."""
    written: list[Path] = field(default_factory=list)
    unchanged: int = 0
    removed: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    exports: str = ""
    """``"written"`` or why the exports did not run."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time per stage: design, render, write, exports."""


def write_if_changed(path: Path, text: str) -> bool:
    """Replace ``path`` with ``text`` unless it already holds exactly that; atomic (temp
    file + rename in the same folder). Returns whether it wrote."""
    data = text.encode("utf-8")
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True


def _remove_stale(folder: Path, keep: set[Path]) -> list[Path]:
    """Remove files in ``folder`` (not below it) that are not in ``keep``; leftovers of
    an interrupted write (``.*.tmp``) go too."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for p in sorted(folder.iterdir()):
        if p.is_file() and p not in keep:
            p.unlink()
            removed.append(p)
    return removed


def render_all(
    intents: Mapping[str, DeviceIntent], registry: RendererRegistry | None = None
) -> tuple[dict[str, RenderedDevice], dict[str, str]]:
    """Render every device whose platform has a renderer: (rendered, skipped device ->
    reason). A capability problem on any device raises :class:`RenderError` listing
    every device that has one."""
    reg = registry or RENDERERS
    rendered: dict[str, RenderedDevice] = {}
    skipped: dict[str, str] = {}
    problems: list[str] = []
    for name, intent in intents.items():
        platform = intent.device.platform
        if not reg.has(platform):
            skipped[name] = f"no renderer for platform {platform}"
            continue
        try:
            rendered[name] = render_device(intent, reg)
        except RenderError as e:
            problems.append(str(e))
    if problems:
        raise RenderError("\n".join(problems))
    return rendered, skipped


def _find_exports() -> Callable[..., Any] | None:
    try:
        module = importlib.import_module("fabric.export")
    except ModuleNotFoundError as e:
        if e.name in ("fabric.export",):
            return None
        raise
    fn = getattr(module, "write_all", None)
    return fn if callable(fn) else None


def write_build(
    fab: Fabric,
    intents: Mapping[str, DeviceIntent],
    summary: FabricSummary,
    out_dir: Path,
    registry: RendererRegistry | None = None,
) -> BuildResult:
    """Render every device and write the build directory (see the module docstring)."""
    out = Path(out_dir)
    result = BuildResult(out)
    t0 = time.perf_counter()
    rendered, result.skipped = render_all(intents, registry)
    t1 = time.perf_counter()
    result.seconds["render"] = t1 - t0

    files: dict[Path, str] = {}
    cache = JsonCache()
    for name, intent in intents.items():
        files[out / INTENT_DIR / f"{name}.json"] = intent.to_json(cache)
        r = rendered.get(name)
        if r is None:
            continue
        result.platforms[r.platform] = result.platforms.get(r.platform, 0) + 1
        for ext, text in r.files.items():
            files[out / CONFIG_DIR / f"{name}.{ext}"] = text
            result.files += 1
            result.lines += text.count("\n")
    result.devices = len(intents)
    for path, text in files.items():
        if write_if_changed(path, text):
            result.written.append(path)
        else:
            result.unchanged += 1
    keep = set(files)
    for sub in (CONFIG_DIR, INTENT_DIR):
        result.removed += _remove_stale(out / sub, keep)
    t2 = time.perf_counter()
    result.seconds["write"] = t2 - t1

    export = _find_exports()
    if export is None:
        result.exports = "not run: fabric.export.write_all does not exist yet"
    else:
        export(fab, intents, out, summary)
        result.exports = "written"
    result.seconds["exports"] = time.perf_counter() - t2
    return result
