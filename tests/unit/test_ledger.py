"""Allocation ledger: properties (hypothesis) and the file's crash safety."""

from __future__ import annotations

import os
import subprocess
import sys
from ipaddress import IPv4Address, ip_network
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabric.errors import LedgerError
from fabric.files import atomic_write
from fabric.model import Inventory
from fabric.resources.ledger import Ledger, Plan, plan_allocations

POOLS: dict[str, Any] = {
    "loopback": "10.0.0.0/26",
    "vtep": "10.0.1.0/26",
    "p2p": "10.0.2.0/24",
    "p2p_v6": "fd00:2::/120",
    "asn": {"spine": "65000-65009", "leaf": "65100-65199", "border": "65200-65209", "spines_share": False},
    "l2vni": "10000-10063",
    "l3vni": "50000-50015",
    "vlan": "100-199",
}


def make_inventory(spines: list[str], leaves: list[tuple[str, str]], vrfs: list[str], nets: list[str],
                   pins: dict[str, Any] | None = None, share: bool = False) -> Inventory:
    pins = pins or {}
    pools = {**POOLS, "asn": {**POOLS["asn"], "spines_share": share}}
    vrf_list = vrfs or ["v0"]
    data = {
        "fabric": {"name": "prop"},
        "pools": pools,
        "spines": [{"name": s, "platform": "frr", "model": "frr", **pins.get(s, {})} for s in spines],
        "leaves": [{"name": n, "role": role, "platform": "frr", "model": "frr", **pins.get(n, {})} for n, role in leaves],
        "tenants": [{
            "name": "t",
            "vrfs": [{"name": v, **pins.get(v, {})} for v in vrf_list],
            "networks": [{"name": n, "vrf": vrf_list[i % len(vrf_list)], **pins.get(n, {})} for i, n in enumerate(nets)],
        }],
        "kubernetes": {"clusters": [{
            "name": "k", "network": nets[0], "asn": "64512-64541", "service_ranges": ["198.51.100.0/24"],
            "nodes": [{"name": f"node-{lf}", "leaf": lf, "port": "swp40", "address": f"10.99.0.{i + 2}"}
                      for i, (lf, _) in enumerate(leaves[:5])],
        }]} if nets else {"clusters": []},
    }
    if nets:
        data["tenants"][0]["networks"][0]["gateway4"] = "10.99.0.1/24"  # type: ignore[index]
    return Inventory.model_validate(data)


def values_of(ledger: Ledger) -> dict[str, dict[str, Any]]:
    return {s: dict(e) for s, e in ledger.sections.items()}


def assert_sound(plan: Plan, inv: Inventory) -> None:
    """No two objects share a value (except shared spine ASNs); every value is in its pool."""
    pools = {r.section + "/" + r.key: r.pool for r in plan.requests}
    shared = {r.section + "/" + r.key for r in plan.requests if r.shared}
    for section, entries in plan.ledger.sections.items():
        seen: dict[Any, str] = {}
        for key, value in entries.items():
            pool = pools.get(f"{section}/{key}")
            if pool is not None:
                assert pool.parse(value) in pool, (section, key, value)
            if f"{section}/{key}" in shared:
                continue
            assert value not in seen, f"{section}: {key} and {seen[value]} share {value}"
            seen[value] = key


names = st.lists(st.integers(1, 40), min_size=1, max_size=12, unique=True)


@st.composite
def fabrics(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "spines": [f"s{i}" for i in draw(st.lists(st.integers(1, 6), min_size=1, max_size=4, unique=True))],
        "leaves": [(f"l{i}", "border" if i % 7 == 0 else "server") for i in draw(names)],
        "vrfs": [f"v{i}" for i in draw(st.lists(st.integers(0, 8), min_size=1, max_size=4, unique=True))],
        "nets": [f"n{i}" for i in draw(st.lists(st.integers(0, 50), min_size=1, max_size=20, unique=True))],
    }


PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(fabrics())
def test_fresh_plan_is_sound_and_replanning_is_a_no_op(f: dict[str, Any]) -> None:
    inv = make_inventory(**f)
    p1 = plan_allocations(inv, Ledger())
    assert_sound(p1, inv)
    assert all(c.action == "added" for c in p1.changes)
    p2 = plan_allocations(inv, p1.ledger)
    assert not p2.changed
    assert {c.action for c in p2.changes} == {"kept"}
    assert p2.ledger.dump() == p1.ledger.dump()


