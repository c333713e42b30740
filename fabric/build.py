"""``fabric build``: design, render every device, write configs, intent and exports.

Layout of the build directory::

    DIR/configs/<device>.<ext>     one file per format (.conf .set .xml, .cfg, .frr.conf)
    DIR/intent/<device>.json       the design stage's intent
    DIR/agents/<cluster>/<node>.yaml, configmap.yaml   bgp-agent configs (fabric.export.agents)
    DIR/docs/ DIR/cabling.csv DIR/topology.svg DIR/<fabric>.clab.yml   (fabric.export)

Writes are deterministic and minimal: a file is replaced (atomically: temp file in the
same folder, then rename) only when its content changed, and files of devices no longer
in the fabric are removed from ``configs/`` and ``intent/``. Nothing changes unless every
device rendered: capabilities of all devices are checked first, then each device's files
are staged as temp files, renamed into place only when the last device is done.
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
from fabric.export.agents import agent_files, stale_agent_files
from fabric.render.base import (
    RENDERERS,
    RenderedDevice,
    Renderer,
    RendererRegistry,
    check_capabilities,
    render_device,
)

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
    kept: list[Path] = field(default_factory=list)
    """Agent configs of nodes no longer in the fabric, kept because their user section
    holds something (delete them by hand once it is not needed)."""
    exports: str = ""
    """``"written"`` or why the exports did not run."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time per step: plan+design, render+stage, commit, exports."""


def _differs(path: Path, data: bytes) -> bool:
    try:
        return not (path.stat().st_size == len(data) and path.read_bytes() == data)
    except FileNotFoundError:
        return True


def _stage(path: Path, data: bytes) -> Path:
    """Write ``data`` to a temp file beside ``path`` (renamed over it later)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return Path(tmp)


def write_if_changed(path: Path, text: str) -> bool:
    """Replace ``path`` with ``text`` unless it already holds exactly that; atomic (temp
    file + rename in the same folder). Returns whether it wrote."""
    data = text.encode("utf-8")
    if not _differs(path, data):
        return False
    os.replace(_stage(path, data), path)
    return True


class _Staging:
    """Files of one build staged as temp files and renamed into place together by
    :meth:`commit`, so a build that fails half-way changes nothing (``discard``)."""

    def __init__(self) -> None:
        self.staged: list[tuple[Path, Path]] = []
        self.unchanged = 0

    def add(self, path: Path, text: str) -> None:
        data = text.encode("utf-8")
        if _differs(path, data):
            self.staged.append((_stage(path, data), path))
        else:
            self.unchanged += 1

    def commit(self) -> list[Path]:
        for tmp, path in self.staged:
            os.replace(tmp, path)
        return [path for _, path in self.staged]

    def discard(self) -> None:
        for tmp, _ in self.staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


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


def select_renderers(
    intents: Mapping[str, DeviceIntent], registry: RendererRegistry | None = None
) -> tuple[dict[str, Renderer], dict[str, str]]:
    """Each device's renderer, and the devices skipped because their platform has none
    (device -> reason). Checks every device's capabilities first: one
    :class:`RenderError` names every device that needs a feature its platform lacks."""
    reg = registry or RENDERERS
    renderers: dict[str, Renderer] = {}
    skipped: dict[str, str] = {}
    problems: list[str] = []
    for name, intent in intents.items():
        platform = intent.device.platform
        if not reg.has(platform):
            skipped[name] = f"no renderer for platform {platform}"
            continue
        renderers[name] = reg.get(platform)
        try:
            check_capabilities(renderers[name], intent)
        except RenderError as e:
            problems.append(str(e))
    if problems:
        raise RenderError("\n".join(problems))
    return renderers, skipped


def render_all(
    intents: Mapping[str, DeviceIntent], registry: RendererRegistry | None = None
) -> tuple[dict[str, RenderedDevice], dict[str, str]]:
    """Render every device whose platform has a renderer, in memory: (rendered, skipped
    device -> reason). Capability problems as in :func:`select_renderers`."""
    renderers, skipped = select_renderers(intents, registry)
    return {name: render_device(intents[name], registry) for name in renderers}, skipped


def _find_exports() -> Callable[..., Any] | None:
    try:
        module = importlib.import_module("fabric.export")
    except ModuleNotFoundError as e:
        if e.name == "fabric.export":
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
    """Render every device and write the build directory (see the module docstring).

    Devices are rendered one at a time and their files staged beside their targets, so
    memory holds one device's text, not the fabric's; the staged files replace the old
    ones only after every device rendered."""
    reg = registry or RENDERERS
    out = Path(out_dir)
    result = BuildResult(out, devices=len(intents))
    t0 = time.perf_counter()

    # 1. every capability problem of every device, and every problem of the agent configs
    #    (user sections included), before anything is rendered or written
    renderers, result.skipped = select_renderers(intents, reg)
    agents = agent_files(intents, summary, out)

    # 2. render and stage device by device; 3. rename everything into place
    staging = _Staging()
    cache = JsonCache()
    keep: set[Path] = set()
    try:
        for name, intent in intents.items():
            path = out / INTENT_DIR / f"{name}.json"
            staging.add(path, intent.to_json(cache))
            keep.add(path)
            if name not in renderers:
                continue
            rendered = render_device(intent, reg)
            result.platforms[rendered.platform] = result.platforms.get(rendered.platform, 0) + 1
            for ext, text in rendered.files.items():
                path = out / CONFIG_DIR / f"{name}.{ext}"
                staging.add(path, text)
                keep.add(path)
                result.files += 1
                result.lines += text.count("\n")
        for rel, text in agents.items():
            staging.add(out / rel, text)
            keep.add(out / rel)
    except BaseException:
        staging.discard()
        raise
    t1 = time.perf_counter()
    result.seconds["render+stage"] = t1 - t0
    result.written = staging.commit()
    result.unchanged = staging.unchanged
    for sub in (CONFIG_DIR, INTENT_DIR):
        result.removed += _remove_stale(out / sub, keep)
    stale, result.kept = stale_agent_files(out, keep)
    for p in stale:
        p.unlink()
    result.removed += stale
    t2 = time.perf_counter()
    result.seconds["commit"] = t2 - t1

    export = _find_exports()
    if export is None:
        result.exports = "not run: fabric.export.write_all does not exist yet"
    else:
        export(fab, intents, out, summary)
        result.exports = "written"
    result.seconds["exports"] = time.perf_counter() - t2
    return result
