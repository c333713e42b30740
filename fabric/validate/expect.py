"""What a running fabric should look like, computed from the intent alone (pure).

:func:`expected_state` lists every BGP session, every L2 VNI with the remote VTEPs it
should have, every L3 VNI, every dual-homed server's Ethernet segment on each leaf of its
pair, every host ping of a lab and every agent session.
:func:`expected_service_routes` is the one part that depends on what is healthy right now:
given which nodes announce which service addresses and which sessions are up, it says
which next hops each router should use for each address, by BGP's own rules in this
design (eBGP everywhere, ``multipath-relax``):

- a leaf with healthy announcing nodes of its own uses exactly those nodes (their AS path
  is one hop; the same address learned through a spine is three);
- a leaf without uses every spine whose session with it is up (equal three-hop paths);
- a spine uses every leaf that has a healthy announcing node and a session with it up.

So the ECMP width at a leaf is the number of its own healthy nodes announcing the address,
and at a spine the number of leaves with one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from fabric.design.intent import DeviceIntent
from fabric.lab.topology import LabTopology

IPAddr = IPv4Address | IPv6Address


@dataclass(frozen=True, order=True)
class ExpectedSession:
    device: str
    vrf: str
    address: str
    peer: str
    kind: str
    """``underlay``, ``underlay6``, ``overlay``, ``dci``, ``kubernetes``."""


@dataclass(frozen=True, order=True)
class ExpectedVni:
    device: str
    vni: int
    network: str
    remote_vteps: tuple[str, ...]


@dataclass(frozen=True, order=True)
class ExpectedL3Vni:
    device: str
    vrf: str
    l3vni: int


@dataclass(frozen=True, order=True)
class ExpectedPing:
    host: str
    target: str
    what: str
    """``gateway``, ``gateway6`` or ``host <name> on <leaf>``."""


@dataclass(frozen=True, order=True)
class ExpectedAgent:
    node: str
    peers: tuple[str, ...]


@dataclass(frozen=True, order=True)
class ExpectedSegment:
    """A dual-homed server's Ethernet segment on one leaf of its pair: the leaf knows the
    ESI as local, and sees the other leaf's VTEP on it (its type-4 route)."""

    device: str
    server: str
    esi: str
    peer: str
    peer_vtep: str


@dataclass(frozen=True)
class ExpectedState:
    sessions: tuple[ExpectedSession, ...]
    vnis: tuple[ExpectedVni, ...]
    l3vnis: tuple[ExpectedL3Vni, ...]
    pings: tuple[ExpectedPing, ...]
    agents: tuple[ExpectedAgent, ...]
    segments: tuple[ExpectedSegment, ...] = ()


@dataclass(frozen=True, order=True)
class ExpectedRoute:
    device: str
    prefix: str
    next_hops: tuple[str, ...]
    """Addresses (IPv4); for IPv6 only their number counts (FRR uses link-local next hops)."""
    why: str


def expected_state(intents: Mapping[str, DeviceIntent], topo: LabTopology | None, tenant_vrfs: bool) -> ExpectedState:
    """Everything checkable without knowing what is healthy. ``topo`` (a lab) adds pings and
    agents; ``tenant_vrfs`` False puts Kubernetes sessions in the default table."""
    sessions: list[ExpectedSession] = []
    vnis: list[ExpectedVni] = []
    l3: list[ExpectedL3Vni] = []
    segments: list[ExpectedSegment] = []
    vteps_of_network: dict[str, list[tuple[str, str]]] = {}
    for name, i in intents.items():
        if i.device.vtep is not None:
            for v in i.vnis:
                vteps_of_network.setdefault(v.name, []).append((name, str(i.device.vtep)))
    for name, i in intents.items():
        seen: set[str] = set()

        def add(vrf: str, addr: IPAddr, peer: str, kind: str, name: str = name, seen: set[str] = seen) -> None:
            key = f"{vrf}/{addr}"
            if key not in seen:
                seen.add(key)
                sessions.append(ExpectedSession(name, vrf, str(addr), peer, kind))

        for n in i.underlay.neighbors:
            add("default", n.address, n.peer, "underlay")
        for n in i.underlay.neighbors6:
            add("default", n.address, n.peer, "underlay6")
        for n in i.overlay.neighbors:
            add("default", n.address, n.peer, "overlay")
        if i.dci is not None:
            for n in (*i.dci.underlay_neighbors, *i.dci.underlay_neighbors6, *i.dci.overlay_neighbors):
                add("default", n.address, n.peer, "dci")
        for k in i.kubernetes:
            vrf = k.vrf if tenant_vrfs else "default"
            for node in k.nodes:
                add(vrf, node.address, node.name, "kubernetes")
                if node.address6 is not None and k.local_address6 is not None:
                    add(vrf, node.address6, node.name, "kubernetes")
        for s in i.external_sessions():
            vrf = s.vrf if tenant_vrfs else "default"
            add(vrf, s.peer_address, s.router, "external")
            if s.peer_address6 is not None:
                add(vrf, s.peer_address6, s.router, "external")
        for v in i.vnis:
            remotes = sorted({vt for dev, vt in vteps_of_network.get(v.name, []) if dev != name},
                             key=lambda a: tuple(int(x) for x in a.split(".")))
            vnis.append(ExpectedVni(name, v.vni, v.name, tuple(remotes)))
        for vi in i.vrfs:
            l3.append(ExpectedL3Vni(name, vi.name, vi.l3vni))
        for a in i.servers:
            seg = a.segment
            if seg is not None:
                peer = intents.get(seg.peer)
                vtep = str(peer.device.vtep) if peer is not None and peer.device.vtep is not None else ""
                segments.append(ExpectedSegment(name, a.server, seg.esi.lower(), seg.peer, vtep))
    pings: list[ExpectedPing] = []
    agents: list[ExpectedAgent] = []
    if topo is not None:
        by_network: dict[str, list[str]] = {}
        for h in topo.hosts:
            by_network.setdefault(h.network, []).append(h.name)
        hosts = {h.name: h for h in topo.hosts}
        for h in topo.hosts:
            if h.gateway4 is not None and h.address4 is not None:
                pings.append(ExpectedPing(h.name, str(h.gateway4), "gateway"))
            if h.gateway6 is not None and h.address6 is not None:
                pings.append(ExpectedPing(h.name, str(h.gateway6), "gateway6"))
            peers = by_network[h.network]
            if len(peers) > 1:
                other = hosts[peers[(peers.index(h.name) + 1) % len(peers)]]
                if other.address4 is not None and h.address4 is not None:
                    pings.append(ExpectedPing(h.name, str(other.address4.ip), f"host {other.name} on {other.leaf}"))
        for kn in topo.k8s_nodes:
            leaf = intents.get(kn.leaf)
            addrs: list[str] = []
            if leaf is not None:
                for kp in leaf.kubernetes:
                    if any(p.name == kn.name for p in kp.nodes):
                        addrs.append(str(kp.local_address))
                        if kp.local_address6 is not None and kn.address6 is not None:
                            addrs.append(str(kp.local_address6))
            agents.append(ExpectedAgent(kn.name, tuple(addrs)))
    return ExpectedState(tuple(sessions), tuple(vnis), tuple(l3), tuple(pings), tuple(agents), tuple(segments))


