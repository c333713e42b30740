"""The design pipeline: inventory + allocations -> one :class:`DeviceIntent` per switch.

Stages run in this order; each reads only what the ones before it produced:

1. :func:`fabric_info`   fabric-wide values (RT admin needs the spines' ASNs);
2. :func:`devices`       who each switch is: role, ASN, loopback, VTEP (everything later
                         names peers by device and reads their ASN and loopback here);
3. :func:`links`         cables with both ends and their /31 and /127 (default cabling
                         ports from the ledger's spine/leaf numbers, explicit ones from
                         the inventory); interfaces and underlay sessions come from these;
4. :func:`networks`      shared Network / AnycastGateway / Vrf objects and which leaves
                         carry each network (sites of the members decide "stretched");
5. :func:`clusters`      Kubernetes peerings per leaf (need each network's VLAN, VRF and
                         gateway from stage 4);
6. :func:`assemble`      per device: interfaces, underlay, overlay, EVPN, VRFs, gateways,
                         peerings, and DCI on border leaves (needs every stage above);
7. :func:`summary`       the fabric in one object for the exports (stages 1-5).

Objects that are the same on every leaf are built once in stages 1 and 4 and shared; the
per-leaf loop only builds what differs per leaf (RDs, neighbor lists), so 256 leaves x
500 networks design in about 0.12 s and 1024 x 4000 in about 3 s. Pure: no I/O, no clocks.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Interface, IPv6Network

from fabric.design.external import external_ports, with_external
from fabric.design.intent import (
    EVPN_INSTANCE_RD,
    GRACEFUL_SHUTDOWN_COMMUNITY,
    INTERCONNECT_RD,
    INTERCONNECT_RT_NUMBER,
    INTERCONNECT_VRF_RD_BASE,
    INTERCONNECT_VRF_RT_BASE,
    AccessInterface,
    AnycastGateway,
    Bfd,
    BgpNeighbor,
    Dci,
    DciVrf,
    Device,
    DeviceIntent,
    EthernetSegment,
    Evpn,
    FabricInfo,
    FabricInterface,
    FabricSummary,
    GracefulShutdown,
    K8sCluster,
    K8sNode,
    K8sNodePeer,
    K8sPeering,
    L2Vni,
    Link,
    LinkEnd,
    Network,
    Overlay,
    PrefixFilter,
    Role,
    RouteTarget,
    ServerAttachment,
    Site,
    Underlay,
    Vrf,
    VrfInstance,
)
from fabric.errors import DesignError
from fabric.model import Inventory, Leaf, Spine
from fabric.model.fabric import Site as InvSite
from fabric.platforms import EVPN_NEXT_HOP, GENERIC_MODELS, MODELS, max_ip_mtu
from fabric.resources.ledger import Allocations, link_keys
from fabric.sorting import natural_key
from fabric.speed import IdentityCache, gc_paused

PathT = tuple[str | int, ...]

# Timers and limits of the design (one place, printed by every platform alike).
UNDERLAY_BFD = Bfd(interval_ms=1000, multiplier=3)
OVERLAY_BFD = Bfd(interval_ms=3000, multiplier=3)
NODE_BFD = Bfd(interval_ms=300, multiplier=3)
OVERLAY_TTL = 2
K8S_TTL = 2
DCI_TTL = 5
MAXIMUM_PATHS = 64
GRACEFUL_SHUTDOWN = GracefulShutdown(GRACEFUL_SHUTDOWN_COMMUNITY, 0)


@dataclass(frozen=True, slots=True)
class Design:
    """The outcome of the pipeline: every device's intent and the fabric summary."""

    devices: dict[str, DeviceIntent]
    """Spines then leaves, inventory order."""
    summary: FabricSummary


def design(inventory: Inventory, allocations: Allocations) -> dict[str, DeviceIntent]:
    """One intent per switch (spines, then leaves, in inventory order).

    Raises :class:`~fabric.errors.LedgerError` if the allocations lack a value the
    inventory needs (run ``fabric plan``) and :class:`~fabric.errors.DesignError` for a
    valid inventory that still cannot be built (e.g. a default cabling port beyond the
    model's ports)."""
    return design_fabric(inventory, allocations).devices


def design_fabric(inventory: Inventory, allocations: Allocations) -> Design:
    """:func:`design` plus the :class:`FabricSummary` the exports read."""
    inv, alloc = inventory, allocations
    with gc_paused():  # millions of small acyclic objects at scale: see fabric.speed
        info = fabric_info(inv, alloc)                     # 1
        devs = devices(inv, alloc)                         # 2
        cables = links(inv, alloc, devs)                   # 3
        tenancy = networks(inv, alloc, devs, info)         # 4
        peerings = clusters(inv, alloc, devs, tenancy)     # 5
        intents = assemble(inv, alloc, info, devs, cables, tenancy, peerings)  # 6
        intents = with_external(intents, external_ports(inv, devs))            # 6b: border hand-off
        intents = attach_servers(intents, server_attachments(inv, alloc, devs, tenancy))  # 6c
        return Design(intents, summary(inv, info, devs, cables, tenancy, peerings))  # 7


