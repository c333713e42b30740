"""What every export needs to know about a fabric, gathered once, typed and in a fixed order.

The exports (docs, cabling plan, diagram, containerlab topology) all describe the same
things: devices, cables with both ends, tenants, clusters, BGP sessions. :func:`build_view`
collects them from the design stage (the per-device intents and the fabric summary: every
number, address and session) and, for what the intent does not carry, from the inventory
(cluster descriptions, ASN ranges, BFD flags), into plain frozen dataclasses. Each export is
then a small pure function of one :class:`FabricView`.

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
from fabric.platforms import Platform
from fabric.resources.ledger import natural_key

if TYPE_CHECKING:
    from fabric.api import Fabric
    from fabric.design.intent import DeviceIntent, FabricSummary

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
    loopback6: IPv6Address | None = None

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
class Peering:
    """One BGP session of a device, as its page lists it."""

    kind: str  # "underlay", "underlay (DCI)", "overlay (EVPN)", "overlay (DCI)", "Kubernetes"
    neighbor: IPv4Address | IPv6Address
    asn: int
    peer: str
    via: str  # local port, "loopback" or "VRF <name>"
    detail: str = ""  # e.g. the Kubernetes cluster


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
    peerings: dict[str, tuple[Peering, ...]] = field(default_factory=dict, compare=False)
    """BGP sessions per device, in the order the design lists them."""
    device_vnis: dict[str, tuple[tuple[str, bool], ...]] = field(default_factory=dict, compare=False)
    """Per leaf: (network, stitched) for every L2 VNI it has; stitched ones are carried only
    to stitch them between sites (border leaves)."""
    device_vrfs: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    """Per leaf: the VRFs configured on it (border leaves carry every VRF)."""
    _by_name: dict[str, Device] = field(default_factory=dict, compare=False, repr=False)
    _segments_by_name: dict[str, Segment] = field(default_factory=dict, compare=False, repr=False)

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

    @property
    def segment_index(self) -> dict[str, Segment]:
        """Networks by name."""
        idx = self._segments_by_name
        if not idx:
            idx.update({s.name: s for s in self.segments})
        return idx

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


def _peerings(intent: DeviceIntent) -> tuple[Peering, ...]:
    out: list[Peering] = []
    for n in (*intent.underlay.neighbors, *intent.underlay.neighbors6):
        out.append(Peering("underlay", n.address, n.peer_asn, n.peer, n.interface or ""))
    if intent.dci is not None:
        for n in (*intent.dci.underlay_neighbors, *intent.dci.underlay_neighbors6):
            out.append(Peering("underlay (DCI)", n.address, n.peer_asn, n.peer, n.interface or ""))
    out += [Peering("overlay (EVPN)", n.address, n.peer_asn, n.peer, "loopback") for n in intent.overlay.neighbors]
    if intent.dci is not None:
        out += [Peering("overlay (DCI)", n.address, n.peer_asn, n.peer, "loopback") for n in intent.dci.overlay_neighbors]
    for k in intent.kubernetes:
        for node in k.nodes:
            out.append(Peering("Kubernetes", node.address, node.asn, node.name, f"VRF {k.vrf}", k.cluster))
            if node.address6 is not None:
                out.append(Peering("Kubernetes", node.address6, node.asn, node.name, f"VRF {k.vrf}", k.cluster))
    return tuple(out)


def build_view(
    fab: Fabric,
    intents: Mapping[str, DeviceIntent] | None = None,
    summary: FabricSummary | None = None,
) -> FabricView:
    """Gather the facts the exports print. ``intents`` and ``summary`` are the design
    stage's output for ``fab``; when either is missing the design is run here."""
    if intents is None or summary is None:
        from fabric.design import design_fabric  # the design stage imports nothing from exports

        d = design_fabric(fab.inventory, fab.allocations())
        intents = d.devices if intents is None else intents
        summary = d.summary if summary is None else summary
    inv = fab.inventory
    devices = tuple(
        Device(d.name, d.role, d.platform, d.model, d.site or "", d.pod or "", d.rack or "", d.pair or "", d.mgmt,
               d.loopback, d.vtep, d.asn, d.description, d.loopback6)
        for d in summary.devices
    )
    sites = [Site(s.name, s.description) for s in summary.fabric.sites]
    named = {s.name for s in sites}
    for dev in devices:
        if dev.site not in named:
            named.add(dev.site)
            sites.append(Site(dev.site, ""))
    cables = [
        Cable(k.key, k.kind, k.a.device, k.a.port, k.b.device, k.b.port, k.a.address.network,
              k.a.address6.network if k.a.address6 is not None else None, k.a.address.ip, k.b.address.ip,
              k.a.address6.ip if k.a.address6 is not None else None,
              k.b.address6.ip if k.b.address6 is not None else None)
        for k in summary.links
    ]
    vrfs = tuple(Vrf(v.name, v.tenant, v.l3vni, v.vlan, v.description) for v in summary.vrfs)
    carriers: dict[str, list[str]] = {n.name: [] for n in summary.networks}
    for name, intent in intents.items():
        for v in intent.vnis:
            if not v.stitched:
                carriers[v.name].append(name)
    gw = {g.network: g for g in summary.gateways}
    segments = tuple(
        Segment(n.name, n.tenant, n.vrf, n.vlan, n.vni, gw[n.name].address4 if n.name in gw else None,
                gw[n.name].address6 if n.name in gw else None, n.mtu, tuple(carriers[n.name]), n.description)
        for n in summary.networks
    )
    by_node = {n.name: n for n in summary.nodes}
    clusters: list[Cluster] = []
    access: list[Cable] = []
    for c in inv.kubernetes.clusters:
        nodes: list[Node] = []
        for inv_node in c.nodes:
            s = by_node.get(inv_node.name)
            if s is None:
                raise ExportError(f"cluster {c.name}: node {inv_node.name} is missing from the design summary")
            nodes.append(Node(s.name, s.cluster, s.leaf, s.port, s.address.ip, s.address6.ip if s.address6 else None,
                              s.asn, s.address, s.address6, s.gateway4, s.gateway6, s.vlan))
            access.append(Cable(f"{s.leaf}--{s.name}", "access", s.leaf, s.port, s.name, NODE_PORT))
        vrf = next((seg.vrf for seg in segments if seg.name == c.network), "")
        clusters.append(Cluster(c.name, c.network, vrf, str(c.asn), tuple(c.service_ranges), c.max_prefixes, c.bfd,
                                tuple(nodes), c.description))
    leaf_order = {dev.name: i for i, dev in enumerate(devices)}
    access.sort(key=lambda k: (leaf_order.get(k.a, len(leaf_order)), natural_key(k.a_port)))
    info = summary.fabric
    return FabricView(
        name=info.name,
        description=info.description,
        mtu=info.mtu,
        gateway_mac=info.gateway_mac,
        sites=tuple(sites),
        devices=devices,
        cables=tuple(cables + access),
        vrfs=vrfs,
        segments=segments,
        clusters=tuple(clusters),
        peerings={name: _peerings(intent) for name, intent in intents.items()},
        device_vnis={name: tuple((v.name, v.stitched) for v in i.vnis) for name, i in intents.items()},
        device_vrfs={name: tuple(v.name for v in i.vrfs) for name, i in intents.items()},
    )


NODE_PORT = "eth1"
"""The NIC of a Kubernetes node or host towards its leaf (single-homed)."""