def expected_service_routes(
    intents: Mapping[str, DeviceIntent],
    announcing: Mapping[str, Iterable[str]],
    sessions_up: Iterable[tuple[str, str]],
    tenant_vrfs: bool,
) -> list[ExpectedRoute]:
    """Next hops per (router, service prefix) given ``announcing`` (node -> prefixes it
    announces now) and ``sessions_up`` ((device, neighbor address) established). Covers
    the leaves of each announcing cluster and, where tenant networks are in the default
    table (``tenant_vrfs`` False), the spines."""
    up = set(sessions_up)
    node_leaf: dict[str, tuple[str, str, str | None]] = {}  # node -> (leaf, v4, v6)
    cluster_leaves: dict[str, set[str]] = {}
    node_cluster: dict[str, str] = {}
    for name, i in intents.items():
        for k in i.kubernetes:
            for kn in k.nodes:
                node_leaf[kn.name] = (name, str(kn.address), str(kn.address6) if kn.address6 else None)
                cluster_leaves.setdefault(k.cluster, set()).add(name)
                node_cluster[kn.name] = k.cluster
    # prefix -> leaf -> announcing node addresses with the session up
    local: dict[str, dict[str, list[str]]] = {}
    clusters_of_prefix: dict[str, set[str]] = {}
    for node, prefixes in announcing.items():
        if node not in node_leaf:
            continue
        leaf, a4, a6 = node_leaf[node]
        for p in prefixes:
            v6 = ip_network(p).version == 6
            addr = a6 if v6 else a4
            clusters_of_prefix.setdefault(p, set()).add(node_cluster[node])
            if addr is not None and (leaf, addr) in up:
                local.setdefault(p, {}).setdefault(leaf, []).append(addr)
    out: list[ExpectedRoute] = []
    for p in sorted(clusters_of_prefix, key=lambda x: (ip_network(x).version, ip_network(x))):
        v6 = ip_network(p).version == 6
        leaves = set().union(*(cluster_leaves[c] for c in clusters_of_prefix[p]))
        with_local = local.get(p, {})
        for name, i in intents.items():
            if i.device.role == "spine":
                if tenant_vrfs:
                    continue
                hops = []
                for n in i.underlay.neighbors6 if v6 else i.underlay.neighbors:
                    if n.peer in with_local and (name, str(n.address)) in up:
                        hops.append(str(n.address))
                out.append(ExpectedRoute(name, p, tuple(sorted(hops, key=_addr_key)),
                                         f"one per leaf with a healthy announcing node ({len(hops)})"))
            elif name in leaves:
                if with_local.get(name):
                    hops = sorted(with_local[name], key=_addr_key)
                    why = f"its own healthy announcing nodes ({len(hops)})"
                elif with_local:
                    hops = sorted((str(n.address) for n in (i.underlay.neighbors6 if v6 else i.underlay.neighbors)
                                   if (name, str(n.address)) in up), key=_addr_key)
                    why = f"no node of its own announces it: every spine with a session up ({len(hops)})"
                else:
                    hops, why = [], "no node announces it"
                out.append(ExpectedRoute(name, p, tuple(hops), why))
    return out


def _addr_key(a: str) -> tuple[int, int]:
    ip = ip_address(a)
    return (ip.version, int(ip))