# --------------------------------------------------------------------------- helpers


def _text(s: str) -> str:
    """One line, no control characters: safe to print inside a quoted CLI string."""
    return "".join(ch for ch in " ".join(s.split()) if ch.isprintable())


def _rt(admin: int, number: int, what: str) -> RouteTarget:
    limit = 0xFFFF if admin > 0xFFFF else 0xFFFFFFFF
    if number > limit:
        raise DesignError(
            f"route target {admin}:{number} of {what} does not fit: with a 4-byte admin ({admin}) "
            "the number is 16 bits; set pools.route_targets.admin to a 2-byte ASN",
            ("pools", "route_targets", "admin"),
        )
    return RouteTarget(admin, number)


# --------------------------------------------------------------------------- 1. fabric


def fabric_info(inv: Inventory, alloc: Allocations) -> FabricInfo:
    """Fabric-wide settings, one shared object."""
    f = inv.fabric
    admin = inv.pools.route_targets.admin or alloc.asn(inv.spines[0].name)
    return FabricInfo(
        name=f.name,
        description=_text(f.description),
        sites=tuple(Site(s.name, alloc.site_id(s.name), _text(s.description), tuple(s.pods), site_rt_admin(inv, alloc, s))
                    for s in f.sites),
        mtu=f.mtu,
        underlay_ipv6=f.underlay_ipv6,
        bfd=f.bfd,
        ntp=tuple(f.ntp),
        dns=tuple(f.dns),
        gateway_mac=inv.pools.gateway_mac(),
        route_target_admin=admin,
    )


def site_rt_admin(inv: Inventory, alloc: Allocations, site: InvSite) -> int:
    """A site's route-target admin: its own, else ``pools.route_targets.admin``, else the
    ASN of the site's first spine (the first spine of the fabric if the site has none)."""
    if site.route_target_admin:
        return site.route_target_admin
    if inv.pools.route_targets.admin:
        return inv.pools.route_targets.admin
    first = next((s for s in inv.spines if s.site == site.name), inv.spines[0])
    return alloc.asn(first.name)


# --------------------------------------------------------------------------- 2. devices


def devices(inv: Inventory, alloc: Allocations) -> dict[str, Device]:
    """Every switch, spines first, with its allocated numbers."""
    out: dict[str, Device] = {}
    for s in inv.spines:
        out[s.name] = _device(s, "spine", alloc.spine_id(s.name), alloc, None)
    for lf in inv.leaves:
        role: Role = "border" if lf.role == "border" else "leaf"
        out[lf.name] = _device(lf, role, alloc.leaf_id(lf.name), alloc, alloc.vtep(lf.name))
    return out


def _device(sw: Spine | Leaf, role: Role, ident: int, alloc: Allocations, vtep: IPv4Address | None) -> Device:
    leaf = sw if isinstance(sw, Leaf) else None
    loopback = alloc.loopback(sw.name)
    evpn_source = vtep if vtep is not None and EVPN_NEXT_HOP[sw.platform] == "session" else loopback
    return Device(
        name=sw.name,
        role=role,
        platform=sw.platform,
        model=sw.model,
        description=_text(sw.description),
        id=ident,
        mgmt=sw.mgmt,
        site=sw.site,
        pod=sw.pod,
        rack=leaf.rack if leaf else None,
        pair=leaf.pair if leaf else None,
        asn=alloc.asn(sw.name),
        loopback=loopback,
        vtep=vtep,
        loopback6=leaf.loopback6 if leaf else None,
        evpn_source=evpn_source,
    )


# --------------------------------------------------------------------------- 3. links


def _port(model: str, ports: tuple[str, ...], number: int, what: str, device: str, where: PathT) -> str:
    """Port ``number`` (1-based) of a model's list; generic models name ports beyond it."""
    if 1 <= number <= len(ports):
        return ports[number - 1]
    if model in GENERIC_MODELS and ports:
        # generic (frr) names continue the pattern of the last port: swp64 -> swp65 ...
        last = ports[-1]
        stem = last.rstrip("0123456789")
        return f"{stem}{int(last[len(stem):]) + number - len(ports)}"
    raise DesignError(
        f"default cabling: {device} ({model}) has no {what} number {number} "
        f"({len(ports)} {what}s); cable it explicitly in `cabling`",
        where,
    )