@PROPS
@given(fabrics(), fabrics())
def test_adding_and_removing_objects_never_moves_others(a: dict[str, Any], b: dict[str, Any]) -> None:
    inv_a = make_inventory(**a)
    inv_b = make_inventory(**b)
    before = plan_allocations(inv_a, Ledger())
    after = plan_allocations(inv_b, before.ledger)
    assert_sound(after, inv_b)
    old = values_of(before.ledger)
    new = values_of(after.ledger)
    for section, entries in old.items():
        for key, value in entries.items():
            # kept (present in both) or stale (removed): either way the value stays
            assert new[section][key] == value, f"{section} {key} moved"
    # new objects never take a value held by a removed (stale) object
    for c in after.changes:
        if c.action == "added":
            held = {v for k, v in old.get(c.section, {}).items()}
            if c.section == "asn" and c.new == 65000:
                continue
            assert c.new not in held
    # pruning frees exactly the removed objects and nothing else moves
    pruned = plan_allocations(inv_b, after.ledger, prune=True)
    requested = {(r.section, r.key) for r in pruned.requests}
    for c in pruned.changes:
        assert (c.action == "freed") == ((c.section, c.key) not in requested)
        if c.action != "freed":
            assert c.new == new[c.section][c.key]


@PROPS
@given(fabrics(), st.data())
def test_pinned_values_are_honoured(f: dict[str, Any], data: st.DataObject) -> None:
    leaf = f["leaves"][0][0]
    net = f["nets"][-1]
    vrf = f["vrfs"][0]
    lo = data.draw(st.integers(40, 62))
    asn_pool = (65200, 65209) if f["leaves"][0][1] == "border" else (65100, 65199)
    pins = {
        leaf: {"loopback": f"10.0.0.{lo}", "asn": data.draw(st.integers(*asn_pool))},
        net: {"vlan": data.draw(st.integers(150, 199)), "vni": data.draw(st.integers(10040, 10063))},
        vrf: {"l3vni": data.draw(st.integers(50010, 50015))},
    }
    # first without pins, then pin: pinned wins even over an existing allocation
    before = plan_allocations(make_inventory(**f), Ledger())
    inv = make_inventory(**f, pins=pins)
    try:
        p = plan_allocations(inv, before.ledger)
    except LedgerError as e:
        # only legitimate refusal: the pinned value is held by another existing object
        assert "already allocated" in str(e)
        return
    s = p.ledger.sections
    assert s["loopback"][leaf] == f"10.0.0.{lo}"
    assert s["asn"][leaf] == pins[leaf]["asn"]
    assert s["vlan"][f"network/{net}"] == pins[net]["vlan"]
    assert s["l2vni"][net] == pins[net]["vni"]
    assert s["l3vni"][vrf] == pins[vrf]["l3vni"]
    assert_sound(p, inv)
    # from a fresh ledger, pinned values are never handed to someone else
    fresh = plan_allocations(inv, Ledger())
    assert_sound(fresh, inv)
    assert fresh.ledger.sections["loopback"][leaf] == f"10.0.0.{lo}"


def test_lowest_free_value_and_spines_share_asn() -> None:
    inv = make_inventory(["s1", "s2"], [("l1", "server"), ("l2", "server")], ["v"], ["n1"], share=True)
    p = plan_allocations(inv, Ledger())
    s = p.ledger.sections
    assert s["asn"] == {"s1": 65000, "s2": 65000, "l1": 65100, "l2": 65101}
    assert s["loopback"]["s1"] == "10.0.0.1"  # .0 is the network address, never handed out
    assert s["p2p"]["l1--s1"] == "10.0.2.0/31" and s["p2p"]["l1--s2"] == "10.0.2.2/31"
    assert s["p2p_v6"]["l2--s2"] == "fd00:2::6/127"
    assert s["node_asn"] == {"node-l1": 64512, "node-l2": 64513}


def test_removed_object_keeps_value_until_prune_then_value_is_reused() -> None:
    inv = make_inventory(["s1"], [("l1", "server"), ("l2", "server"), ("l3", "server")], ["v"], ["n1"])
    p1 = plan_allocations(inv, Ledger())
    inv2 = make_inventory(["s1"], [("l1", "server"), ("l3", "server"), ("l4", "server")], ["v"], ["n1"])
    p2 = plan_allocations(inv2, p1.ledger)
    stale = {(c.section, c.key) for c in p2.changes if c.action == "stale"}
    assert ("loopback", "l2") in stale
    assert p2.ledger.sections["loopback"]["l4"] == "10.0.0.5"  # l2's .3 stays reserved
    p3 = plan_allocations(inv2, p2.ledger, prune=True)
    assert "l2" not in p3.ledger.sections["loopback"]
    inv3 = make_inventory(["s1"], [("l1", "server"), ("l3", "server"), ("l4", "server"), ("l5", "server")], ["v"], ["n1"])
    p4 = plan_allocations(inv3, p3.ledger)
    assert p4.ledger.sections["loopback"]["l5"] == "10.0.0.3"  # freed value is the lowest free again


