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

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fabric.buildcache import BuildCache
from fabric.design.intent import DeviceIntent, JsonCache
from fabric.design.pipeline import Design
from fabric.export.agents import stale_agent_files
from fabric.files import Staging, remove_temp_files
from fabric.parallel import fork_map, split, worker_count
from fabric.render.base import RenderedDevice, Renderer, render_each, render_with

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
    workers: int = 1
    """Processes that rendered and staged the devices: 1 (this process alone) or this one
    and forked children (:meth:`BuildWriter.render_and_stage`, :mod:`fabric.parallel`)."""


@dataclass
class StagedDevice:
    """One rendered device's files as staged (what a render worker reports back)."""

    device: str
    platform: str
    main: str
    paths: list[Path]
    """Its config files, in the renderer's order."""
    lines: int
    staged: list[tuple[Path, Path]]
    """(temp file, target) of the files that differ from the disk."""
    unchanged: int
    """Files already right on disk."""
    kept: RenderedDevice | None = None
    """What the caller asked to keep of it (:meth:`BuildWriter.render_and_stage`)."""


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
        for r in rendered:
            self._count(self._stage_device(r, self.staging))

    def _stage_device(self, r: RenderedDevice, staging: Staging,
                      keep: Callable[[RenderedDevice], RenderedDevice | None] | None = None) -> StagedDevice:
        """Stage one device's files in ``staging``; what :meth:`_count` needs of it."""
        before, unchanged = len(staging.staged), staging.unchanged
        paths: list[Path] = []
        lines = 0
        for ext, text in r.files.items():
            path = self.out / CONFIG_DIR / f"{r.device}.{ext}"
            staging.add(path, text)
            paths.append(path)
            lines += text.count("\n")
        return StagedDevice(r.device, r.platform, r.main, paths, lines, staging.staged[before:],
                            staging.unchanged - unchanged, keep(r) if keep is not None else None)

    def _count(self, s: StagedDevice) -> None:
        """Add a staged device to the result, the files kept and the cache's records."""
        result = self.result
        result.platforms[s.platform] = result.platforms.get(s.platform, 0) + 1
        self._pending.setdefault(s.device, []).extend(s.paths)
        self.keep.update(s.paths)
        result.files += len(s.paths)
        result.lines += s.lines
        if self.cache is not None:
            self._rendered_counts[s.device] = (s.platform, s.main, len(s.paths), s.lines)

    def render_and_stage(
        self,
        intents: Mapping[str, DeviceIntent],
        renderers: Mapping[str, Renderer],
        keep: Callable[[RenderedDevice], RenderedDevice | None],
        jobs: int | None = None,
    ) -> dict[str, RenderedDevice]:
        """Render the devices of ``renderers`` (:func:`fabric.render.base.select_renderers`)
        and stage their files; ``keep(rendered)`` gives what to hand back of a device (the
        exports' lab configs) or None. The devices -> what ``keep`` gave, in intent order.

        With one worker (:func:`fabric.parallel.worker_count` of ``jobs`` and the number of
        devices) this is :meth:`stage_rendered` over
        :func:`~fabric.render.base.render_each`, one device at a time. With more, the
        devices are split into as many contiguous runs: this process renders the first, a
        forked child each other one (:func:`fabric.parallel.fork_map`); each stages its
        devices' files as :meth:`fabric.files.Staging.add` does (compared with the disk,
        temp files beside the targets, nothing renamed) and reports them back, and they are
        added here in intent order, so the result, the build cache's records and the files
        are the same as with one process. The folders the children stage in are opened
        here first, so the one ``syncfs`` of :meth:`~fabric.files.Staging.commit` covers
        their files too. On any failure the children's temp files are removed before the
        error is raised (a worker's :class:`~fabric.errors.RenderError` as itself; a worker
        killed: :class:`fabric.parallel.WorkerLost`); this process's own are the
        caller's to :meth:`discard`, as with one process."""
        names = [n for n in intents if n in renderers]
        workers = worker_count(jobs, len(names))
        self.result.workers = workers
        kept: dict[str, RenderedDevice] = {}
        if workers == 1:
            def one_by_one() -> Iterable[RenderedDevice]:
                for r in render_each(intents, renderers):
                    k = keep(r)
                    if k is not None:
                        kept[r.device] = k
                    yield r

            self.stage_rendered(one_by_one())
            return kept
        chunks = split(names, workers)
        self.staging.watch(self.out / CONFIG_DIR)  # before the fork: syncfs then covers the children's files
        # this process's run starts before the fork, up to the first device of each
        # renderer (if that is in the first half of the run): every worker then inherits
        # what the renderers keep of text shared between devices (fabric.speed) instead of
        # rendering it again (the workers' CPU time on the benchmark fabric: 0.95 -> 0.80 s)
        firsts: dict[int, int] = {}
        for at, name in enumerate(names):
            firsts.setdefault(id(renderers[name]), at)
        upto = max((at for at in firsts.values() if at < len(chunks[0]) // 2), default=-1) + 1
        warm = [self._stage_device(render_with(renderers[name], intents[name]), self.staging, keep)
                for name in chunks[0][:upto]]

        def work(i: int) -> list[StagedDevice]:
            staging = self.staging if i == 0 else Staging(self.staging)
            done: list[StagedDevice] = warm if i == 0 else []
            try:
                for name in chunks[i][len(warm) if i == 0 else 0:]:
                    done.append(self._stage_device(render_with(renderers[name], intents[name]), staging, keep))
            except BaseException:
                if i != 0:
                    staging.discard()
                raise
            return done

        def undo(done: list[StagedDevice]) -> None:
            for s in done:
                for tmp, _ in s.staged:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(tmp)

        def lost(i: int) -> None:
            for name in chunks[i]:
                remove_temp_files(self.out / CONFIG_DIR, [f"{name}.{ext}" for ext in renderers[name].formats])

        def describe(i: int) -> str:
            return f"{i + 1} of {workers} ({chunks[i][0]} .. {chunks[i][-1]})"

        results = fork_map(work, workers, undo=undo, lost=lost, name=describe)
        for i, done in enumerate(results):
            if i:
                self.staging.adopt([p for s in done for p in s.staged], sum(s.unchanged for s in done))
            for s in done:
                self._count(s)
                if s.kept is not None:
                    kept[s.device] = s.kept
        return kept

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