def links(inv: Inventory, alloc: Allocations, devs: dict[str, Device]) -> list[Link]:
    """Every cable with both ends: leaf-spine (``a`` = leaf, ``b`` = spine), then DCI.

    Default cabling (no ``cabling`` section): every leaf to every spine; the leaf's
    uplink number is the spine's ledger number and the spine's downlink number is the
    leaf's, so adding a leaf or spine never renumbers existing cables. On each /31 (and
    /127) the spine - or DCI end ``a`` - takes the lower address."""
    keys = link_keys(inv)
    ends: list[tuple[str, str, str, str]] = []
    if inv.cabling is None:
        spines = [(s, MODELS[s.model], devs[s.name].id, i) for i, s in enumerate(inv.spines)]
        for j, lf in enumerate(inv.leaves):
            hw = MODELS[lf.model]
            lid = devs[lf.name].id
            for s, shw, sid, i in spines:
                up = _port(lf.model, hw.uplinks, sid, "uplink", lf.name, ("leaves", j, "model"))
                down = _port(s.model, shw.downlinks, lid, "downlink", s.name, ("spines", i, "model"))
                ends.append((lf.name, up, s.name, down))
    else:
        ends.extend((c.leaf, c.leaf_port, c.spine, c.spine_port) for c in inv.cabling)
    n_fabric = len(ends)
    ends.extend((d.a, d.a_port, d.b, d.b_port) for d in inv.dci_links)
    v6 = inv.fabric.underlay_ipv6 and inv.pools.p2p_v6 is not None
    mtu = inv.fabric.mtu
    out: list[Link] = []
    for i, (key, (a, a_port, b, b_port)) in enumerate(zip(keys, ends, strict=True)):
        # (int, prefix) is the fast way into ipaddress: no round trip through text
        base4 = alloc.p2p_address(key)
        lo4, hi4 = IPv4Interface((base4, 31)), IPv4Interface((base4 + 1, 31))
        lo6 = hi6 = None
        if v6:
            base6 = alloc.p2p_v6_address(key)
            if base6 is None:
                raise DesignError(f"no p2p_v6 allocated for {key}; run `fabric plan`")
            lo6, hi6 = IPv6Interface((base6, 127)), IPv6Interface((base6 + 1, 127))
        # both ends get the IP MTU the weaker end can carry (Junos counts the L2 header)
        ip_mtu = min(max_ip_mtu(devs[a].platform, mtu), max_ip_mtu(devs[b].platform, mtu))
        if i < n_fabric:  # leaf (a) takes the upper address, the spine (b) the lower
            out.append(Link(key, "fabric", LinkEnd(a, a_port, hi4, hi6), LinkEnd(b, b_port, lo4, lo6), mtu, ip_mtu))
        else:
            out.append(Link(key, "dci", LinkEnd(a, a_port, lo4, lo6), LinkEnd(b, b_port, hi4, hi6), mtu, ip_mtu))
    return out


# --------------------------------------------------------------------------- 4. networks


@dataclass(frozen=True, slots=True)
class Tenancy:
    """Stage 4: shared tenant objects and where they are."""

    networks: tuple[Network, ...]
    gateways: dict[str, AnycastGateway]
    """network name -> its gateway (networks without gateway4/gateway6 have none)."""
    vrfs: dict[str, Vrf]
    members: dict[str, frozenset[str] | None]
    """network name -> leaves carrying it (None: every leaf)."""
    stretched_vrfs: frozenset[str]
    """VRFs with a gateway in more than one site."""


def networks(inv: Inventory, alloc: Allocations, devs: dict[str, Device], info: FabricInfo) -> Tenancy:
    """Build each network, gateway and VRF once; record which leaves carry each network."""
    admin = info.route_target_admin
    mac = info.gateway_mac
    leaves = [d for d in devs.values() if d.role != "spine"]
    all_sites = {d.site for d in leaves}
    by_rack: dict[str, list[str]] = defaultdict(list)
    for d in leaves:
        if d.rack is not None:
            by_rack[d.rack].append(d.name)
    vrfs: dict[str, Vrf] = {}
    for t in inv.tenants:
        for v in t.vrfs:
            l3vni = alloc.l3vni(v.name)
            vrfs[v.name] = Vrf(v.name, t.name, _text(v.description), l3vni, alloc.vrf_vlan(v.name),
                               _rt(admin, l3vni, f"VRF {v.name}"))
    nets: list[Network] = []
    gws: dict[str, AnycastGateway] = {}
    members: dict[str, frozenset[str] | None] = {}
    vrf_sites: dict[str, set[str | None]] = defaultdict(set)
    for t in inv.tenants:
        for n in t.networks:
            if n.leaves == "all":
                member: frozenset[str] | None = None
                sites = all_sites
            else:
                names = set(n.leaves)
                for rack in n.racks:
                    names.update(by_rack.get(rack, ()))
                member = frozenset(names)
                sites = {devs[x].site for x in names}
            members[n.name] = member
            vni, vlan = alloc.l2vni(n.name), alloc.network_vlan(n.name)
            desc = _text(n.description)
            nets.append(Network(n.name, t.name, desc, n.vrf, vlan, vni, _rt(admin, vni, f"network {n.name}"),
                                n.mtu, len(sites) > 1))
            if n.gateway4 is not None or n.gateway6 is not None:
                gws[n.name] = AnycastGateway(n.name, vlan, n.vrf, n.gateway4, n.gateway6, mac, n.mtu, desc)
                vrf_sites[n.vrf].update(sites)
    stretched = frozenset(v for v, s in vrf_sites.items() if len(s) > 1)
    return Tenancy(tuple(nets), gws, vrfs, members, stretched)


