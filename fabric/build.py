"""``fabric build``'s writer: the intent and the rendered configs of a designed fabric.

Layout of the build directory::

    DIR/configs/<device>.<ext>     one file per format (.conf .set .xml, .cfg, .frr.conf)
    DIR/intent/<device>.json       the design stage's intent
    DIR/agents/<cluster>/<node>.yaml, configmap.yaml   bgp-agent configs (fabric.export.agents)
    DIR/docs/ DIR/cabling.csv DIR/topology.svg DIR/<fabric>.clab.yml   (fabric.export)

This module writes the first two; :meth:`fabric.api.Fabric.build` designs, renders
(:mod:`fabric.render`), calls :func:`write_build` and then the exports. Writes are
deterministic and minimal: a file is replaced only when its content changed, and files of
devices no longer in the fabric are removed from ``configs/`` and ``intent/``. Nothing
changes unless every device rendered: each device's files are staged as synced temp
files (:class:`fabric.files.Staging`), renamed into place only when the last device is done.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fabric.design.intent import JsonCache
from fabric.design.pipeline import Design
from fabric.export.agents import stale_agent_files
from fabric.files import Staging
from fabric.render.base import RenderedDevice

CONFIG_DIR = "configs"
INTENT_DIR = "intent"


@dataclass
class BuildResult:
    """What a build did. ``skipped`` names devices whose platform has no renderer yet
    (their intent is still written)."""

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
    """``"written"`` once the exports ran (:meth:`fabric.api.Fabric.build` runs them)."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time per step: plan+design, render+stage, commit, exports."""


def remove_stale(folder: Path, keep: set[Path]) -> list[Path]:
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


def write_build(
    design: Design,
    rendered: Iterable[RenderedDevice],
    out_dir: Path,
    skipped: Mapping[str, str] | None = None,
    agents: Mapping[str, str] | None = None,
) -> BuildResult:
    """Write every device's intent and the files of every rendered device under
    ``out_dir`` (see the module docstring). ``rendered`` may be a generator
    (:func:`fabric.render.base.render_each`): each device's files are staged as it comes,
    so memory holds one device's text, not the fabric's; the staged files replace the old
    ones only after the last device. ``skipped`` (device -> why) goes into the result.
    ``agents`` (path relative to ``out_dir`` -> text: the agent configs of
    :func:`fabric.export.agents.agent_files`, already validated) are staged with them; agent
    files no longer written go as :func:`fabric.export.agents.stale_agent_files` says."""
    out = Path(out_dir)
    result = BuildResult(out, devices=len(design.devices), skipped=dict(skipped or {}))
    t0 = time.perf_counter()
    staging = Staging()
    cache = JsonCache()
    keep: set[Path] = set()
    try:
        for name, intent in design.devices.items():
            path = out / INTENT_DIR / f"{name}.json"
            staging.add(path, intent.to_json(cache))
            keep.add(path)
        for r in rendered:
            result.platforms[r.platform] = result.platforms.get(r.platform, 0) + 1
            for ext, text in r.files.items():
                path = out / CONFIG_DIR / f"{r.device}.{ext}"
                staging.add(path, text)
                keep.add(path)
                result.files += 1
                result.lines += text.count("\n")
        for rel, text in (agents or {}).items():
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
        result.removed += remove_stale(out / sub, keep)
    stale, result.kept = stale_agent_files(out, keep)
    for p in stale:
        p.unlink()
    result.removed += stale
    result.seconds["commit"] = time.perf_counter() - t1
    return result
