"""``fabric build``'s writer: the intent and the rendered configs of a designed fabric.

Layout of the build directory::

    DIR/configs/<device>.<ext>     one file per format (.conf .set .xml, .cfg, .frr.conf)
    DIR/intent/<device>.json       the design stage's intent
    DIR/agents/<cluster>/<node>.yaml, configmap.yaml   bgp-agent configs (fabric.export.agents)
    DIR/docs/ DIR/cabling.csv DIR/topology.svg DIR/<fabric>.clab.yml   (fabric.export)

This module writes the first two (and stages the agent configs);
:meth:`fabric.api.Fabric.build` designs, renders (:mod:`fabric.render`) what
:class:`BuildWriter` asks for, and runs the exports. Writes are deterministic and minimal:
a device the build cache holds (:mod:`fabric.buildcache`: same render input, files as the
last build left them) is not rendered, compared nor written; any other file is replaced
only when its content changed; files of devices no longer in the fabric are removed from
``configs/`` and ``intent/``. Nothing changes unless every device rendered: each device's
files are staged as synced temp files (:class:`fabric.files.Staging`), renamed into place
only when the last device is done.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fabric.buildcache import BuildCache
from fabric.design.intent import DeviceIntent, JsonCache
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
    """Files found already right: compared with the disk, or not even compared because the
    build cache held their device."""
    cached: int = 0
    """Devices neither rendered nor written: the build cache held them (:mod:`fabric.buildcache`)."""
    removed: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    kept: list[Path] = field(default_factory=list)
    """Agent configs of nodes no longer in the fabric, kept because their user section
    holds something (delete them by hand once it is not needed)."""
    exports: str = ""
    """``"written"`` once the exports ran (:meth:`fabric.api.Fabric.build` runs them),
    ``"unchanged"`` when the build cache showed their input and files unchanged."""
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


class BuildWriter:
    """Writes one build of ``configs/`` and ``intent/`` in steps, so the caller can render
    only what the build cache says changed (:meth:`fabric.api.Fabric.build`):

    1. :meth:`stage_intents`: every device's intent JSON, its key in ``cache``; the devices
       that need rendering come back (all of them without a cache);
    2. :meth:`stage_rendered`: their rendered files, one device at a time;
    3. :meth:`commit` (or :meth:`discard` on failure): rename everything into place, remove
       stale files, record what was written in ``cache``.

    Nothing is renamed before :meth:`commit`, so a failure in any step changes nothing."""

    def __init__(
        self,
        design: Design,
        out_dir: Path,
        agents: Mapping[str, str] | None = None,
        cache: BuildCache | None = None,
    ) -> None:
        self.design = design
        self.out = Path(out_dir)
        self.agents = agents or {}
        self.cache = cache
        self.result = BuildResult(self.out, devices=len(design.devices))
        self.staging = Staging()
        self.keep: set[Path] = set()
        self._pending: dict[str, list[Path]] = {}
        """Device -> its files staged by this build (intent JSON first)."""
        self._rendered_counts: dict[str, tuple[str, str, int, int]] = {}
        self._t0 = time.perf_counter()

    def stage_intents(self) -> dict[str, DeviceIntent]:
        """Stage every device's intent JSON unless the cache holds the device; return the
        devices to render (intent order)."""
        todo: dict[str, DeviceIntent] = {}
        json_cache = JsonCache()
        out, result, cache = self.out, self.result, self.cache
        for name, intent in self.design.devices.items():
            path = out / INTENT_DIR / f"{name}.json"
            data = intent.to_json(json_cache).encode()
            if cache is not None:
                platform = intent.device.platform
                entry = cache.clean(name, platform, cache.key(name, platform, data))
                if entry is not None:
                    self.keep.update(out / s.path for s in entry.files)
                    result.cached += 1
                    result.platforms[platform] = result.platforms.get(platform, 0) + 1
                    result.files += entry.config_files
                    result.lines += entry.lines
                    result.unchanged += len(entry.files)
                    continue
            self.staging.add(path, data)
            self.keep.add(path)
            self._pending[name] = [path]
            todo[name] = intent
        return todo

    def skip(self, skipped: Mapping[str, str]) -> None:
        """Devices not rendered: their platform has no renderer (device -> why)."""
        self.result.skipped.update(skipped)

    def stage_rendered(self, rendered: Iterable[RenderedDevice]) -> None:
        """Stage each rendered device's files as it comes (memory holds one device's text)."""
        out, result = self.out, self.result
        for r in rendered:
            result.platforms[r.platform] = result.platforms.get(r.platform, 0) + 1
            paths = self._pending.setdefault(r.device, [])
            lines = 0
            for ext, text in r.files.items():
                path = out / CONFIG_DIR / f"{r.device}.{ext}"
                self.staging.add(path, text)
                self.keep.add(path)
                paths.append(path)
                result.files += 1
                lines += text.count("\n")
            result.lines += lines
            if self.cache is not None:
                self._rendered_counts[r.device] = (r.platform, r.main, len(r.files), lines)

    def discard(self) -> None:
        self.staging.discard()

    def commit(self) -> BuildResult:
        """Stage the agent configs, rename everything into place, remove stale files and
        record the devices written in the cache."""
        out, result = self.out, self.result
        try:
            for rel, text in self.agents.items():
                self.staging.add(out / rel, text)
                self.keep.add(out / rel)
        except BaseException:
            self.staging.discard()
            raise
        t1 = time.perf_counter()
        result.seconds["render+stage"] = t1 - self._t0
        result.written = self.staging.commit()
        result.unchanged += self.staging.unchanged
        for sub in (CONFIG_DIR, INTENT_DIR):
            result.removed += remove_stale(out / sub, self.keep)
        stale, result.kept = stale_agent_files(out, self.keep)
        for p in stale:
            p.unlink()
        result.removed += stale
        if self.cache is not None:
            for name, (platform, main, files, lines) in self._rendered_counts.items():
                self.cache.record(name, platform, main, self._pending[name], files, lines)
        result.seconds["commit"] = time.perf_counter() - t1
        return result


def write_build(
    design: Design,
    rendered: Iterable[RenderedDevice],
    out_dir: Path,
    skipped: Mapping[str, str] | None = None,
    agents: Mapping[str, str] | None = None,
) -> BuildResult:
    """Write every device's intent and the files of every rendered device under
    ``out_dir`` (see the module docstring), without the build cache. ``rendered`` may be
    a generator (:func:`fabric.render.base.render_each`): each device's files are staged as
    it comes, so memory holds one device's text, not the fabric's; the staged files replace
    the old ones only after the last device. ``skipped`` (device -> why) goes into the
    result. ``agents`` (path relative to ``out_dir`` -> text: the agent configs of
    :func:`fabric.export.agents.agent_files`, already validated) are staged with them; agent
    files no longer written go as :func:`fabric.export.agents.stale_agent_files` says."""
    writer = BuildWriter(design, out_dir, agents)
    writer.skip(skipped or {})
    try:
        writer.stage_intents()
        writer.stage_rendered(rendered)
    except BaseException:
        writer.discard()
        raise
    return writer.commit()