# --------------------------------------------------------------------------- 5. clusters


def clusters(inv: Inventory, alloc: Allocations, devs: dict[str, Device], ten: Tenancy) -> dict[str, list[K8sPeering]]:
    """leaf name -> the Kubernetes peerings on it (cluster order)."""
    by_net = {n.name: n for n in ten.networks}
    out: dict[str, list[K8sPeering]] = defaultdict(list)
    for ci, c in enumerate(inv.kubernetes.clusters):
        net = by_net[c.network]
        gw = ten.gateways.get(c.network)
        if gw is None or gw.address4 is None:
            if c.nodes:
                raise DesignError(f"cluster {c.name}: network {c.network} has no IPv4 gateway to peer from",
                                  ("kubernetes", "clusters", ci, "network"))
            continue
        accept = tuple(PrefixFilter(r, r.max_prefixlen, r.max_prefixlen) for r in c.service_ranges)
        per_leaf: dict[str, list[K8sNodePeer]] = defaultdict(list)
        for ni, node in enumerate(c.nodes):
            member = ten.members[c.network]
            if member is not None and node.leaf not in member:
                raise DesignError(
                    f"cluster {c.name}: node {node.name} is on {node.leaf}, which does not carry "
                    f"network {c.network}; add the leaf (or its rack) to the network",
                    ("kubernetes", "clusters", ci, "nodes", ni, "leaf"),
                )
            asn = c.asn.first if c.shared_asn else alloc.node_asn(node.name)
            per_leaf[node.leaf].append(K8sNodePeer(node.name, node.port, node.address, node.address6, asn))
        for leaf, nodes in per_leaf.items():
            nodes.sort(key=lambda p: natural_key(p.port))
            local4 = alloc.k8s_peering(net.vrf, leaf)
            # one address pair per (VRF, leaf), whichever cluster of the VRF asks
            local6 = alloc.k8s_peering_v6(net.vrf, leaf)
            out[leaf].append(K8sPeering(
                cluster=c.name,
                description=_text(c.description),
                vrf=net.vrf,
                network=net.name,
                vlan=net.vlan,
                local_asn=devs[leaf].asn,
                local_address=local4,
                local_address6=local6,
                source_loopback=alloc.k8s_loopback(net.vrf),
                multihop_ttl=K8S_TTL,
                nodes=tuple(nodes),
                shared_asn=c.shared_asn,
                peer_asns=tuple(sorted({p.asn for p in nodes})),
                allow4=tuple(IPv4Network(p.address) for p in nodes),
                allow6=tuple(IPv6Network(p.address6) for p in nodes if p.address6 is not None),
                accept=accept,
                max_prefixes=c.max_prefixes,
                bfd=NODE_BFD if c.bfd_enabled else None,
                hold_time=c.hold_time,
                keepalive=c.keepalive,
                graceful_shutdown=GRACEFUL_SHUTDOWN,
                multipath=True,
                multipath_multiple_as=not c.shared_asn,
                maximum_paths=MAXIMUM_PATHS,
            ))
    return out


# --------------------------------------------------------------------------- 6. assemble


def _interfaces(name: str, cables: Iterable[Link]) -> list[FabricInterface]:
    out = []
    for c in cables:
        me, peer = (c.a, c.b) if c.a.device == name else (c.b, c.a)
        out.append(FabricInterface(
            name=me.port,
            description=f"{c.kind}: {peer.device} {peer.port}",
            kind=c.kind,
            link=c.key,
            peer=peer.device,
            peer_port=peer.port,
            address=me.address,
            peer_address=peer.address.ip,
            address6=me.address6,
            peer_address6=peer.address6.ip if peer.address6 is not None else None,
            mtu=c.mtu,
            ip_mtu=c.ip_mtu,
        ))
    out.sort(key=lambda i: natural_key(i.name))
    return out


def _sessions(ifaces: Iterable[FabricInterface], devs: dict[str, Device], bfd: Bfd | None,
              what: str, carry6: bool) -> tuple[tuple[BgpNeighbor, ...], tuple[BgpNeighbor, ...]]:
    """IPv4 sessions on the /31s; IPv6 sessions on the /127s only when ``carry6`` (some
    device has an IPv6 loopback to advertise): a session with nothing to carry is not
    rendered."""
    v4, v6 = [], []
    for i in ifaces:
        peer = devs[i.peer]
        v4.append(BgpNeighbor(i.peer, i.peer_address, peer.asn, f"{what}: {i.peer} {i.peer_port}", i.name, bfd=bfd))
        if carry6 and i.peer_address6 is not None:
            v6.append(BgpNeighbor(i.peer, i.peer_address6, peer.asn, f"{what}: {i.peer} {i.peer_port}", i.name, bfd=bfd))
    return tuple(v4), tuple(v6)