def test_exhausted_pool_is_a_clear_error() -> None:
    leaves = [(f"l{i}", "server") for i in range(70)]
    inv = make_inventory(["s1"], leaves, ["v"], ["n1"])
    with pytest.raises(LedgerError, match="pool loopback is exhausted"):
        plan_allocations(inv, Ledger())


def test_pinned_value_held_by_another_object_is_refused() -> None:
    inv = make_inventory(["s1"], [("l1", "server"), ("l2", "server")], ["v"], ["n1"])
    p = plan_allocations(inv, Ledger())
    taken = p.ledger.sections["loopback"]["l1"]
    inv2 = make_inventory(["s1"], [("l1", "server"), ("l2", "server")], ["v"], ["n1"], pins={"l2": {"loopback": taken}})
    with pytest.raises(LedgerError, match="already allocated to l1"):
        plan_allocations(inv2, p.ledger)


def test_ledger_file_round_trip_and_damage(tmp_path: Path) -> None:
    inv = make_inventory(["s1"], [("l1", "server")], ["v"], ["n1"])
    p = plan_allocations(inv, Ledger())
    path = tmp_path / "allocations.yaml"
    p.ledger.write(path)
    again = Ledger.read(path)
    assert again.sections == p.ledger.sections
    assert not plan_allocations(inv, again).changed
    path.write_text(path.read_text().replace('"10.0.0.1"', '"not-an-address"'))
    with pytest.raises(LedgerError, match="not a loopback value"):
        plan_allocations(inv, Ledger.read(path))
    path.write_text("version: 7\n")
    with pytest.raises(LedgerError, match="version"):
        Ledger.read(path)


def test_interrupted_write_leaves_the_old_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "allocations.yaml"
    atomic_write(path, "version: 1\nloopback:\n  \"a\": \"10.0.0.1\"\n")
    good = path.read_text()

    def boom(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write(path, "version: 1\n" + "x" * 100000)
    assert path.read_text() == good
    assert [p.name for p in tmp_path.iterdir()] == ["allocations.yaml"]  # no temp file left behind


def test_killed_writer_never_leaves_a_broken_ledger(tmp_path: Path) -> None:
    """SIGKILL a process in the middle of rewriting the ledger over and over: whatever
    instant it dies, the file parses and is one of the complete versions."""
    path = tmp_path / "allocations.yaml"
    versions = [f"version: 1\nfabric: \"v{i}\"\nvlan:\n" + "".join(f'  "n{j}": {j}\n' for j in range(3000)) for i in range(2)]
    atomic_write(path, versions[0])
    script = (
        "import sys\nfrom pathlib import Path\nfrom fabric.files import atomic_write\n"
        f"p = Path({str(path)!r})\ntexts = [open({str(tmp_path / 'v0')!r}).read(), open({str(tmp_path / 'v1')!r}).read()]\n"
        "print('ready', flush=True)\ni = 0\nwhile True:\n    atomic_write(p, texts[i % 2]); i += 1\n"
    )
    (tmp_path / "v0").write_text(versions[0])
    (tmp_path / "v1").write_text(versions[1])
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        proc.kill()
        proc.wait(timeout=10)
        assert path.read_text() in versions
        Ledger.read(path)


def test_p2p_values_are_slash_31() -> None:
    inv = make_inventory(["s1", "s2"], [("l1", "server")], ["v"], ["n1"])
    p = plan_allocations(inv, Ledger())
    for value in p.ledger.sections["p2p"].values():
        n = ip_network(str(value))
        assert n.prefixlen == 31 and n.subnet_of(ip_network("10.0.2.0/24"))  # type: ignore[arg-type]
    assert p.allocations().loopback("s1") == IPv4Address("10.0.0.1")


def test_site_ids_and_multisite_vips_are_ledger_values() -> None:
    """Reordering sites keeps their numbers (the BGW id and ESI depend on them); a site
    with DCI links gets one VIP from the VTEP pool that no leaf VTEP ever takes."""
    from fabric.api import load

    repo = Path(__file__).resolve().parents[2]
    fab = load(repo / "inventories" / "shownet2024-dci")
    plan = fab.plan()
    alloc = plan.allocations()
    vteps = {v for k, v in plan.ledger.sections["vtep"].items() if not k.startswith("site/")}
    vips = {str(alloc.multisite_vip(s.name)) for s in fab.inventory.fabric.sites}
    assert len(vips) == 2 and not vips & vteps
    inv = fab.inventory.model_copy(deep=True)
    inv.fabric.sites.reverse()
    again = plan_allocations(inv, plan.ledger)
    assert not again.changed
    assert again.allocations().site_id("dc2") == alloc.site_id("dc2") == 2


def test_vnis_the_design_uses_as_route_targets_are_never_allocated() -> None:
    from fabric.design.intent import EVPN_INSTANCE_RD
    from fabric.resources.ledger import RESERVED_VNIS

    assert EVPN_INSTANCE_RD in RESERVED_VNIS
    inv = make_inventory(["s1"], [("l1", "server")], ["v"], [f"n{i}" for i in range(4)])
    inv.pools.l2vni = type(inv.pools.l2vni)(first=65532, last=65599)
    p = plan_allocations(inv, Ledger())
    assert sorted(p.ledger.sections["l2vni"].values()) == [65532, 65533, 65535, 65536]


# ------------------------------------------------------------------ the ledger read without YAML

# lines a hand-edited or damaged ledger may hold: each one the YAML reader must read (or
# refuse) and the reader of written ledgers must either read the same way or leave to it
ODD_LINES = [
    "", "  ", "---", "...", "\t\"l1\": 1", '   "l1": 1', ' "l1": 1', '  l1: 1', '  "l1": 010', '  "l1": 0x10', '  "l1": 1_0',
    '  "l1": -1', '  "l1": +1', '  "l1": 1.5', '  "l1": ~', '  "l1": null', '  "l1": yes', '  "l1": "a\\tb"',
    '  "l1": \'x\'', '  "l1": "x" # c', '  "l1": 1 # c', '  "l1":1', '  "l1":  1', '  "l1": ""', '  "l 1": 1',
    '  "on": 1', '  "1": 1', '  "l1": "10.0.0.1"', '  "l1": "é"', '  "l1": "x:y"', '  "l1": "#"', '  "l1": [1]',
    "leaf_id:", "leaf_id:  # c", "leaf_id: #c", "leaf_id:# c", "leaf_id: 1", 'leaf_id: "x"', "leaf_id: {}",
    "on:", "yes: 1", "version: 1", "version: 2", "version:", 'fabric: "prop"', "fabric: prop", 'fabric: ""',
    "  # c", "# c", "#c", "#", "# é", "unknown:", 'loopback:  # x', '  "l1": 4', '  "s1": "10.0.0.1"',
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.sampled_from(["insert", "replace", "delete", "copy"]),
                          st.sampled_from(ODD_LINES), st.integers(0, 40)), max_size=4))
