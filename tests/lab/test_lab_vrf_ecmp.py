"""Issue 9 item 3 with real FRR: the BGP statements ``fabric`` renders for a tenant VRF give
one ECMP path per leaf that announces a service, although their AS paths differ.

The service /32 is announced by one node behind each of three leaves; a fourth leaf (the
router under test, without a node of its own) learns one route per announcing leaf, each
with that leaf's ASN in its AS path, exactly as type-5 routes arrive in a tenant VRF. This
kernel has no VRF support, so the router under test runs the statements of its rendered
``router bgp ASN vrf NAME`` block in its default instance; the announcing leaves are plain
FRR routers that prepend the node's ASN (what a route learned from the node carries).
Before the fix the VRF block had no ``bgp bestpath as-path multipath-relax`` and the ECMP
width was 1; the second half of the test shows that with real FRR too.

The second test measures issue 9's lab line "ECMP width = number of nodes" with two nodes
behind one leaf: the width at a remote router is the number of announcing leaves, with
equal weights. The third shows what would make it follow the nodes (link bandwidth, not
rendered).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import fabric
from fabric.lab import Lab, Router

pytestmark = pytest.mark.lab

INVENTORY = Path(__file__).resolve().parents[2] / "inventories" / "lab"
SERVICE = "198.51.100.53/32"
NODE_ASN = 64512


def vrf_statements() -> tuple[int, list[str]]:
    """The local ASN of leaf1 and the instance-level statements of its rendered tenant-VRF
    BGP block that decide multipath (bestpath options and the ipv4 maximum-paths)."""
    text = fabric.load(INVENTORY).render()["leaf1"].text
    m = re.search(r"^router bgp (\d+) vrf \S+\n(.*?)^!", text, re.MULTILINE | re.DOTALL)
    assert m is not None, "leaf1 has a tenant VRF BGP block"
    body = m.group(2).splitlines()
    bestpath = [ln.strip() for ln in body if ln.strip().startswith("bgp bestpath")]
    paths = [ln.strip() for ln in body if ln.strip().startswith("maximum-paths")]
    return int(m.group(1)), [*bestpath, *paths[:1]]


def announcer(asn: int, rid: str, peer: str, peer_asn: int) -> str:
    return "\n".join([
        "ip route 198.51.100.53/32 blackhole",
        "route-map FROM-NODE permit 10",
        f" set as-path prepend {NODE_ASN}",
        f"router bgp {asn}",
        f" bgp router-id {rid}",
        " no bgp ebgp-requires-policy",
        f" neighbor {peer} remote-as {peer_asn}",
        " address-family ipv4 unicast",
        f"  network {SERVICE} route-map FROM-NODE",
        " exit-address-family",
    ]) + "\n"


def receiver(asn: int, peers: dict[str, int], statements: list[str]) -> str:
    bestpath = [s for s in statements if s.startswith("bgp bestpath")]
    paths = [s for s in statements if s.startswith("maximum-paths")]
    lines = [f"router bgp {asn}", " bgp router-id 10.255.0.1", " no bgp ebgp-requires-policy"]
    lines += [f" {s}" for s in bestpath]
    lines += [f" neighbor {a} remote-as {n}" for a, n in peers.items()]
    lines += [" address-family ipv4 unicast", *(f"  {s}" for s in paths), " exit-address-family"]
    return "\n".join(lines) + "\n"


def test_rendered_tenant_vrf_statements_give_one_path_per_announcing_leaf(lab: Lab) -> None:
    asn, statements = vrf_statements()
    assert "bgp bestpath as-path multipath-relax" in statements
    me = lab.add_router("rx")
    peers: dict[str, int] = {}
    for i in range(3):
        leaf = lab.add_router(f"l{i}")
        lab.link(me, leaf, a_addrs=[f"10.9.{i}.0/31"], b_addrs=[f"10.9.{i}.1/31"])
        peer_asn = asn + 1 + i
        leaf.start(announcer(peer_asn, f"10.255.1.{i}", f"10.9.{i}.0", asn))
        peers[f"10.9.{i}.1"] = peer_asn
    me.start(receiver(asn, peers, statements))
    route = me.wait_route(SERVICE, lambda r: r is not None and len(r.nexthops) == 3, timeout=60)
    assert route is not None and route.gateways == set(peers)

    # the old rendering (no multipath-relax in the VRF): one path only
    me.vtysh("configure terminal", f"router bgp {asn}", "no bgp bestpath as-path multipath-relax")
    me.vtysh("clear ip bgp * soft")
    route = me.wait_route(SERVICE, lambda r: r is not None and len(r.nexthops) == 1, timeout=60)
    assert route is not None


def node(rid: str, leaf: str, leaf_asn: int) -> str:
    """A Kubernetes node announcing the service from its own ASN (what bgp-agent sends)."""
    return "\n".join([
        f"ip route {SERVICE} blackhole",
        f"router bgp {NODE_ASN}",
        f" bgp router-id {rid}",
        " no bgp ebgp-requires-policy",
        f" neighbor {leaf} remote-as {leaf_asn}",
        " address-family ipv4 unicast",
        f"  network {SERVICE}",
        " exit-address-family",
    ]) + "\n"


BEHIND = {0: 2, 1: 1}
"""Announcing leaf -> number of nodes behind it."""


def leaves_with_nodes(lab: Lab, asn: int, out_policy: list[str]) -> tuple[Router, dict[str, int]]:
    """The router under test ``rx`` cabled to leaves l0 and l1 with :data:`BEHIND` nodes
    each; ``out_policy`` (route-map lines, map ``OUT``) is applied toward ``rx`` if given.
    Returns ``rx`` (not started) and its peers (address -> ASN)."""
    me = lab.add_router("rx")
    peers: dict[str, int] = {}
    for i, count in BEHIND.items():
        leaf = lab.add_router(f"l{i}")
        lab.link(me, leaf, a_addrs=[f"10.9.{i}.0/31"], b_addrs=[f"10.9.{i}.1/31"])
        leaf_asn = asn + 1 + i
        nbrs = [f" neighbor 10.9.{i}.0 remote-as {asn}"]
        for j in range(count):
            n = lab.add_router(f"n{i}{j}")
            sub = f"10.8.{10 * i + j}"
            lab.link(leaf, n, a_addrs=[f"{sub}.0/31"], b_addrs=[f"{sub}.1/31"])
            n.start(node(f"10.255.2.{10 * i + j}", f"{sub}.0", leaf_asn))
            nbrs.append(f" neighbor {sub}.1 remote-as {NODE_ASN}")
        out = [f"  neighbor 10.9.{i}.0 route-map OUT out"] if out_policy else []
        leaf.start("\n".join([
            *out_policy,
            f"router bgp {leaf_asn}", f" bgp router-id 10.255.1.{i}", " no bgp ebgp-requires-policy", *nbrs,
            " address-family ipv4 unicast", "  maximum-paths 64", *out, " exit-address-family",
        ]) + "\n")
        peers[f"10.9.{i}.1"] = leaf_asn
        if count > 1:
            own = leaf.wait_route(SERVICE, lambda r, c=count: r is not None and len(r.nexthops) == c, timeout=60)
            assert own is not None and own.gateways == {f"10.8.{10 * i + j}.1" for j in range(count)}
    return me, peers


def test_a_remote_leaf_sees_one_path_per_announcing_leaf_not_per_node(lab: Lab) -> None:
    """Issue 9's lab line "ECMP width = number of nodes" holds only with one node per leaf:
    three nodes announce the service, two behind leaf l0 and one behind l1. l0 spreads over
    its two nodes, but advertises one route (itself as next hop), so the router under test
    (the rendered tenant-VRF statements) installs two equal next hops, one per announcing
    leaf, not three. Weighted ECMP (BGP link bandwidth) is not rendered
    (docs/review-k8s-underlay.md, item 3)."""
    asn, statements = vrf_statements()
    me, peers = leaves_with_nodes(lab, asn, [])
    me.start(receiver(asn, peers, statements))
    route = me.wait_route(SERVICE, lambda r: r is not None and len(r.nexthops) == len(BEHIND), timeout=60)
    assert route is not None and route.gateways == set(peers)
    assert sum(BEHIND.values()) == 3 != len(route.nexthops)
    weights = {h["gateway"]: h.get("weight", 1) for h in json.loads(me.ip("-j", "route", "show", SERVICE).stdout)[0]["nexthops"]}
    assert len(set(weights.values())) == 1, weights


def test_link_bandwidth_would_weight_the_leaves_by_their_nodes(lab: Lab) -> None:
    """What it would take (not rendered): each leaf advertising the number of its multipaths
    as BGP link bandwidth (FRR ``set extcommunity bandwidth num-multipaths``) makes FRR weight
    the next hops 2:1, i.e. per node."""
    asn, statements = vrf_statements()
    me, peers = leaves_with_nodes(lab, asn, ["route-map OUT permit 10", " set extcommunity bandwidth num-multipaths"])
    me.start(receiver(asn, peers, statements))
    route = me.wait_route(SERVICE, lambda r: r is not None and len(r.nexthops) == len(BEHIND), timeout=60)
    assert route is not None
    weights = {h["gateway"]: h["weight"] for h in json.loads(me.ip("-j", "route", "show", SERVICE).stdout)[0]["nexthops"]}
    assert abs(weights["10.9.0.1"] / weights["10.9.1.1"] - BEHIND[0] / BEHIND[1]) < 0.1, weights