def _overlay_peers(me: Device, peers: Iterable[Device], ttl: int, bfd: Bfd | None, what: str) -> tuple[BgpNeighbor, ...]:
    return tuple(
        BgpNeighbor(p.name, p.evpn_source, p.asn, f"{what}: {p.name}", local_address=me.evpn_source, multihop_ttl=ttl,
                    bfd=bfd)
        for p in peers
    )


def _esi(admin: int, site_id: int) -> str:
    """Type-0 ESI, one per site: ``00:ff:<admin, 4 bytes>:00:00:<site id, 2 bytes>``."""
    raw = bytes([0x00, 0xFF]) + admin.to_bytes(4, "big") + bytes(2) + site_id.to_bytes(2, "big")
    return ":".join(f"{b:02x}" for b in raw)


def _multisite_vips(alloc: Allocations, info: FabricInfo) -> dict[str, IPv4Address]:
    """site -> Multi-Site VIP, as the ledger allocated it from the VTEP pool."""
    return {s.name: alloc.multisite_vip(s.name) for s in info.sites if alloc.has("vtep", f"site/{s.name}")}


def assemble(
    inv: Inventory,
    alloc: Allocations,
    info: FabricInfo,
    devs: dict[str, Device],
    cables: list[Link],
    ten: Tenancy,
    peerings: dict[str, list[K8sPeering]],
) -> dict[str, DeviceIntent]:
    """Build each device's intent from the shared pieces."""
    by_device: dict[str, list[Link]] = defaultdict(list)
    for c in cables:
        by_device[c.a.device].append(c)
        by_device[c.b.device].append(c)
    ubfd = UNDERLAY_BFD if info.bfd else None
    obfd = OVERLAY_BFD if info.bfd else None
    # the IPv6 underlay carries IPv6 loopbacks; without any, its sessions would carry nothing
    carry6 = any(d.loopback6 is not None for d in devs.values())
    spines_of: dict[str | None, list[Device]] = defaultdict(list)
    leaves_of: dict[str | None, list[Device]] = defaultdict(list)
    for d in devs.values():
        (spines_of if d.role == "spine" else leaves_of)[d.site].append(d)
    dci_borders = {e.device for c in cables if c.kind == "dci" for e in (c.a, c.b)}
    vips = _multisite_vips(alloc, info) if dci_borders else {}
    site_ids = {s.name: s.site_id for s in info.sites}
    nodes_by_leaf = {leaf: [(p, n) for p in ps for n in p.nodes] for leaf, ps in peerings.items()}
    vrf_order = list(ten.vrfs)
    carry = _Carrier(ten)
    retarget = _Retarget(info.route_target_admin)

    out: dict[str, DeviceIntent] = {}
    for d in devs.values():
        ifaces = _interfaces(d.name, by_device.get(d.name, ()))
        fabric_ifaces = [i for i in ifaces if i.kind == "fabric"]
        v4, v6 = _sessions(fabric_ifaces, devs, ubfd, "underlay", carry6)
        advertise: list[IPv4Network | IPv6Network] = [IPv4Network(d.loopback)]
        if d.vtep is not None:
            advertise.append(IPv4Network(d.vtep))
        if d.loopback6 is not None:
            advertise.append(IPv6Network(d.loopback6))
        underlay = Underlay(
            asn=d.asn, router_id=d.loopback, neighbors=v4, neighbors6=v6, advertise=tuple(advertise),
            multipath=True, multipath_multiple_as=True, maximum_paths=MAXIMUM_PATHS, bfd=ubfd,
            load_balance_per_flow=True,
        )
        spine = d.role == "spine"
        # spines are the EVPN route servers of their site: every leaf of the site peers with them
        overlay = Overlay(
            asn=d.asn, local_address=d.evpn_source,
            neighbors=_overlay_peers(d, (leaves_of if spine else spines_of)[d.site], OVERLAY_TTL, obfd, "overlay"),
            multihop_ttl=OVERLAY_TTL, next_hop_unchanged=spine, route_server=spine, retain_route_targets=spine,
            multipath=True, bfd=obfd,
        )
        if spine:
            out[d.name] = DeviceIntent(
                device=d, fabric=info, interfaces=tuple(ifaces), access_ports=(), underlay=underlay, overlay=overlay,
                evpn=None, vrfs=(), gateways=(), kubernetes=(), dci=None,
            )
            continue

        # networks on this leaf; a DCI border also carries every stretched network to stitch it
        dci = d.name in dci_borders
        lo = str(d.loopback)
        site_admin = info.rt_admin(d.site)
        carried = retarget.carried(carry(d.name, dci), site_admin)
        vnis = [L2Vni(n, lo + number, stitched)
                for (n, stitched), number in zip(carried.networks, carried.rd_numbers, strict=True)]
        gateways = carried.gateways
        vrf_nets = carried.vrf_networks
        k8s = tuple(peerings.get(d.name, ()))

        # VRFs: those with a gateway or a peering here; border leaves carry every VRF
        k8s_vrfs = {p.vrf for p in k8s}
        wanted = set(vrf_order) if d.role == "border" else set(vrf_nets) | k8s_vrfs
        vrfs = tuple(
            VrfInstance(vrf=retarget.vrf(ten.vrfs[v], site_admin), rd=f"{lo}:{ten.vrfs[v].vlan}", networks=vrf_nets.get(v, ()),
                        ip_prefix_routes=True, export_kubernetes=v in k8s_vrfs, multipath_multiple_as=True)
            for v in vrf_order if v in wanted
        )
        access = sorted(
            # a host port passes the largest frame the switch takes (NX-OS accepts only the
            # default or the system jumbo MTU on an L2 port); the network's MTU is the SVI's
            (AccessInterface(n.port, f"k8s {p.cluster}: {n.name}", n.name, "access", p.vlan, p.network, (p.vlan,),
                             info.mtu)
             for p, n in nodes_by_leaf.get(d.name, ())),
            key=lambda a: natural_key(a.name),
        )
        assert d.vtep is not None
        next_hop = d.vtep if EVPN_NEXT_HOP[d.platform] == "vtep" else overlay.local_address
        if next_hop != d.vtep:
            raise DesignError(f"{d.name}: its EVPN next hop {next_hop} would differ from its VXLAN source {d.vtep}")
        evpn = Evpn(vtep=d.vtep, next_hop=next_hop, rd=f"{lo}:{EVPN_INSTANCE_RD}", vnis=tuple(vnis),
                    gateway_mac=info.gateway_mac, replication="ingress")
        dci_intent = (
            _dci(d, ifaces, devs, info, vips, site_ids, vnis, vrfs, ten, dci_borders, ubfd, obfd, carry6) if dci else None
        )
        out[d.name] = DeviceIntent(
            device=d, fabric=info, interfaces=tuple(ifaces), access_ports=tuple(access), underlay=underlay,
            overlay=overlay, evpn=evpn, vrfs=vrfs, gateways=gateways, kubernetes=k8s, dci=dci_intent,
        )
    return out


