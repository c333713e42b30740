"""Benchmarks that justify each speed trick of ``fabric/speed.py`` (``make bench``).

Every trick is timed against the plain way in the same run, on the benchmark fabric
(``gen_fabric.py --spines 4 --leaves 256 --svis 500 --vrfs 4 --tenants 2``), in CPU time
(other work on a shared machine inflates wall time), and must pay for itself: a trick the
plain way beats by less than :data:`MIN_GAIN` is to be deleted. Where the two ways can give
text, the test first checks they give the same text.

1. :func:`fabric.speed.gc_paused` in the design stage (around the Junos parse trees it
   gained nothing once the shared blocks are parsed once: 2.48 s vs 2.51 s, so it went);
2. :class:`fabric.speed.IdentityCache` for the shared per-network blocks of Junos and NX-OS;
3. the hand-written intent JSON encoder (:func:`fabric.design.intent.JsonCache` and its
   cached tuples and RD slots) against ``json.dumps(..., indent=2, sort_keys=True)``;
4. the Junos shared blocks (:class:`fabric.render.junos.tree.SharedBlock`, placeholders
   filled by serial, :func:`fabric.render.junos.tree.fill_marks`) against parsing every device's whole text;
5. :func:`fabric.speed.template_bytecode_cache`: loading every template of the three
   renderers in a new environment (what a fresh ``fabric build`` does), from the cache
   against compiling them;
6. :func:`fabric.speed.sync_filesystem`: :meth:`fabric.files.Staging.commit` of a whole
   build's files (~1,170, 290 MB) with one ``syncfs`` against one ``fsync`` per file (its
   fallback). The CPU time compared is the committing process's; the write-back itself
   runs in the kernel's flusher threads with ``syncfs``, so the wall time is printed too;
7. :func:`fabric.speed.address_text` against ``str()`` on every address value of the
   benchmark fabric's intent (each value once per place it is printed);
8. :func:`fabric.speed.environment_class`: the NX-OS leaves rendered with template globals
   in a plain dict against Jinja2's ``ChainMap``;
9. :class:`fabric.render.junos.tree.StatementMemo`: parsing the Junos leaves' skeletons
   (their text outside the shared blocks) and printing their ``set`` and XML forms, each
   distinct line tokenized once and the XML of each block kept by its text, against
   :func:`~fabric.render.junos.tree.parse` and a plain print (a new memo per round, as a
   fresh build has);
10. a Junos leaf's network blocks and VLAN names made once per pair of network tuple and
    shared gateway tuple (:meth:`fabric.render.junos.JunosRenderer.blocks`), and each VRF's
    irb interfaces once per (gateway tuple, VRF network tuple), against making them on
    every leaf (each network's text still rendered once): the views of the Junos leaves;
11. the intent JSON of a tuple of shared objects looked up by the tuple's own identity
    first (:meth:`fabric.design.intent.JsonCache.get_tuple`), against by its items'.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import time
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface, IPv6Network
from pathlib import Path
from typing import Any

import pytest

import fabric
from fabric.design import DeviceIntent
from fabric.design.intent import INTENT_VERSION, JsonCache, VrfInstance
from fabric.design.pipeline import Design
from fabric.render.junos import JunosRenderer
from fabric.render.junos.tree import StatementMemo, parse, to_set
from fabric.render.junos.view import LeafBlocks
from fabric.render.junos.xml import to_xml
from fabric.render.nxos.renderer import NxosRenderer
from tests.bench.gen_fabric import write

SHAPE = {"spines": 4, "leaves": 256, "svis": 500, "vrfs": 4, "tenants": 2}
MIN_GAIN = 1.15
"""A trick must make its step at least this much faster (plain CPU time / trick CPU time)."""


@pytest.fixture(scope="module")
def fab(tmp_path_factory: pytest.TempPathFactory) -> fabric.Fabric:
    d = tmp_path_factory.mktemp("speed-4x256")
    write(d, **SHAPE)
    f = fabric.load(d)
    f.write_plan(f.plan())
    return fabric.load(d)


@pytest.fixture(scope="module")
def designed(fab: fabric.Fabric) -> Design:
    return fab.designed()


def cpu(fn: Callable[[], object], rounds: int = 3) -> float:
    """The best CPU time of ``rounds`` runs of ``fn``."""
    best = float("inf")
    for _ in range(rounds):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def report(capsys: pytest.CaptureFixture[str], benchmark: Any, what: str, trick: float, plain: float) -> None:
    benchmark.extra_info.update({"trick_cpu_s": round(trick, 3), "plain_cpu_s": round(plain, 3),
                                 "gain": round(plain / trick, 2)})
    with capsys.disabled():
        print(f"\n{what}: {trick:.2f} s CPU with the trick, {plain:.2f} s plain ({plain / trick:.1f}x)")
    assert plain / trick >= MIN_GAIN, f"{what}: the trick gains only {plain / trick:.2f}x; delete it"


class _NoCache:
    """An IdentityCache that never hits: the plain way."""

    def get(self, objs: tuple[object, ...], extra: object, make: Callable[[], Any]) -> Any:
        return make()

    def get_one(self, obj: object, extra: object, make: Callable[[], Any]) -> Any:
        return make()


@contextlib.contextmanager
def _gc_on() -> Iterator[None]:
    yield


def _junos(d: Design) -> list[DeviceIntent]:
    return [i for i in d.devices.values() if i.device.platform == "junos"]


def test_gc_paused_in_the_design(benchmark: Any, fab: fabric.Fabric, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    import fabric.design.pipeline as pipeline

    alloc = fab.allocations()
    trick = benchmark.pedantic(lambda: cpu(lambda: pipeline.design_fabric(fab.inventory, alloc)), rounds=1, iterations=1)
    monkeypatch.setattr(pipeline, "gc_paused", _gc_on)
    plain = cpu(lambda: pipeline.design_fabric(fab.inventory, alloc))
    report(capsys, benchmark, "gc_paused, design stage", trick, plain)


@pytest.mark.parametrize("platform", ["junos", "nxos"])
def test_identity_cache_of_shared_blocks(benchmark: Any, designed: Design, platform: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    devices = [i for i in designed.devices.values() if i.device.platform == platform]
    cached: JunosRenderer | NxosRenderer = JunosRenderer() if platform == "junos" else NxosRenderer()
    plain_r: JunosRenderer | NxosRenderer = JunosRenderer() if platform == "junos" else NxosRenderer()
    plain_r._cache = _NoCache()  # type: ignore[assignment]
    if isinstance(plain_r, JunosRenderer):
        plain_r._leaf = _NoCache()  # type: ignore[assignment]
        plain_r._leaf_text = _NoCache()  # type: ignore[assignment]
    if isinstance(plain_r, NxosRenderer):
        plain_r._parts = _NoCache()  # type: ignore[assignment]
    assert cached.render_main(devices[0]) == plain_r.render_main(devices[0])
    trick = benchmark.pedantic(lambda: cpu(lambda: [cached.render_main(i) for i in devices]), rounds=1, iterations=1)
    plain = cpu(lambda: [plain_r.render_main(i) for i in devices], rounds=1)
    report(capsys, benchmark, f"IdentityCache, {platform} main text", trick, plain)


def _plain(value: Any) -> Any:
    """The intent as plain data for ``json.dumps`` (what the hand-written encoder prints)."""
    if isinstance(value, IPv4Address | IPv6Address | IPv4Interface | IPv6Interface | IPv4Network | IPv6Network):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, frozenset):
        return [_plain(v) for v in sorted(value)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        hook = getattr(value, "__json__", None)
        if hook is not None:
            return _plain(hook())
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def _json_dumps(intent: DeviceIntent) -> str:
    data = _plain(intent)
    data["intent_version"] = INTENT_VERSION
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_hand_written_intent_json(benchmark: Any, designed: Design, capsys: pytest.CaptureFixture[str]) -> None:
    devices = list(designed.devices.values())
    for i in (devices[0], devices[-1], _junos(designed)[0]):
        assert i.to_json() == _json_dumps(i), i.name

    def encode() -> None:
        cache = JsonCache()
        for i in devices:
            i.to_json(cache)

    trick = benchmark.pedantic(lambda: cpu(encode), rounds=1, iterations=1)
    plain = cpu(lambda: [_json_dumps(i) for i in devices], rounds=1)
    report(capsys, benchmark, "hand-written intent JSON", trick, plain)


def test_junos_shared_blocks(benchmark: Any, designed: Design, capsys: pytest.CaptureFixture[str]) -> None:
    r, devices = JunosRenderer(), _junos(designed)

    def whole_text(i: DeviceIntent) -> dict[str, str]:
        conf = r.render_main(i)
        tree = parse(conf)
        return {"conf": conf, "set": to_set(tree), "xml": to_xml(tree)}

    assert r.render(devices[0]) == whole_text(devices[0])
    trick = benchmark.pedantic(lambda: cpu(lambda: [r.render(i) for i in devices]), rounds=1, iterations=1)
    plain = cpu(lambda: [whole_text(i) for i in devices], rounds=1)
    report(capsys, benchmark, "Junos shared blocks (set/XML)", trick, plain)


def test_template_bytecode_cache(benchmark: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    from fabric.render.frr.renderer import FrrRenderer
    from fabric.speed import CACHE_ENV

    def load_all() -> None:
        for r in (JunosRenderer(), NxosRenderer(), FrrRenderer()):
            env = r._env
            for name in env.list_templates(filter_func=lambda n: n.endswith(".j2")):
                env.get_template(name)

    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    load_all()  # fills the cache
    trick = benchmark.pedantic(lambda: cpu(load_all), rounds=1, iterations=1)
    monkeypatch.setenv(CACHE_ENV, "")
    plain = cpu(load_all)
    report(capsys, benchmark, "template bytecode cache, every template", trick, plain)


def test_syncfs_commit(benchmark: Any, fab: fabric.Fabric, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> None:
    import fabric.speed as speed
    from fabric.files import Staging

    if speed._libc_syncfs() is None:
        pytest.skip("no trustworthy syncfs here (not Linux >= 5.8): Staging syncs file by file")
    built = tmp_path / "built"
    fab.build(built)
    data = [(p.relative_to(built), p.read_bytes()) for p in sorted(built.rglob("*")) if p.is_file()]

    def commit(into: Path) -> tuple[float, float]:
        shutil.rmtree(into, ignore_errors=True)
        s = Staging()
        for rel, b in data:
            s.add(into / rel, b)
        c, t = time.process_time(), time.perf_counter()
        s.commit()
        return time.process_time() - c, time.perf_counter() - t

    def best(rounds: int = 2) -> tuple[float, float]:
        runs = [commit(tmp_path / "out") for _ in range(rounds)]
        return min(r[0] for r in runs), min(r[1] for r in runs)

    trick, trick_wall = benchmark.pedantic(best, rounds=1, iterations=1)
    monkeypatch.setattr(speed, "_libc_syncfs", lambda: None)
    plain, plain_wall = best()
    benchmark.extra_info.update({"trick_wall_s": round(trick_wall, 3), "plain_wall_s": round(plain_wall, 3)})
    with capsys.disabled():
        print(f"\ncommit of {len(data)} files: {trick_wall:.2f} s wall with syncfs, {plain_wall:.2f} s file by file")
    report(capsys, benchmark, f"syncfs, commit of {len(data)} staged files", max(trick, 1e-3), plain)


def _addresses(value: Any, out: list[Any]) -> None:
    """Every address value inside ``value`` (an intent), once per place it appears."""
    if isinstance(value, IPv4Address | IPv6Address | IPv4Interface | IPv6Interface | IPv4Network | IPv6Network):
        out.append(value)
    elif isinstance(value, tuple | list | frozenset):
        for v in value:
            _addresses(v, out)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _addresses(getattr(value, f.name), out)


def test_address_text(benchmark: Any, designed: Design, capsys: pytest.CaptureFixture[str]) -> None:
    from fabric.speed import address_text

    values: list[Any] = []
    for i in designed.devices.values():
        _addresses(i, values)
    assert [address_text(v) for v in values] == [str(v) for v in values]
    trick = benchmark.pedantic(lambda: cpu(lambda: [address_text(v) for v in values]), rounds=1, iterations=1)
    plain = cpu(lambda: [str(v) for v in values])
    report(capsys, benchmark, f"address_text, {len(values)} intent addresses", trick, plain)


def test_flat_template_globals(benchmark: Any, designed: Design, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    import jinja2

    import fabric.render.shared as shared

    devices = [i for i in designed.devices.values() if i.device.platform == "nxos"]

    def build() -> list[str]:
        r = NxosRenderer()  # a new renderer, as each build has: its shared blocks are rendered again
        return [r.render_main(i) for i in devices]

    flat_text = build()
    with monkeypatch.context() as m:
        m.setattr(shared, "environment_class", lambda: jinja2.Environment)
        assert type(NxosRenderer()._env) is jinja2.Environment
        assert build() == flat_text
        plain = cpu(build)
    assert type(NxosRenderer()._env) is not jinja2.Environment
    trick = benchmark.pedantic(lambda: cpu(build), rounds=1, iterations=1)
    report(capsys, benchmark, "flat template globals, NX-OS leaves", trick, plain)


def test_direct_init_in_plan_and_design(benchmark: Any, fab: fabric.Fabric, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """:func:`fabric.speed.direct_init` on the intent and ledger classes made by the
    thousand (a leaf's L2 VNIs: 128,000 on this fabric) against the dataclasses' own
    ``__init__``: planning and designing the fabric, the stages that make them."""
    import fabric.design.intent as intent
    import fabric.design.pipeline as pipeline
    import fabric.resources.ledger as ledger

    def plan_and_design() -> None:
        pipeline.design_fabric(fab.inventory, fab.plan().allocations())

    direct = [c for m in (intent, ledger) for c in vars(m).values()
              if isinstance(c, type) and c.__module__ == m.__name__ and hasattr(c.__init__, "__dataclass_init__")]
    assert intent.L2Vni in direct
    trick = benchmark.pedantic(lambda: cpu(plan_and_design), rounds=1, iterations=1)
    for c in direct:
        monkeypatch.setattr(c, "__init__", c.__init__.__dataclass_init__)
    plain = cpu(plan_and_design)
    report(capsys, benchmark, "direct_init, plan + design", trick, plain)


def test_junos_statement_memo(benchmark: Any, designed: Design, capsys: pytest.CaptureFixture[str]) -> None:
    r = JunosRenderer()
    skeletons = [r.skeleton(i) for i in _junos(designed)]

    def memo_way() -> list[tuple[str, str]]:
        memo = StatementMemo()
        out = []
        for text, blocks, _ in skeletons:
            tree = memo.parse(text)
            assert tree is not None
            out.append((to_set(tree.stmts, blocks), to_xml(tree.stmts, slots=blocks, memo=tree)))
        return out

    def plain_way() -> list[tuple[str, str]]:
        out = []
        for text, blocks, _ in skeletons:
            tree = parse(text)
            out.append((to_set(tree, blocks), to_xml(tree, slots=blocks)))
        return out

    assert memo_way() == plain_way()
    trick = benchmark.pedantic(lambda: cpu(memo_way), rounds=1, iterations=1)
    plain = cpu(plain_way)
    report(capsys, benchmark, "StatementMemo, Junos skeletons parsed, set + XML printed", trick, plain)


class _PerLeafJunos(JunosRenderer):
    """The plain way of :meth:`JunosRenderer.blocks`: each leaf's VNI and gateway lists
    walked on every leaf (each network's text, and each list's joined text, still cached:
    what the renderer did before)."""

    def blocks(self, d: DeviceIntent) -> LeafBlocks:
        cache, gateways = self._cache, d.gateways
        irb = cache.get(gateways, "irb", lambda: "".join([
            cache.get_one(g, "irb", lambda g=g: self._irb.render(g=g)) for g in gateways]))  # type: ignore[misc]
        ra = cache.get(gateways, "ra", lambda: "".join([
            cache.get_one(g, "ra", lambda g=g: self._ra.render(g=g)) for g in gateways  # type: ignore[misc]
            if g.address6 is not None]))
        nets = tuple(v.network for v in d.vnis)
        gw_networks = {g.network for g in gateways}
        has_gw = tuple(net.name in gw_networks for net in nets)
        vlans = cache.get(nets, ("vlan", has_gw), lambda: "".join([
            cache.get_one(net, gw, lambda net=net, gw=gw: self._vlan.render(net=net, has_gateway=gw))  # type: ignore[misc]
            for net, gw in zip(nets, has_gw, strict=True)]))
        vnis = cache.get(nets, "vni", lambda: "".join([
            cache.get_one(net, "vni", lambda net=net: self._vni.render(net=net)) for net in nets]))  # type: ignore[misc]
        numbers = tuple(v.vni for v in d.vnis)
        vni_list = cache.get_one(numbers, "list", lambda: "        extended-vni-list [ " + " ".join(map(str, numbers))
                                 + " ];\n") if numbers else ""
        return LeafBlocks(irb, vlans, vnis, ra, vni_list, {v.vlan: v.network.name for v in d.vnis})

    def vrf_interfaces(self, d: DeviceIntent, vrf: VrfInstance) -> str:
        gw_vlan = {g.network: g.vlan for g in d.gateways}
        units = tuple(gw_vlan[n] for n in vrf.networks)
        return self._cache.get_one(units, "vrf", lambda: "".join([f"        interface irb.{u};\n" for u in units]))


def test_junos_leaf_blocks_by_identity(benchmark: Any, designed: Design, capsys: pytest.CaptureFixture[str]) -> None:
    devices = _junos(designed)

    def views(r: JunosRenderer) -> list[Any]:
        return [r.view(i) for i in devices]

    def same(v: Any) -> tuple[Any, ...]:
        return (v.irb_units, v.vlan_blocks, v.vni_options, v.router_advertisement, v.vni_list, v.vlan_names,
                v.vrf_interfaces)

    assert [same(v) for v in views(JunosRenderer())] == [same(v) for v in views(_PerLeafJunos())]
    # a new renderer each round: its caches start empty, as in a fresh build
    trick = benchmark.pedantic(lambda: cpu(lambda: views(JunosRenderer())), rounds=1, iterations=1)
    plain = cpu(lambda: views(_PerLeafJunos()))
    report(capsys, benchmark, "Junos leaf blocks by identity, views of the Junos leaves", trick, plain)


def test_intent_json_tuples_by_identity(benchmark: Any, designed: Design, capsys: pytest.CaptureFixture[str]) -> None:
    """The step the trick changes: encoding each device's tuples of shared objects (its
    gateways, each VRF's network names) once the first leaf has put their text in the
    cache, as every later leaf of a build does."""
    from fabric.design.intent import _encode

    tuples = [t for i in designed.devices.values() for t in (i.gateways, *(v.networks for v in i.vrfs)) if t]
    cache = JsonCache()
    fast = [_encode(t, 2, cache) for t in tuples]

    def plain_way() -> list[str]:
        return [cache.get_all(t, 2, lambda: "") for t in tuples]  # the lookup it replaces (a hit: same text)

    assert plain_way() == fast
    trick = benchmark.pedantic(lambda: cpu(lambda: [_encode(t, 2, cache) for t in tuples]), rounds=1, iterations=1)
    plain = cpu(plain_way)
    report(capsys, benchmark, f"intent JSON, {len(tuples)} shared tuples by identity", trick, plain)
