"""fabric validate's pure halves: the expected state from the intent, and the comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fabric
from fabric.deploy.driver import BgpNeighbor, Route, Vni
from fabric.export.view import build_view
from fabric.lab.topology import lab_topology
from fabric.validate import LiveState, compare, expected_service_routes, expected_state

REPO = Path(__file__).resolve().parents[2]
FAB = fabric.load(REPO / "inventories" / "lab")
INTENTS = FAB.design()
TOPO = lab_topology(build_view(FAB.designed()))
EXPECTED = expected_state(INTENTS, TOPO, tenant_vrfs=False)
DNS = "198.51.100.53/32"
NODES = {"node1": "10.1.20.11", "node2": "10.1.20.12", "node3": "10.1.20.13", "node4": "10.1.20.14"}


def all_up() -> set[tuple[str, str]]:
    return {(s.device, s.address) for s in EXPECTED.sessions}


def healthy_live(down: set[tuple[str, str]] = frozenset(), unhealthy: set[str] = frozenset()) -> LiveState:  # type: ignore[assignment]
    live = LiveState()
    for s in EXPECTED.sessions:
        state = "down" if (s.device, s.address) in down else "established"
        live.neighbors.setdefault(s.device, []).append(BgpNeighbor(s.vrf, s.address, 1, state))  # type: ignore[arg-type]
    for v in EXPECTED.vnis:
        live.vnis.setdefault(v.device, []).append(Vni(v.vni, "l2", remote_vteps=v.remote_vteps))
    up = {(s.device, s.address) for s in EXPECTED.sessions} - down
    announcing = {n: [] if n in unhealthy else [DNS] for n in NODES}
    for r in expected_service_routes(INTENTS, announcing, up, tenant_vrfs=False):
        live.routes.setdefault(r.device, []).append(Route(r.prefix, next_hops=r.next_hops))
    live.pings = {(p.host, p.target): True for p in EXPECTED.pings}
    for a in EXPECTED.agents:
        st: dict[str, Any] = {"peers": [{"address": x, "state": "up"} for x in a.peers], "prefixes": [
            {"prefix": DNS, "service": "anycast-dns", "check": "dns",
             "state": "withdrawn-unhealthy" if a.node in unhealthy else "announced", "reason": ""}]}
        live.agents[a.node] = st
    return live


def test_expected_state_of_the_lab() -> None:
    kinds = {s.kind for s in EXPECTED.sessions}
    assert kinds == {"underlay", "underlay6", "overlay", "kubernetes", "external"}
    # the border leaf's sessions to the backbone, in the default table without kernel VRFs
    external = [(s.device, s.vrf, s.address, s.peer) for s in EXPECTED.sessions if s.kind == "external"]
    assert external == [("leaf4", "default", "192.0.2.1", "backbone"), ("leaf4", "default", "2001:db8:ff::1", "backbone")]
    leaf1 = [s for s in EXPECTED.sessions if s.device == "leaf1"]
    assert len(leaf1) == 2 + 2 + 2 + 2  # v4 + v6 underlay, overlay, node1 v4 + v6
    vni = next(v for v in EXPECTED.vnis if v.device == "leaf1" and v.network == "servers")
    assert vni.remote_vteps == ("10.0.1.2", "10.0.1.3", "10.0.1.4")
    assert len(EXPECTED.pings) == 8 * 3  # gateway, gateway6, same network on the next leaf
    # node1's agent peers with leaf1's own addresses (pools.k8s_peering), not the anycast gateway 10.1.20.1
    assert EXPECTED.agents[0].peers == ("10.0.3.1", "fd00:0:0:3::1")


def test_ecmp_width_follows_the_healthy_announcing_nodes() -> None:
    routes = {r.device: r for r in expected_service_routes(INTENTS, {n: [DNS] for n in NODES}, all_up(), False)}
    assert len(routes["spine1"].next_hops) == 4 and routes["leaf1"].next_hops == ("10.1.20.11",)
    routes = {r.device: r for r in expected_service_routes(INTENTS, {n: [DNS] for n in NODES if n != "node1"},
                                                           all_up(), False)}
    assert len(routes["spine1"].next_hops) == 3  # one less
    assert routes["leaf1"].next_hops == ("10.0.2.0", "10.0.2.2")  # through both spines now
    up = {s for s in all_up() if s[1] not in ("10.0.2.0",)}  # leaf1's session to spine1 down
    routes = {r.device: r for r in expected_service_routes(INTENTS, {"node2": [DNS]}, up, False)}
    assert routes["leaf1"].next_hops == ("10.0.2.2",)
    assert routes["spine1"].next_hops == ("10.0.2.5",)


def test_all_green_when_live_matches() -> None:
    checks = compare(INTENTS, EXPECTED, healthy_live(), tenant_vrfs=False, vrf_skip_reason="no VRFs")
    assert [c for c in checks if c.status == "fail"] == []
    assert {c.status for c in checks if c.area == "l3vni"} == {"skipped"}


def test_a_session_down_is_named_with_expected_and_seen() -> None:
    checks = compare(INTENTS, EXPECTED, healthy_live(down={("leaf2", "10.0.0.1")}), tenant_vrfs=False)
    (bad,) = [c for c in checks if c.status == "fail"]
    assert (bad.device, bad.item, bad.expected, bad.seen, bad.peer) == (
        "leaf2", "overlay 10.0.0.1 (spine1)", "established", "down", "spine1")


def test_a_device_that_cannot_be_read_fails_all_its_checks() -> None:
    live = healthy_live()
    live.errors["spine1"] = "bgpd is not running"
    for d in (live.neighbors, live.routes):
        d.pop("spine1", None)
    checks = compare(INTENTS, EXPECTED, live, tenant_vrfs=False)
    failed = [c for c in checks if c.status == "fail"]
    assert failed and all(c.device == "spine1" and "unreadable" in c.seen for c in failed)


def test_missing_vtep_and_wrong_width_fail() -> None:
    live = healthy_live()
    live.vnis["leaf3"] = [Vni(10000, "l2", remote_vteps=("10.0.1.1",)), Vni(10001, "l2")]
    live.routes["spine2"] = [Route(DNS, next_hops=("10.0.2.3",))]
    checks = compare(INTENTS, EXPECTED, live, tenant_vrfs=False)
    failed = {(c.device, c.area) for c in checks if c.status == "fail"}
    assert failed == {("leaf3", "vni"), ("spine2", "service")}


def test_unhealthy_node_fails_its_service_only() -> None:
    checks = compare(INTENTS, EXPECTED, healthy_live(unhealthy={"node3"}), tenant_vrfs=False)
    failed = [c for c in checks if c.status == "fail"]
    assert [(c.device, c.area) for c in failed] == [("node3", "agent")]
    widths = {c.device: c.item for c in checks if c.area == "service"}
    assert widths["spine1"].endswith("width 3") and widths["leaf3"].endswith("width 2")