class _Retarget:
    """A site whose route-target admin is not the fabric's gets its own copy of each shared
    network and VRF, with the site's RTs; made once per (admin, object), so the leaves of
    a site still share them."""

    def __init__(self, base: int) -> None:
        self._base = base
        # one identity cache per kind (fabric.speed.IdentityCache: keyed by the object's
        # identity plus the admin, and holding the object, so an id is never reused)
        self._nets: IdentityCache[Network] = IdentityCache()
        self._vrfs: IdentityCache[Vrf] = IdentityCache()
        self._carried: IdentityCache[_Carried] = IdentityCache()

    def network(self, n: Network, admin: int) -> Network:
        if admin == self._base:
            return n
        return self._nets.get_one(n, admin, lambda: replace(n, route_target=_rt(admin, n.vni, f"network {n.name}")))

    def vrf(self, v: Vrf, admin: int) -> Vrf:
        if admin == self._base:
            return v
        return self._vrfs.get_one(v, admin, lambda: replace(v, route_target=_rt(admin, v.l3vni, f"VRF {v.name}")))

    def carried(self, c: _Carried, admin: int) -> _Carried:
        if admin == self._base:
            return c
        return self._carried.get_one(c, admin, lambda: replace(
            c, networks=tuple((self.network(n, admin), stitched) for n, stitched in c.networks)))


@dataclass(frozen=True, slots=True)
class _Carried:
    """What a set of leaves with the same membership carries (shared between them)."""

    networks: tuple[tuple[Network, bool], ...]
    """(network, only stitched here), inventory order."""
    gateways: tuple[AnycastGateway, ...]
    vrf_networks: dict[str, tuple[str, ...]]
    """VRF -> networks with a gateway here."""
    rd_numbers: tuple[str, ...]
    """``:<vlan>`` of each network: the end of its RD on every leaf (the leaf's loopback first)."""


