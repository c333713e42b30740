"""What every export needs to know about a fabric, gathered once, typed and in a fixed order.

The exports (docs, cabling plan, diagram, containerlab topology) all describe the same
things: devices, cables with both ends, tenants, clusters. :func:`build_view` collects those
facts from the loaded fabric (inventory for descriptions, sites, racks and clusters; the
allocations for every number) into plain frozen dataclasses, so that each export is a
small pure function of one :class:`FabricView` and none of them repeats the lookups.

Order is part of the contract: devices are spines then leaves in inventory order; cables
are fabric links (ledger key order = inventory order), then DCI links, then access ports
(leaf order, then port in natural order). Exports rely on it for byte-identical output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface, IPv6Network
from typing import TYPE_CHECKING, Literal

from fabric.errors import FabricError
from fabric.model import Inventory, Network
from fabric.platforms import MODELS, Platform
from fabric.resources.ledger import Allocations, link_keys, natural_key

if TYPE_CHECKING:
    from fabric.api import Fabric

Role = Literal["spine", "leaf", "border"]
CableKind = Literal["fabric", "dci", "access"]


class ExportError(FabricError):
    """An export cannot be produced from this fabric (a fact it needs is missing)."""


@dataclass(frozen=True)
class Device:
    """One switch and the numbers the fabric gave it."""

    name: str
    role: Role
    platform: Platform
    model: str
    site: str
    pod: str
    rack: str
    pair: str
    mgmt: IPv4Interface | None
    loopback: IPv4Address
    vtep: IPv4Address | None
    asn: int
    description: str

    @property
    def is_spine(self) -> bool:
        """Spines have no VTEP and no tenant networks."""
        return self.role == "spine"


@dataclass(frozen=True)
class Cable:
    """One cable. For fabric links ``a`` is the leaf and ``b`` the spine; for DCI links the
    ends are as written in the inventory; for access cables ``a`` is the leaf and ``b`` the
    server or Kubernetes node. ``ipv4``/``ipv6`` are the link's /31 and /127 (routed links
    only); ``a_ipv4`` etc. are the addresses of each end."""

    key: str
    kind: CableKind
    a: str
    a_port: str
    b: str
    b_port: str
    ipv4: IPv4Network | None = None
    ipv6: IPv6Network | None = None
    a_ipv4: IPv4Address | None = None
    b_ipv4: IPv4Address | None = None
    a_ipv6: IPv6Address | None = None
    b_ipv6: IPv6Address | None = None


@dataclass(frozen=True)
class Vrf:
    """A tenant VRF and its L3 VNI."""

    name: str
    tenant: str
    l3vni: int
    vlan: int
    description: str


@dataclass(frozen=True)
class Segment:
    """A tenant network: VLAN, L2 VNI, anycast gateways and the leaves that carry it."""

    name: str
    tenant: str
    vrf: str
    vlan: int
    vni: int
    gateway4: IPv4Interface | None
    gateway6: IPv6Interface | None
    mtu: int
    leaves: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class Node:
    """A Kubernetes node: where it is cabled and how it peers."""

    name: str
    cluster: str
    leaf: str
    port: str
    address: IPv4Address
    address6: IPv6Address | None
    asn: int
    prefix4: IPv4Interface | None  # its address with the network's prefix length
    prefix6: IPv6Interface | None
    gateway4: IPv4Address | None
    gateway6: IPv6Address | None
    vlan: int


@dataclass(frozen=True)
class Cluster:
    """A Kubernetes cluster attached to the fabric."""

    name: str
    network: str
    vrf: str
    asn: str
    service_ranges: tuple[IPv4Network | IPv6Network, ...]
    max_prefixes: int
    bfd: bool
    nodes: tuple[Node, ...]
    description: str

    @property
    def leaves(self) -> tuple[str, ...]:
        """Leaves that have at least one node of this cluster, in node order."""
        return tuple(dict.fromkeys(n.leaf for n in self.nodes))


@dataclass(frozen=True)
class Site:
    """A data center (sites not named in the inventory get the name ``""``)."""

    name: str
    description: str


@dataclass(frozen=True)
class FabricView:
    """Everything the exports print, in the order they print it."""

    name: str
    description: str
    mtu: int
    gateway_mac: str
    sites: tuple[Site, ...]
    devices: tuple[Device, ...]
    cables: tuple[Cable, ...]
    vrfs: tuple[Vrf, ...]
    segments: tuple[Segment, ...]
    clusters: tuple[Cluster, ...]
    _by_name: dict[str, Device] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({d.name: d for d in self.devices})

    def device(self, name: str) -> Device:
        """The device called ``name``."""
        try:
            return self._by_name[name]
        except KeyError:
            raise ExportError(f"no device {name!r} in fabric {self.name}") from None

    def has_device(self, name: str) -> bool:
        """Whether ``name`` is a switch of this fabric (nodes are not)."""
        return name in self._by_name

    @property
    def spines(self) -> tuple[Device, ...]:
        return tuple(d for d in self.devices if d.is_spine)

    @property
    def leaves(self) -> tuple[Device, ...]:
        return tuple(d for d in self.devices if not d.is_spine)

    @property
    def nodes(self) -> tuple[Node, ...]:
        return tuple(n for c in self.clusters for n in c.nodes)

    def cables_of(self, name: str) -> tuple[Cable, ...]:
        """Cables with ``name`` at either end, in cable order."""
        return tuple(c for c in self.cables if name in (c.a, c.b))

    def segments_on(self, leaf: str) -> tuple[Segment, ...]:
        """Networks the leaf carries."""
        return tuple(s for s in self.segments if leaf in s.leaves)

    def nodes_on(self, leaf: str) -> tuple[Node, ...]:
        """Kubernetes nodes cabled to the leaf, in port order."""
        return tuple(sorted((n for n in self.nodes if n.leaf == leaf), key=lambda n: natural_key(n.port)))


# ------------------------------------------------------------------ building


def _leaves_of(inv: Inventory, net: Network) -> tuple[str, ...]:
    if net.leaves == "all":
        return tuple(lf.name for lf in inv.leaves)
    chosen = set(net.leaves)
    chosen.update(lf.name for lf in inv.leaves if lf.rack is not None and lf.rack in net.racks)
    return tuple(lf.name for lf in inv.leaves if lf.name in chosen)


def _fabric_cables(inv: Inventory, alloc: Allocations) -> list[Cable]:
    """Leaf-spine and DCI cables with their /31 and /127. The lower address of a link goes to
    the spine (DCI: to end ``a``), the upper one to the leaf (DCI: ``b``)."""
    keys = link_keys(inv)
    ends: list[tuple[CableKind, str, str, str, str]] = []
    if inv.cabling is None:
        for lf in inv.leaves:
            for sp in inv.spines:
                up = MODELS[lf.model].uplinks[alloc.spine_id(sp.name) - 1]
                down = MODELS[sp.model].downlinks[alloc.leaf_id(lf.name) - 1]
                ends.append(("fabric", lf.name, up, sp.name, down))
    else:
        ends += [("fabric", k.leaf, k.leaf_port, k.spine, k.spine_port) for k in inv.cabling]
    ends += [("dci", d.a, d.a_port, d.b, d.b_port) for d in inv.dci_links]
    out: list[Cable] = []
    for key, (kind, a, a_port, b, b_port) in zip(keys, ends, strict=True):
        v4 = alloc.p2p(key)
        v6 = alloc.p2p_v6(key) if inv.fabric.underlay_ipv6 else None
        # spine (or DCI end a) takes the first address of the /31, the leaf the second
        lo4, hi4 = v4[0], v4[1]
        lo6, hi6 = (v6[0], v6[1]) if v6 is not None else (None, None)
        if kind == "fabric":
            out.append(Cable(key, kind, a, a_port, b, b_port, v4, v6, hi4, lo4, hi6, lo6))
        else:
            out.append(Cable(key, kind, a, a_port, b, b_port, v4, v6, lo4, hi4, lo6, hi6))
    return out


def build_view(fab: Fabric, intents: Mapping[str, object] | None = None, summary: object | None = None) -> FabricView:
    """Gather the facts the exports print. ``intents`` is accepted for the exports that will
    read per-device facts from the design stage; today every fact comes from the inventory
    and the planned allocations, the same inputs the design stage reads."""
    del intents, summary  # the view computes the same numbers from the allocations
    inv = fab.inventory
    alloc = fab.allocations()
    devices: list[Device] = []
    for sp in inv.spines:
        devices.append(Device(
            sp.name, "spine", sp.platform, sp.model, sp.site or "", sp.pod or "", "", "", sp.mgmt,
            alloc.loopback(sp.name), None, alloc.asn(sp.name), sp.description,
        ))
    for lf in inv.leaves:
        devices.append(Device(
            lf.name, "border" if lf.role == "border" else "leaf", lf.platform, lf.model, lf.site or "",
            lf.pod or "", lf.rack or "", lf.pair or "", lf.mgmt, alloc.loopback(lf.name), alloc.vtep(lf.name),
            alloc.asn(lf.name), lf.description,
        ))
    sites = [Site(s.name, s.description) for s in inv.fabric.sites]
    named = {s.name for s in sites}
    for d in devices:
        if d.site not in named:
            named.add(d.site)
            sites.append(Site(d.site, ""))
    vrfs = [Vrf(v.name, t.name, alloc.l3vni(v.name), alloc.vrf_vlan(v.name), v.description)
            for t in inv.tenants for v in t.vrfs]
    segments = [
        Segment(n.name, t.name, n.vrf, alloc.network_vlan(n.name), alloc.l2vni(n.name), n.gateway4, n.gateway6,
                n.mtu, _leaves_of(inv, n), n.description)
        for t in inv.tenants for n in t.networks
    ]
    seg_by_name = {s.name: s for s in segments}
    clusters: list[Cluster] = []
    access: list[Cable] = []
    for c in inv.kubernetes.clusters:
        seg = seg_by_name.get(c.network)
        if seg is None:
            raise ExportError(f"cluster {c.name}: network {c.network} is not a tenant network")
        nodes: list[Node] = []
        for n in c.nodes:
            asn = c.asn.first if c.shared_asn else alloc.node_asn(n.name)
            p4 = IPv4Interface(f"{n.address}/{seg.gateway4.network.prefixlen}") if seg.gateway4 else None
            p6 = (IPv6Interface(f"{n.address6}/{seg.gateway6.network.prefixlen}")
                  if seg.gateway6 and n.address6 is not None else None)
            nodes.append(Node(
                n.name, c.name, n.leaf, n.port, n.address, n.address6, asn, p4, p6,
                seg.gateway4.ip if seg.gateway4 else None,
                seg.gateway6.ip if seg.gateway6 and n.address6 is not None else None, seg.vlan,
            ))
            access.append(Cable(f"{n.leaf}--{n.name}", "access", n.leaf, n.port, n.name, NODE_PORT))
        clusters.append(Cluster(
            c.name, c.network, seg.vrf, str(c.asn), tuple(c.service_ranges), c.max_prefixes, c.bfd,
            tuple(nodes), c.description,
        ))
    leaf_order = {lf.name: i for i, lf in enumerate(inv.leaves)}
    access.sort(key=lambda k: (leaf_order.get(k.a, len(leaf_order)), natural_key(k.a_port)))
    return FabricView(
        name=inv.fabric.name,
        description=inv.fabric.description,
        mtu=inv.fabric.mtu,
        gateway_mac=inv.pools.gateway_mac(),
        sites=tuple(sites),
        devices=tuple(devices),
        cables=tuple(_fabric_cables(inv, alloc) + access),
        vrfs=tuple(vrfs),
        segments=tuple(segments),
        clusters=tuple(clusters),
    )


NODE_PORT = "eth1"
"""The NIC of a Kubernetes node or host towards its leaf (single-homed)."""