def test_written_ledger_reader_reads_as_yaml_does(edits: list[tuple[int, str, str, int]]) -> None:
    from fabric.resources.ledger import _read_as_written
    from fabric.yamlsrc import SourceError, SourceMap, load_yaml_with_lines

    inv = make_inventory(["s1", "s2"], [("l1", "server"), ("l2", "border")], ["v"], ["n1", "n2"])
    lines = plan_allocations(inv, Ledger()).ledger.dump().split("\n")
    for at, how, line, other in edits:
        i = at % len(lines)
        if how == "insert":
            lines.insert(i, line)
        elif how == "replace":
            lines[i] = line
        elif how == "delete" and len(lines) > 1:
            del lines[i]
        elif how == "copy":
            lines.insert(i, lines[other % len(lines)])
    text = "\n".join(lines)
    fast_map, yaml_map = SourceMap(), SourceMap()
    fast = _read_as_written(text, "f", fast_map)
    try:
        slow = load_yaml_with_lines(text, "f", yaml_map)
    except SourceError:
        assert fast is None  # every refusal is the YAML reader's own
        return
    if fast is not None:
        assert fast == slow
        assert [type(v) for v in fast.values()] == [type(v) for v in slow.values()]
        assert fast_map.where == yaml_map.where


def test_a_written_ledger_is_read_without_yaml() -> None:
    from fabric.resources.ledger import _read_as_written
    from fabric.yamlsrc import SourceMap

    inv = make_inventory(["s1", "s2"], [("l1", "server"), ("l2", "border")], ["v"], ["n1", "n2"])
    text = plan_allocations(inv, Ledger()).ledger.dump()
    assert _read_as_written(text, "f", SourceMap()) is not None


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.integers(0, 2**128 - 1),
                 st.lists(st.sampled_from([0, 0, 0, 1, 0xFFFF, 0xDB8]), min_size=8, max_size=8).map(
                     lambda ws: sum(w << (16 * (7 - k)) for k, w in enumerate(ws)))),
       st.integers(0, 2**32 - 1))
def test_address_text_is_ipaddress_text(v6: int, v4: int) -> None:
    from ipaddress import IPv6Address

    from fabric.resources.pools import ipv4_int, ipv4_text, ipv6_int, ipv6_text

    assert ipv6_text(v6) == str(IPv6Address(v6))
    assert ipv6_int(str(IPv6Address(v6))) == v6
    assert ipv4_text(v4) == str(IPv4Address(v4))
    assert ipv4_int(str(IPv4Address(v4))) == v4
    for odd in ("010.0.0.1", "10.0.0.1 ", "10.0.0", "FD00::1", "fd00:0::1", "fd00::1%eth0", "::ffff:10.0.0.1"):
        assert ipv4_int(odd) is None and ipv6_int(odd) is None