class _Carrier:
    """Which networks a leaf carries. Most leaves of a fabric carry the same set (every
    ``leaves: all`` network plus a few chosen ones), so the answer is computed once per
    distinct membership and shared: the per-leaf loop only adds the leaf's RDs."""

    def __init__(self, ten: Tenancy) -> None:
        self._ten = ten
        self._specific: dict[str, list[int]] = defaultdict(list)
        for i, n in enumerate(ten.networks):
            member = ten.members[n.name]
            if member is not None:
                for leaf in member:
                    self._specific[leaf].append(i)
        self._cache: dict[tuple[tuple[int, ...], bool], _Carried] = {}

    def __call__(self, leaf: str, dci: bool) -> _Carried:
        key = (tuple(sorted(self._specific.get(leaf, ()))), dci)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._compute(set(key[0]), dci)
        return hit

    def _compute(self, chosen: set[int], dci: bool) -> _Carried:
        ten = self._ten
        nets: list[tuple[Network, bool]] = []
        gws: list[AnycastGateway] = []
        vrf_nets: dict[str, list[str]] = defaultdict(list)
        for i, n in enumerate(ten.networks):
            if ten.members[n.name] is None or i in chosen:
                nets.append((n, False))
                gw = ten.gateways.get(n.name)
                if gw is not None:
                    gws.append(gw)
                    vrf_nets[gw.vrf].append(gw.network)
            elif dci and n.stretched:
                nets.append((n, True))
        return _Carried(tuple(nets), tuple(gws), {v: tuple(ns) for v, ns in vrf_nets.items()},
                        tuple(f":{n.vlan}" for n, _ in nets))


def _dci(
    d: Device,
    ifaces: list[FabricInterface],
    devs: dict[str, Device],
    info: FabricInfo,
    vips: dict[str, IPv4Address],
    site_ids: dict[str, int],
    vnis: list[L2Vni],
    vrfs: tuple[VrfInstance, ...],
    ten: Tenancy,
    borders: set[str],
    ubfd: Bfd | None,
    obfd: Bfd | None,
    carry6: bool,
) -> Dci:
    if d.site is None or d.site not in site_ids:
        raise DesignError(f"border leaf {d.name} has DCI links but no site of fabric.sites")
    admin = info.route_target_admin
    dci_ifaces = [i for i in ifaces if i.kind == "dci"]
    u4, u6 = _sessions(dci_ifaces, devs, ubfd, "dci underlay", carry6)
    # devs is in inventory order: keep it for the peers
    remote = [p for p in devs.values() if p.name in borders and p.site != d.site]
    local = [p for p in devs.values() if p.name in borders and p.site == d.site and p.name != d.name]
    lo = str(d.loopback)
    site_prefixes: list[IPv4Network | IPv6Network] = []
    for p in devs.values():
        if p.site == d.site:
            site_prefixes += [IPv4Network(a) for a in (p.loopback, p.vtep) if a is not None]
            if p.loopback6 is not None:
                site_prefixes.append(IPv6Network(p.loopback6))
    site_rts = [v.network.route_target for v in vnis] + [v.route_target for v in vrfs]
    site_rts.append(RouteTarget(info.rt_admin(d.site), EVPN_INSTANCE_RD))
    return Dci(
        site_prefixes=tuple(dict.fromkeys(site_prefixes)),
        site_route_targets=tuple(dict.fromkeys(site_rts)),
        site=d.site,
        site_id=site_ids[d.site],
        interfaces=tuple(i.name for i in dci_ifaces),
        fabric_interfaces=tuple(i.name for i in ifaces if i.kind == "fabric"),
        underlay_neighbors=u4,
        underlay_neighbors6=u6,
        overlay_neighbors=_overlay_peers(d, remote, DCI_TTL, obfd, "dci overlay"),
        multihop_ttl=DCI_TTL,
        route_target=_rt(admin, INTERCONNECT_RT_NUMBER, "the DCI interconnect"),
        rd=f"{lo}:{INTERCONNECT_RD}",
        esi=_esi(admin, site_ids[d.site]),
        peer_gateways=tuple(p.loopback for p in local),
        multisite_vip=vips[d.site],
        vnis=tuple(v.vni for v in vnis if v.network.stretched),
        vrfs=tuple(
            DciVrf(v.name, v.l3vni, _rt(admin, INTERCONNECT_VRF_RT_BASE + v.l3vni, f"the DCI interconnect of VRF {v.name}"),
                   f"{lo}:{INTERCONNECT_VRF_RD_BASE + v.vlan}")
            for v in vrfs if v.name in ten.stretched_vrfs
        ),
    )


# --------------------------------------------------------------------------- 6c. servers

_PORT_NUMBER = re.compile(r"(\d+)$")


def lag_number(port: str) -> int:
    """The number a LAG takes from its lowest member port: the port name's last number
    (``xe-0/0/10`` -> 10, ``Ethernet1/10`` -> 10, ``swp3`` -> 3)."""
    m = _PORT_NUMBER.search(port)
    if m is None:
        raise DesignError(f"port {port!r} has no number to name its LAG after")
    return int(m.group(1))


def esi_text(esi_type: int, system_mac: str, number: int) -> str:
    """``<type>:<system mac>:<number, 3 bytes>``: the MAC-based layout of RFC 7432 type 3."""
    raw = bytes([esi_type]) + bytes.fromhex(system_mac.replace(":", "")) + number.to_bytes(3, "big")
    return ":".join(f"{b:02x}" for b in raw)


