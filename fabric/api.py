"""The Python API: ``fabric.load(path)`` and the :class:`Fabric` it returns.

The CLI is a thin shell over these calls; scripts use them directly::

    import fabric
    fab = fabric.load("inventories/shownet2024")   # raises InventoryError listing every problem
    plan = fab.plan()                               # what the ledger would add / keep / free
    plan.changed                                    # False when allocations.yaml is up to date
    intents = fab.design()                          # {device: DeviceIntent}, vendor-neutral
    configs = fab.render()                          # {device: RenderedDevice}; configs["leaf1"].text
    fab.build("build/shownet2024")                  # configs/, intent/, docs and exports
    fab.onboard()                                   # keep each device's unmanaged config (pristine/)
    fab.diff()                                      # DeployReport: each device's diff, nothing changed
    fab.deploy(canary=1, parallel=10)               # DeployReport: waves, commit confirmed, rollback on failure
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabric.build import CONFIG_DIR, INTENT_DIR, BuildResult, BuildWriter, remove_stale
from fabric.buildcache import BuildCache, input_key, older_than, unchanged_build
from fabric.design.intent import DeviceIntent, FabricSummary
from fabric.design.pipeline import Design, design_fabric
from fabric.errors import (
    DesignError,
    DesignInputError,
    InventoryError,
    LedgerInputError,
    LedgerStaleError,
    PoolExhausted,
    Problem,
    RenderError,
)
from fabric.export import LAB_CONFIG_FORMATS, lab_config_devices, remove_stale_exports
from fabric.export import write_all as write_exports
from fabric.export.agents import agent_files, stale_agent_files
from fabric.export.view import build_view
from fabric.inventory import LEDGER_FILE, LoadedInventory, inventory_files, load_inventory
from fabric.model import Inventory
from fabric.render.base import RenderedDevice, render_all, select_renderers
from fabric.resources.ledger import Allocations, Ledger, Plan, plan_allocations
from fabric.yamlsrc import SourceMap

if TYPE_CHECKING:
    from fabric.deploy.api import OnboardReport
    from fabric.deploy.engine import DeployReport

class Fabric:
    """A loaded, validated fabric and its allocation ledger."""

    def __init__(self, loaded: LoadedInventory, loaded_at_ns: int | None = None) -> None:
        self._loaded = loaded
        self._design: Design | None = None
        self._loaded_at_ns = loaded_at_ns
        """``time.time_ns()`` before the inventory files were read (:func:`load`); None:
        unknown, so the build cache never skips the whole build."""
        self._ledger_read_ns: int | None = None

    @property
    def inventory(self) -> Inventory:
        """The validated inventory model."""
        return self._loaded.inventory

    @property
    def path(self) -> Path:
        """The inventory folder."""
        return self._loaded.path

    @property
    def source(self) -> SourceMap:
        """Where each value of the inventory was written (file, line)."""
        return self._loaded.source

    @property
    def name(self) -> str:
        return self.inventory.fabric.name

    @property
    def ledger_path(self) -> Path:
        """``allocations.yaml`` beside the inventory."""
        return self.path / LEDGER_FILE

    @cached_property
    def ledger(self) -> Ledger:
        """The ledger as it is on disk (empty when there is none yet)."""
        self._ledger_read_ns = time.time_ns()
        return Ledger.read(self.ledger_path, strict=False)

    def advisories(self) -> list[Problem]:
        """Valid but probably wrong values (:mod:`fabric.advisories`), e.g. a VRRP MAC as
        the anycast gateway MAC; nothing refuses them, the CLI prints them as warnings."""
        from fabric.advisories import advisories

        return advisories(self.inventory, self.source)

    def plan(self, prune: bool = False) -> Plan:
        """Plan allocations against the ledger on disk. Writes nothing.

        Raises :class:`~fabric.errors.LedgerInputError` for a damaged ledger and
        :class:`~fabric.errors.InventoryError` (at the pool in the inventory) when a pool
        has no value left for a new object."""
        try:
            return plan_allocations(self.inventory, self.ledger, prune=prune)
        except PoolExhausted as e:
            raise InventoryError([self.source.problem(self._pool_path(e.pool), str(e))]) from None

    def _pool_path(self, pool: str) -> tuple[str | int, ...]:
        """Where the pool named ``pool`` is written in the inventory."""
        parts = pool.split(".")
        if parts[0] == "kubernetes":
            names = [c.name for c in self.inventory.kubernetes.clusters]
            if len(parts) == 3 and parts[1] in names:
                return ("kubernetes", "clusters", names.index(parts[1]), "asn")
            return ("kubernetes",)
        if parts[0] == "id":
            return ("fabric",)
        return ("pools", *parts)

    def write_plan(self, plan: Plan) -> bool:
        """Write ``plan``'s ledger if it differs from the file; return whether it wrote."""
        if self.ledger.problems:  # planning refused it already; never write over a damaged ledger
            raise LedgerInputError(self.ledger.problems)
        text = plan.ledger.dump()
        if self.ledger_path.exists() and self.ledger_path.read_text(encoding="utf-8") == text:
            return False
        plan.ledger.write(self.ledger_path)
        self.__dict__.pop("ledger", None)
        return True

    def allocations(self) -> Allocations:
        """Every value the fabric uses: the ledger plus what a plan would add (in memory)."""
        return self.plan().allocations()

    def require_up_to_date(self) -> Plan:
        """The plan, if the ledger on disk already holds it; else :class:`~fabric.errors.LedgerStaleError`
        (the ledger is the reviewed source of truth: run ``fabric plan`` and commit it)."""
        p = self.plan()
        if p.changed:
            counts = {a: sum(1 for c in p.changes if c.action == a) for a in ("added", "changed", "freed")}
            what = ", ".join(f"{n} {a}" for a, n in counts.items() if n) or "fabric renamed"
            raise LedgerStaleError([Problem(
                str(self.ledger_path), 0, "",
                f"not up to date ({what}): run `fabric plan {self.path}`, "
                "review the allocations and commit them, then build again",
            )])
        return p

    def designed(self) -> Design:
        """The design stage's whole output: per-device intents and the
        :class:`FabricSummary` (what the exports read). Computed once per Fabric."""
        if self._design is None:
            with self._located():
                self._design = design_fabric(self.inventory, self.allocations())
        return self._design

    @contextmanager
    def _located(self) -> Iterator[None]:
        """Turn a :class:`DesignError` into a :class:`DesignInputError` at its place in the
        inventory (``FILE:LINE: path: message``, exit status 2 in the CLI)."""
        try:
            yield
        except DesignInputError:
            raise
        except DesignError as e:
            raise DesignInputError([self.source.problem(e.path, str(e))]) from None

    def design(self) -> dict[str, DeviceIntent]:
        """One vendor-neutral intent per device (spines, then leaves, inventory order),
        from the ledger plus what a plan would add in memory. Computed once per Fabric."""
        return self.designed().devices

    def summary(self) -> FabricSummary:
        """The whole fabric in one object (devices, links with both ends, networks,
        VRFs, Kubernetes nodes), for exports."""
        return self.designed().summary

    def render(self) -> dict[str, RenderedDevice]:
        """Every device rendered by its platform's renderer: ``{device: RenderedDevice}``
        (``.files`` maps extension -> text, ``.text`` is the main config).

        Raises :class:`~fabric.errors.RenderError` if a platform has no renderer or a
        device needs a feature its platform lacks (every such device is named)."""
        rendered, skipped = render_all(self.design())
        if skipped:
            raise RenderError("; ".join(f"{d}: {why}" for d, why in skipped.items()))
        return rendered

    def build(self, out_dir: str | Path, *, cache: bool = True, jobs: int | None = None) -> BuildResult:
        """Check the ledger is up to date, design, render and write ``out_dir``:
        ``configs/<device>.<ext>``, ``intent/<device>.json``, the bgp-agent configs
        ``agents/<cluster>/`` and the exports. Rewrites
        only files whose content changed; removes files of devices no longer here.

        With ``cache`` (the default) a device whose render input and files are what the
        last build into ``out_dir`` recorded is not rendered, compared nor written, and
        the exports are skipped when their input and files are unchanged
        (:mod:`fabric.buildcache`); ``cache=False`` renders and compares everything. The
        files written are the same either way.

        ``jobs``: how many processes render the devices (this one and forked children,
        :meth:`fabric.build.BuildWriter.render_and_stage`); default: one per CPU this
        process may use, at most :data:`fabric.parallel.MAX_WORKERS`. It is one process
        (``BuildResult.workers`` says how many ran) when there are fewer than
        :data:`fabric.parallel.MIN_ITEMS_PER_WORKER` devices to render per worker, on
        anything but Linux, or when another thread runs in this process
        (:func:`fabric.parallel.fork_refused`). The files and the result are the same
        whatever the number.

        Raises :class:`~fabric.errors.LedgerStaleError` when ``allocations.yaml`` is not up to
        date, :class:`~fabric.errors.DesignInputError` (located in the inventory) when the
        design refuses it, and
        :class:`~fabric.errors.RenderError` (writing nothing) when a device cannot be
        rendered. Devices whose platform has no renderer yet are listed in
        ``BuildResult.skipped``.

        This is the one place the stages meet: design -> render -> build writer and
        exports, each called with what the one before produced."""
        t0 = time.perf_counter()
        out = Path(out_dir)
        if cache:
            skipped_whole = self._unchanged_build(out)
            if skipped_whole is not None:
                skipped_whole.seconds = {"unchanged": time.perf_counter() - t0}
                return skipped_whole
        plan = self.require_up_to_date()
        with self._located():
            designed = design_fabric(self.inventory, plan.allocations())
            self._design = designed
        build_cache = BuildCache(out, use=cache)
        writer = BuildWriter(designed, out, cache=build_cache)
        t1 = time.perf_counter()
        try:
            todo = writer.stage_intents()  # every device's key; what must be rendered
            exports_key = build_cache.exports_key(designed.summary.to_json())
            export_files = build_cache.clean_exports(exports_key)
            view = build_view(designed) if export_files is None else None
            wanted = lab_config_devices(view) if view is not None else frozenset()
            with self._located():
                renderers, skipped = select_renderers(todo)  # every capability problem first
                # every problem of the agent configs (user sections included) before anything is written
                writer.agents = agent_files(designed.devices, designed.summary, out)
            writer.skip(skipped)

            def lab_configs(r: RenderedDevice) -> RenderedDevice | None:
                # keep only what the exports still need
                return r.only(LAB_CONFIG_FORMATS) if r.device in wanted else None

            kept = writer.render_and_stage(todo, renderers, lab_configs, jobs)
        except BaseException:
            writer.discard()
            raise
        result = writer.commit()
        t2 = time.perf_counter()
        if view is None:
            assert export_files is not None
            remove_stale_exports(out, {out / s.path for s in export_files})
            result.exports = "unchanged"
        else:
            for name in sorted(wanted - kept.keys()):
                if name in build_cache.held:  # not rendered: its files are what the renderer gave
                    kept[name] = build_cache.rendered_device(name, LAB_CONFIG_FORMATS)
            build_cache.record_exports(write_exports(view, kept, out))
            result.exports = "written"
        build_cache.record_input(self._input_key(), result.devices, len(result.skipped), writer.agents)
        build_cache.save()
        result.seconds = {"plan+design": t1 - t0, **result.seconds, "exports": time.perf_counter() - t2}
        return result

    def _input_key(self) -> str | None:
        """The whole build's input key (:func:`fabric.buildcache.input_key`) if the files
        on disk are what this Fabric was loaded from; else None."""
        if self._loaded_at_ns is None:
            return None
        try:  # a file added or removed since loading changed the folder
            if not older_than(os.stat(self.path), self._loaded_at_ns):
                return None
            files: list[tuple[Path, int | None]] = [(p, self._loaded_at_ns) for p in inventory_files(self.path)]
        except OSError:
            return None
        files.append((self.ledger_path, self._ledger_read_ns if "ledger" in self.__dict__ else None))
        return input_key(files)

    def _unchanged_build(self, out: Path) -> BuildResult | None:
        """When the whole input (the project's code, the inventory files, the ledger) is
        what the last build into ``out`` recorded and every file it wrote is as it left it,
        the result of building again without doing it: strays removed as a build would."""
        last = unchanged_build(out, self._input_key())
        if last is None:
            return None
        m = last.manifest
        result = BuildResult(out, devices=len(m.devices), cached=len(m.devices), exports="unchanged")
        for e in m.devices.values():
            result.platforms[e.platform] = result.platforms.get(e.platform, 0) + 1
            result.files += e.config_files
            result.lines += e.lines
        result.unchanged = len(last.keep)
        for sub in (CONFIG_DIR, INTENT_DIR):
            result.removed += remove_stale(out / sub, last.keep)
        result.removed += remove_stale_exports(out, last.keep)
        stale, result.kept = stale_agent_files(out, last.keep)
        for p in stale:
            p.unlink()
        result.removed += stale
        return result

    def deploy(self, **kwargs: Any) -> DeployReport:
        """Roll the rendered configs out to the devices: see :func:`fabric.deploy.api.deploy`
        (``devices``, ``roles``, ``canary``, ``parallel``, ``resume``, ``journal``,
        ``host_key_check``, ``revert_in``, ``postcheck_timeout``, ``targets``, ``progress``)."""
        from fabric.deploy import api

        return api.deploy(self, **kwargs)

    def diff(self, **kwargs: Any) -> DeployReport:
        """Each device's diff; changes nothing (:func:`fabric.deploy.api.diff`)."""
        from fabric.deploy import api

        return api.diff(self, **kwargs)

    def rollback(self, **kwargs: Any) -> DeployReport:
        """Undo the journaled deploy run (:func:`fabric.deploy.api.rollback`)."""
        from fabric.deploy import api

        return api.rollback(self, **kwargs)

    def onboard(self, **kwargs: Any) -> OnboardReport:
        """Keep each device's unmanaged config as its pristine file (:func:`fabric.deploy.api.onboard`)."""
        from fabric.deploy import api

        return api.onboard(self, **kwargs)


def load(path: str | Path) -> Fabric:
    """Load and validate the inventory folder ``path``.

    Raises :class:`fabric.errors.InventoryError` with every problem found."""
    started = time.time_ns()
    return Fabric(load_inventory(path), loaded_at_ns=started)