#: ESI type each platform ends up with: Junos takes a configured type-0 value (Juniper's
#: validated ESI-LAG leaf); NX-OS and FRR derive type 3 from the system MAC and the number.
ESI_TYPE: dict[str, int] = {"junos": 0x00, "nxos": 0x03, "frr": 0x03}


def server_attachments(
    inv: Inventory, alloc: Allocations, devs: dict[str, Device], ten: Tenancy
) -> dict[str, list[ServerAttachment]]:
    """leaf name -> the server attachments on it, natural order of their first port."""
    vlan_of = {n.name: n.vlan for n in ten.networks}
    out: dict[str, list[ServerAttachment]] = defaultdict(list)
    for srv in inv.servers:
        leaves = srv.leaves()
        vlans = tuple(vlan_of[n] for n in srv.networks)
        untagged = vlan_of[srv.networks[0]] if srv.mode == "access" else (
            vlan_of[srv.native] if srv.native is not None else None)
        mtu = srv.mtu if srv.mtu is not None else inv.fabric.mtu
        for leaf in leaves:
            ports = tuple(sorted((link.port for link in srv.links if link.leaf == leaf), key=natural_key))
            segment = None
            if srv.multihomed:
                peer = next(x for x in leaves if x != leaf)
                number, mac = alloc.es_id(srv.name), alloc.lacp_system_id(srv.name)
                segment = EthernetSegment(number, mac, esi_text(ESI_TYPE[devs[leaf].platform], mac, number), peer)
            lag = lag_number(ports[0]) if len(ports) > 1 or segment is not None else None
            out[leaf].append(ServerAttachment(
                server=srv.name, description=_text(srv.description) or f"server {srv.name}", ports=ports, lag=lag,
                mode=srv.mode, vlan=untagged, vlans=vlans, networks=tuple(srv.networks), mtu=mtu,
                lacp_active=srv.lacp.mode == "active", lacp_fast=srv.lacp.rate == "fast", segment=segment,
            ))
    for leaf, atts in out.items():
        atts.sort(key=lambda a: natural_key(a.ports[0]))
        seen: dict[int, str] = {}
        for a in atts:
            if a.lag is None:
                continue
            if a.lag in seen:
                raise DesignError(f"{leaf}: servers {seen[a.lag]} and {a.server} would both be LAG {a.lag} "
                                  "(a LAG takes its lowest port's number): move one to another port")
            seen[a.lag] = a.server
    return out


def attach_servers(intents: dict[str, DeviceIntent], atts: dict[str, list[ServerAttachment]]) -> dict[str, DeviceIntent]:
    """The intents with each leaf's server attachments."""
    if not atts:
        return intents
    return {name: replace(d, servers=tuple(atts[name])) if name in atts else d for name, d in intents.items()}


# --------------------------------------------------------------------------- summary


def summary(
    inv: Inventory,
    info: FabricInfo,
    devs: dict[str, Device],
    cables: list[Link],
    ten: Tenancy,
    peerings: dict[str, list[K8sPeering]],
) -> FabricSummary:
    """The fabric in one object for the exports."""
    nodes: list[K8sNode] = []
    gw_of = ten.gateways
    for leaf in devs:
        for p in peerings.get(leaf, ()):
            gw = gw_of[p.network]
            assert gw.address4 is not None
            for n in p.nodes:
                a6 = (IPv6Interface((n.address6, gw.address6.network.prefixlen))
                      if n.address6 is not None and gw.address6 is not None else None)
                nodes.append(K8sNode(
                    n.name, p.cluster, leaf, n.port, p.network, p.vlan, p.vrf,
                    IPv4Interface((n.address, gw.address4.network.prefixlen)), a6,
                    gw.address4.ip, gw.address6.ip if gw.address6 is not None and a6 is not None else None,
                    n.asn, p.local_asn, tuple(f.prefix for f in p.accept), p.max_prefixes,
                ))
    by_net = {n.name: n for n in ten.networks}
    k8s: list[K8sCluster] = []
    for c in inv.kubernetes.clusters:
        net = by_net[c.network]
        on = {n.leaf for n in c.nodes}
        k8s.append(K8sCluster(
            name=c.name, description=_text(c.description), network=c.network, vrf=net.vrf, vlan=net.vlan,
            asn_first=c.asn.first, asn_last=c.asn.last, service_ranges=tuple(c.service_ranges),
            max_prefixes=c.max_prefixes, speaker=c.speaker, bfd=c.bfd_enabled, hold_time=c.hold_time,
            keepalive=c.keepalive,
            nodes=tuple(n.name for n in c.nodes), leaves=tuple(d for d in devs if d in on),
        ))
    return FabricSummary(
        fabric=info,
        devices=tuple(devs.values()),
        links=tuple(cables),
        networks=ten.networks,
        gateways=tuple(ten.gateways.values()),
        vrfs=tuple(ten.vrfs.values()),
        nodes=tuple(nodes),
        clusters=tuple(k8s),
    )


__all__ = ["Design", "design", "design_fabric"]
