"""The per-device intent: the contract between the design stage and the renderers.

:func:`fabric.design.design` turns the inventory and its allocations into one
:class:`DeviceIntent` per switch. Renderers and exports read only these objects (never
the inventory), so everything a config needs is here, already decided and vendor-neutral:
addresses with their prefix, peer ASNs, route distinguishers and route targets, which
networks, VRFs and clusters are on which leaf.

Rules every class here follows:

- frozen dataclasses with slots: immutable, typed, cheap; a typo is an AttributeError;
- objects that are the same on every leaf (:class:`Network`, :class:`AnycastGateway`,
  :class:`Vrf`, :class:`FabricInfo`) are built once and shared, never copied, so a fabric
  of 1024 leaves x 4000 networks stays small;
- tuples keep the order the design chose (ports in natural order, neighbors by device,
  networks in inventory order); that order is part of the contract and is deterministic;
- addresses are :mod:`ipaddress` objects: ``str(x)`` prints them, an interface
  (``IPv4Interface``) has ``.ip``, ``.network`` and ``.with_prefixlen``;
- :meth:`DeviceIntent.to_json` gives sorted, stable JSON (``DIR/intent/<device>.json``).

Numbering conventions (decided here so every platform prints the same values):

- route targets are explicit, ``target:<admin>:<vni>`` for L2 VNIs and L3 VNIs, the
  admin field being the site's (``fabric.sites[].route_target_admin``, else
  ``pools.route_targets.admin``, else the site's first spine's ASN); so eBGP with an ASN
  per leaf imports what every other leaf of the site exports (no "auto" RT), and sites
  joined by DCI never import each other's routes except through the interconnect RTs
  (``pools.route_targets.admin`` or the first spine's ASN, the same in every site);
- route distinguishers are ``<loopback>:<n>``, unique per device: ``n`` is the VLAN of
  the network (L2 VNI) or of the VRF (L3 VNI), :data:`EVPN_INSTANCE_RD` for the
  device's MAC-VRF / default switch, :data:`INTERCONNECT_RD` for the DCI interconnect
  and ``INTERCONNECT_VRF_RD_BASE + VRF VLAN`` for a VRF's type-5 interconnect.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass, fields, is_dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface, IPv6Network
from operator import attrgetter
from typing import Any, ClassVar, Literal

from fabric.platforms import Platform
from fabric.speed import SLOT, IdentityCache, address_text, direct_init, fill_slots, split_slots

INTENT_VERSION = 1
"""Bumped when a field is removed or changes meaning (additions keep it)."""

Role = Literal["spine", "leaf", "border"]
IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

EVPN_INSTANCE_RD = 65534
"""RD number of a leaf's MAC-VRF / default-switch EVPN instance (VLANs stop at 4094)."""
INTERCONNECT_RD = 65533
"""RD number of a border leaf's L2 DCI interconnect."""
INTERCONNECT_VRF_RD_BASE = 60000
"""A VRF's type-5 interconnect RD number is this plus the VRF's VLAN (at most 64094)."""
INTERCONNECT_RT_NUMBER = 16777215
"""Route-target number of the L2 DCI interconnect: 2**24 - 1, never a VNI (VNIs stop at 16777214)."""
INTERCONNECT_VRF_RT_BASE = 16777216
"""A VRF's type-5 interconnect RT number is this plus its L3 VNI, so it never meets a VNI RT."""
GRACEFUL_SHUTDOWN_COMMUNITY = "65535:0"
"""RFC 8326 GRACEFUL_SHUTDOWN well-known community."""


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class RouteTarget:
    """An explicit route target ``target:<admin>:<number>``.

    ``str(rt)`` is ``"<admin>:<number>"`` (NX-OS, FRR); :attr:`community` is the
    ``target:`` form; Junos marks a 4-byte admin with ``L`` (see :attr:`four_byte_admin`)."""

    admin: int
    number: int

    def __str__(self) -> str:
        return f"{self.admin}:{self.number}"

    @property
    def community(self) -> str:
        """``target:<admin>:<number>``."""
        return f"target:{self.admin}:{self.number}"

    @property
    def four_byte_admin(self) -> bool:
        """Whether the admin field is a 4-byte ASN (then ``number`` fits in 16 bits)."""
        return self.admin > 65535

    def __json__(self) -> str:
        return self.community


@dataclass(frozen=True, slots=True)
class Bfd:
    """BFD on a BGP session: transmit/receive interval and detection multiplier."""

    interval_ms: int
    multiplier: int


@dataclass(frozen=True, slots=True)
class PrefixFilter:
    """Match prefixes inside ``prefix`` whose length is between ``min_length`` and
    ``max_length`` (Junos ``prefix-length-range /32-/32``, NX-OS/FRR ``ge``/``le``/``eq``)."""

    prefix: IPv4Network | IPv6Network
    min_length: int
    max_length: int

    @property
    def family(self) -> Literal["ipv4", "ipv6"]:
        return "ipv4" if self.prefix.version == 4 else "ipv6"


# --------------------------------------------------------------------------- fabric-wide, shared


@dataclass(frozen=True, slots=True)
class Site:
    """A site of the fabric. ``site_id`` is the site's number from the ledger (the NX-OS
    Multi-Site border gateway id and part of the DCI ESI): stable when sites are
    reordered or added."""

    name: str
    site_id: int
    description: str
    pods: tuple[str, ...]
    route_target_admin: int
    """Admin field of this site's route targets (L2 VNIs, L3 VNIs, the EVPN instance)."""


@dataclass(frozen=True, slots=True)
class FabricInfo:
    """Fabric-wide settings every device shares (one object for the whole fabric)."""

    name: str
    description: str
    sites: tuple[Site, ...]
    mtu: int
    """Fabric link MTU."""
    underlay_ipv6: bool
    """Fabric links also carry /127s and IPv6 underlay sessions."""
    bfd: bool
    """BFD on underlay and overlay sessions."""
    ntp: tuple[IPv4Address, ...]
    dns: tuple[IPv4Address, ...]
    gateway_mac: str
    """The anycast gateway MAC, lower-case colon form, same on every leaf."""
    route_target_admin: int
    """Admin field of the DCI interconnect route targets, and of every route target of a
    device without a site; a site's own RTs use :meth:`rt_admin`."""

    def rt_admin(self, site: str | None) -> int:
        """The admin field of the route targets of a device in ``site``."""
        for s in self.sites:
            if s.name == site:
                return s.route_target_admin
        return self.route_target_admin


@dataclass(frozen=True, slots=True)
class Network:
    """A tenant network (one VLAN + L2 VNI), the same object on every leaf that carries it."""

    name: str
    tenant: str
    description: str
    vrf: str
    vlan: int
    vni: int
    route_target: RouteTarget
    """Import and export RT of the L2 VNI (``target:<admin>:<vni>``)."""
    mtu: int
    stretched: bool
    """Carried by leaves of more than one site (stitched by the border leaves)."""


@dataclass(frozen=True, slots=True)
class AnycastGateway:
    """The distributed anycast gateway of one network: the same address and MAC on every
    leaf (SVI ``Vlan<vlan>`` / ``irb.<vlan>``). Shared by every leaf that has it."""

    network: str
    vlan: int
    """VLAN id, also the SVI / irb unit number."""
    vrf: str
    address4: IPv4Interface | None
    """Gateway address with the subnet's prefix, e.g. ``10.1.1.1/24``."""
    address6: IPv6Interface | None
    mac: str
    mtu: int
    description: str


@dataclass(frozen=True, slots=True)
class Vrf:
    """A tenant VRF with its L3 VNI (EVPN type-5, symmetric routing), shared by every
    device that has it."""

    name: str
    tenant: str
    description: str
    l3vni: int
    vlan: int
    """The VLAN NX-OS and FRR bind the L3 VNI to (its SVI has no address)."""
    route_target: RouteTarget
    """Import and export RT of the L3 VNI (``target:<admin>:<l3vni>``)."""


# --------------------------------------------------------------------------- per device


@dataclass(frozen=True, slots=True)
class Device:
    """Who the device is: identity, placement and its own addresses and ASN."""

    name: str
    role: Role
    platform: Platform
    model: str
    description: str
    id: int
    """Spine or leaf number from the ledger (names default cabling ports)."""
    mgmt: IPv4Interface | None
    site: str | None
    pod: str | None
    rack: str | None
    pair: str | None
    """The other leaf of a redundant pair."""
    asn: int
    loopback: IPv4Address
    """Router id, and the EVPN peering address (``lo0.0`` / ``loopback0``)."""
    vtep: IPv4Address | None
    """VXLAN source address (leaves only; ``loopback1`` on NX-OS)."""
    loopback6: IPv6Address | None
    evpn_source: IPv4Address
    """Source of this device's EVPN (overlay) sessions and the address its peers name: the
    loopback, except on a leaf whose platform takes the EVPN next hop from the session
    (Junos), where it is the VTEP so that the next hop equals the VXLAN source."""

    @property
    def router_id(self) -> IPv4Address:
        return self.loopback

    @property
    def is_leaf(self) -> bool:
        """Leaves and border leaves (VTEPs)."""
        return self.role != "spine"


@direct_init
@dataclass(frozen=True, slots=True)
class FabricInterface:
    """A routed point-to-point port: leaf-spine (``kind="fabric"``) or border-border
    between sites (``kind="dci"``)."""

    name: str
    description: str
    kind: Literal["fabric", "dci"]
    link: str
    """The ledger key of the link (``LEAF--SPINE``, ``A--B``)."""
    peer: str
    peer_port: str
    address: IPv4Interface
    """This end's address on the /31."""
    peer_address: IPv4Address
    address6: IPv6Interface | None
    """This end's address on the /127 (``underlay_ipv6``)."""
    peer_address6: IPv6Address | None
    mtu: int
    """Media MTU of the port (the fabric MTU)."""
    ip_mtu: int
    """IP MTU, the same on both ends of the link: the largest packet the weaker end carries
    (Junos counts the 14-byte Ethernet header in ``mtu``, NX-OS and Linux do not)."""


@dataclass(frozen=True, slots=True)
class AccessInterface:
    """A host-facing port (today: a Kubernetes node), untagged in ``vlan``."""

    name: str
    description: str
    peer: str
    """What is plugged in (node name)."""
    mode: Literal["access", "trunk"]
    vlan: int
    """Access VLAN (the untagged one)."""
    network: str
    vlans: tuple[int, ...]
    """Every VLAN on the port (trunk); ``(vlan,)`` for access ports."""
    mtu: int
    """Media MTU: the fabric's jumbo MTU, so hosts may use any network MTU up to it."""


@dataclass(frozen=True, slots=True)
class EthernetSegment:
    """EVPN multihoming (all-active) of a server dual-homed to a leaf pair: the same values
    on both leaves. The ledger keeps ``number`` and ``system_mac``; the ESI is built from
    them: ``<type>:<system_mac>:<number, 3 bytes>``, type 03 (MAC-based, what NX-OS and
    FRR derive from ``system-mac`` / ``es-sys-mac`` and the segment number) or type 00 on
    Junos, which takes the ESI as a configured value (Juniper's validated ESI-LAG leaf)."""

    number: int
    """Ethernet segment number (NX-OS ``ethernet-segment``, FRR ``evpn mh es-id``)."""
    system_mac: str
    """LACP system id both leaves announce (lower-case colon MAC), so the server sees one partner."""
    esi: str
    """The 10-byte ESI as this leaf's platform sets it (colon form)."""
    peer: str
    """The other leaf of the segment."""


@dataclass(frozen=True, slots=True)
class ServerAttachment:
    """A server's ports on this leaf: one plain port, or a LAG of them (``lag`` is its
    number: the number of its lowest member port, so it never moves when servers are
    added); with ``segment`` the LAG is one half of an EVPN multihomed ESI-LAG."""

    server: str
    description: str
    ports: tuple[str, ...]
    """Member ports on this leaf, natural order."""
    lag: int | None
    """LAG number (Junos ``ae<N>``, NX-OS ``port-channel<N>``, Linux ``bond<N>``); None: one plain port."""
    mode: Literal["access", "trunk"]
    vlan: int | None
    """The untagged VLAN: the access VLAN, or a trunk's native VLAN (None: none)."""
    vlans: tuple[int, ...]
    """Every VLAN on the port, inventory order of the server's networks."""
    networks: tuple[str, ...]
    mtu: int
    """Media MTU of the ports (and of the LAG)."""
    lacp_active: bool
    """LACP active (else passive)."""
    lacp_fast: bool
    """LACP PDUs every second (else every 30 s)."""
    segment: EthernetSegment | None


@direct_init
@dataclass(frozen=True, slots=True)
class BgpNeighbor:
    """One BGP session as this device sees it."""

    peer: str
    """Peer device (or node) name."""
    address: IPv4Address | IPv6Address
    peer_asn: int
    description: str
    interface: str | None = None
    """Local port of a single-hop underlay session."""
    local_address: IPv4Address | IPv6Address | None = None
    """Source address (update-source) of a multihop session."""
    multihop_ttl: int | None = None
    bfd: Bfd | None = None


@dataclass(frozen=True, slots=True)
class Underlay:
    """eBGP on the fabric /31s (and /127s): reachability of loopbacks and VTEPs."""

    asn: int
    router_id: IPv4Address
    neighbors: tuple[BgpNeighbor, ...]
    """IPv4 sessions, one per fabric link, in port order."""
    neighbors6: tuple[BgpNeighbor, ...]
    """IPv6 sessions on the /127s: empty unless ``underlay_ipv6`` and some device of the
    fabric has an IPv6 loopback to carry (a session carrying no prefix is not rendered)."""
    advertise: tuple[IPv4Network | IPv6Network, ...]
    """The device's own prefixes to export: loopback /32, VTEP /32, loopback6 /128."""
    multipath: bool
    multipath_multiple_as: bool
    """ECMP across neighbors in different ASNs (Junos ``multiple-as``, NX-OS/FRR
    ``bestpath as-path multipath-relax``)."""
    maximum_paths: int
    bfd: Bfd | None
    load_balance_per_flow: bool
    """Install every ECMP path in the forwarding table (Junos per-packet export)."""


@dataclass(frozen=True, slots=True)
class Overlay:
    """eBGP EVPN between loopbacks: leaves peer with every spine of their site, spines
    with every leaf of theirs."""

    asn: int
    local_address: IPv4Address
    neighbors: tuple[BgpNeighbor, ...]
    multihop_ttl: int
    next_hop_unchanged: bool
    """Spines pass EVPN routes on with the originating VTEP as next hop."""
    route_server: bool
    """Spines: reflect EVPN routes between leaves without installing them (no VTEP)."""
    retain_route_targets: bool
    """Spines keep routes of every RT although they import none (NX-OS
    ``retain route-target all``; Junos/FRR do it for eBGP without a VRF)."""
    multipath: bool
    bfd: Bfd | None


@direct_init  # leaves x networks of them: fabric.speed
@dataclass(frozen=True, slots=True)
class L2Vni:
    """One network on this device: the shared :class:`Network` and this device's RD."""

    network: Network
    rd: str
    """``<loopback>:<vlan>``."""
    stitched: bool
    """Carried only to stitch it between sites (a border leaf outside its member list)."""

    @property
    def name(self) -> str:
        return self.network.name

    @property
    def vlan(self) -> int:
        return self.network.vlan

    @property
    def vni(self) -> int:
        return self.network.vni

    @property
    def route_target(self) -> RouteTarget:
        return self.network.route_target


@dataclass(frozen=True, slots=True)
class Evpn:
    """The leaf's VXLAN data plane and its L2 EVPN instance (MAC-VRF / default switch)."""

    vtep: IPv4Address
    next_hop: IPv4Address
    """The BGP next hop of the EVPN routes this leaf originates (what remote VTEPs tunnel
    to). The design guarantees it equals ``vtep`` on every platform."""
    rd: str
    """RD of the EVPN instance: ``<loopback>:65534``."""
    vnis: tuple[L2Vni, ...]
    """Every L2 VNI on the leaf, in inventory order."""
    gateway_mac: str
    replication: Literal["ingress"]
    """BUM traffic by ingress replication from EVPN type-3 routes."""


@direct_init
@dataclass(frozen=True, slots=True)
class VrfInstance:
    """A VRF on this device: the shared :class:`Vrf` and what is local to the device."""

    vrf: Vrf
    rd: str
    """``<loopback>:<vrf vlan>``."""
    networks: tuple[str, ...]
    """Networks of this VRF with an anycast gateway here (their SVIs / irb units join it)."""
    ip_prefix_routes: bool
    """Advertise the VRF's routes as EVPN type-5 (direct subnets and learned
    Kubernetes service routes)."""
    export_kubernetes: bool
    """Kubernetes service routes learned in this VRF are exported as type-5 routes."""
    multipath_multiple_as: bool
    """ECMP across paths with different AS paths in this VRF (NX-OS/FRR ``bestpath as-path
    multipath-relax`` in the VRF): a service address announced by nodes behind several
    leaves arrives as one type-5 route per leaf, each with that leaf's ASN in its path."""

    @property
    def name(self) -> str:
        return self.vrf.name

    @property
    def l3vni(self) -> int:
        return self.vrf.l3vni

    @property
    def vlan(self) -> int:
        return self.vrf.vlan

    @property
    def route_target(self) -> RouteTarget:
        return self.vrf.route_target


@dataclass(frozen=True, slots=True)
class K8sNodePeer:
    """A Kubernetes node this leaf peers with."""

    name: str
    port: str
    address: IPv4Address
    address6: IPv6Address | None
    asn: int


@dataclass(frozen=True, slots=True)
class GracefulShutdown:
    """RFC 8326: routes carrying ``community`` get ``local_preference`` (the lowest), so
    traffic leaves a draining node before it withdraws."""

    community: str
    local_preference: int


@dataclass(frozen=True, slots=True)
class K8sPeering:
    """eBGP from this leaf (in the cluster network's VRF) to the cluster's nodes cabled to
    this leaf, from the leaf's own address in that VRF (ledger ``k8s_peering``, on a
    loopback in the VRF), never from the anycast gateway every leaf shares: the nodes reach
    it through their default gateway (the local leaf), one hop away, so both ends allow a
    TTL of ``multihop_ttl``."""

    cluster: str
    description: str
    vrf: str
    network: str
    vlan: int
    local_asn: int
    local_address: IPv4Address
    """The leaf's own address in the VRF (ledger ``k8s_peering``): the address nodes peer
    with and the leaf's session source."""
    local_address6: IPv6Address | None
    """The same for IPv6 (ledger ``k8s_peering_v6``); None when no node of the VRF on this
    leaf has an IPv6 address (then there are no IPv6 sessions)."""
    source_loopback: int
    """Number of the loopback in the VRF carrying ``local_address`` / ``local_address6``
    (NX-OS ``loopbackN``, Junos ``lo0.N``; FRR puts them on the VRF device, or on ``lo``
    without VRFs): from the ledger (``k8s_loopback``, one per VRF, the same on every leaf),
    so it never moves. Shared by the clusters of that VRF."""
    multihop_ttl: int
    """TTL both ends allow (``ebgp-multihop`` / ``multihop ttl``): the session runs between
    a node and a loopback behind the node's gateway."""
    nodes: tuple[K8sNodePeer, ...]
    shared_asn: bool
    """Every node of the cluster uses the same ASN."""
    peer_asns: tuple[int, ...]
    """Distinct ASNs of the nodes here, sorted."""
    allow4: tuple[IPv4Network, ...]
    """Node /32s (Junos ``allow``; one neighbor each elsewhere)."""
    allow6: tuple[IPv6Network, ...]
    """Node /128s."""
    accept: tuple[PrefixFilter, ...]
    """Import policy: accept exactly these (/32 and /128 inside the service ranges),
    reject everything else."""
    max_prefixes: int
    """Per node."""
    bfd: Bfd | None
    hold_time: int
    keepalive: int
    graceful_shutdown: GracefulShutdown
    multipath: bool
    multipath_multiple_as: bool
    """ECMP across nodes of different ASNs (clusters with an ASN per node)."""
    maximum_paths: int

    @property
    def accept4(self) -> tuple[PrefixFilter, ...]:
        return tuple(f for f in self.accept if f.prefix.version == 4)

    @property
    def accept6(self) -> tuple[PrefixFilter, ...]:
        return tuple(f for f in self.accept if f.prefix.version == 6)


@dataclass(frozen=True, slots=True)
class DciVrf:
    """A VRF stitched between sites as type-5 routes."""

    vrf: str
    l3vni: int
    route_target: RouteTarget
    """Interconnect RT, identical in every site."""
    rd: str


@dataclass(frozen=True, slots=True)
class Dci:
    """A border leaf's data-center interconnect: eBGP underlay on the DCI /31s, eBGP EVPN
    to every border leaf of the other sites, and VXLAN stitching (Junos ``evpn
    interconnect``, NX-OS Multi-Site border gateway)."""

    site: str
    site_id: int
    """Multi-Site border gateway id (same on every border of the site)."""
    interfaces: tuple[str, ...]
    """DCI ports (also in :attr:`DeviceIntent.interfaces`; NX-OS ``dci-tracking``)."""
    fabric_interfaces: tuple[str, ...]
    """Ports towards the site's spines (NX-OS ``fabric-tracking``)."""
    underlay_neighbors: tuple[BgpNeighbor, ...]
    underlay_neighbors6: tuple[BgpNeighbor, ...]
    overlay_neighbors: tuple[BgpNeighbor, ...]
    """Loopbacks of every border leaf of the other sites (a full mesh is mandatory)."""
    multihop_ttl: int
    route_target: RouteTarget
    """L2 interconnect RT, identical in every site."""
    rd: str
    """L2 interconnect RD: ``<loopback>:65533``."""
    esi: str
    """Interconnect ESI, one per site (all-active across the site's borders)."""
    peer_gateways: tuple[IPv4Address, ...]
    """Loopbacks of the other border leaves of this site (Junos
    ``interconnect-multihoming-peer-gateways``)."""
    multisite_vip: IPv4Address
    """Multi-Site VIP, the same on every border of the site (NX-OS ``loopback100``)."""
    vnis: tuple[int, ...]
    """L2 VNIs stretched to other sites (``interconnected-vni-list``)."""
    vrfs: tuple[DciVrf, ...]
    site_prefixes: tuple[IPv4Network | IPv6Network, ...] = ()
    """Loopback and VTEP host routes of this site's switches: all the DCI underlay carries
    (the site's fabric /31s stay inside the site)."""
    site_route_targets: tuple[RouteTarget, ...] = ()
    """The site's own RTs on this border (L2 VNIs, VRFs, the EVPN instance): stripped from
    what goes over the interconnect sessions, which carry only interconnect RTs."""


@dataclass(frozen=True, slots=True)
class ExternalSession:
    """eBGP from a border leaf to an external router in one VRF, over a tagged
    sub-interface (unit / dot1q ``vlan``) of the link's port."""

    router: str
    """The external router's name."""
    description: str
    vrf: str
    interface: str
    """The port (its :class:`ExternalPort`); the sub-interface is ``<port>.<vlan>``."""
    vlan: int
    """802.1Q tag, also the sub-interface (unit) number."""
    address: IPv4Interface
    """This leaf's address on the link subnet."""
    peer_address: IPv4Address
    address6: IPv6Interface | None
    peer_address6: IPv6Address | None
    local_asn: int
    peer_asn: int
    import_default: bool
    """Only the default route is accepted (``accept`` is ``0.0.0.0/0`` and ``::/0``)."""
    accept: tuple[IPv4Network | IPv6Network, ...]
    """Import policy: exactly these prefixes, nothing else. Accepted routes are advertised
    into the fabric as EVPN type-5 routes of the VRF."""
    announce: tuple[IPv4Network | IPv6Network, ...]
    """Export policy: exactly these prefixes (the VRF's aggregates), nothing else."""
    aggregates: tuple[IPv4Network | IPv6Network, ...]
    """The prefixes of ``announce`` the border originates as aggregates (not a subnet of the
    VRF's networks: announced while a more specific route of the VRF exists)."""
    bfd: Bfd | None = None
    """BFD on this session (the router's ``bfd``), else none."""

    @property
    def accept4(self) -> tuple[IPv4Network, ...]:
        return tuple(p for p in self.accept if isinstance(p, IPv4Network))

    @property
    def accept6(self) -> tuple[IPv6Network, ...]:
        return tuple(p for p in self.accept if isinstance(p, IPv6Network))

    @property
    def announce4(self) -> tuple[IPv4Network, ...]:
        return tuple(p for p in self.announce if isinstance(p, IPv4Network))

    @property
    def announce6(self) -> tuple[IPv6Network, ...]:
        return tuple(p for p in self.announce if isinstance(p, IPv6Network))


@dataclass(frozen=True, slots=True)
class ExternalPort:
    """A border leaf's port cabled to an external router: untagged it carries nothing,
    each VRF has its own tagged sub-interface and session."""

    name: str
    description: str
    router: str
    sessions: tuple[ExternalSession, ...]
    """One per VRF, in VLAN order."""
    ip_mtu: int = 1500
    """IP MTU of every sub-interface (the external router configures the same); the port
    itself carries the fabric MTU."""


@dataclass(frozen=True, slots=True)
class DeviceIntent:
    """Everything one device's config says. Spines have no ``evpn``, VRFs, gateways or
    Kubernetes peerings; only border leaves with DCI links have ``dci``."""

    device: Device
    fabric: FabricInfo
    interfaces: tuple[FabricInterface, ...]
    """Routed fabric and DCI ports, natural port order."""
    access_ports: tuple[AccessInterface, ...]
    underlay: Underlay
    overlay: Overlay
    evpn: Evpn | None
    vrfs: tuple[VrfInstance, ...]
    gateways: tuple[AnycastGateway, ...]
    """Anycast gateways on this leaf (shared objects), inventory order."""
    kubernetes: tuple[K8sPeering, ...]
    dci: Dci | None
    external: tuple[ExternalPort, ...] = ()
    """Border leaves: ports to external routers with one eBGP session per VRF."""
    servers: tuple[ServerAttachment, ...] = ()
    """Server attachments on this leaf (plain ports, LAGs, ESI-LAGs), natural order of
    their first port."""

    @property
    def name(self) -> str:
        return self.device.name

    def external_sessions(self, vrf: str | None = None) -> tuple[ExternalSession, ...]:
        """Every external session (of ``vrf``), port order then VLAN order."""
        return tuple(s for p in self.external for s in p.sessions if vrf is None or s.vrf == vrf)

    @property
    def segments(self) -> tuple[EthernetSegment, ...]:
        """Ethernet segments on this leaf (dual-homed servers)."""
        return tuple(s.segment for s in self.servers if s.segment is not None)

    @property
    def platform(self) -> Platform:
        return self.device.platform

    @property
    def vnis(self) -> tuple[L2Vni, ...]:
        """The VLAN/VNI map (empty on spines)."""
        return self.evpn.vnis if self.evpn is not None else ()

    def features(self) -> frozenset[str]:
        """Features (names of :data:`fabric.platforms.Feature`) this device's config
        uses, for the capability check before rendering."""
        f = {"evpn_vxlan"}
        if any(g.address4 is not None for g in self.gateways):
            f.add("anycast_gateway")
        if any(g.address6 is not None for g in self.gateways):
            f.add("anycast_gateway_v6")
        if self.vrfs:
            f.add("l3vni")
        if self.underlay.neighbors6:
            f.add("ipv6_underlay")
        if self.kubernetes:
            f.update(("k8s_peering", "graceful_shutdown"))
        if (
            self.underlay.bfd is not None
            or self.overlay.bfd is not None
            or any(k.bfd is not None for k in self.kubernetes)
            or any(s.bfd is not None for s in self.external_sessions())
        ):
            f.add("bfd")
        if self.dci is not None:
            f.add("dci_stitching")
        if self.external:
            f.add("external_bgp")
        if self.segments:
            f.add("evpn_multihoming")
        return frozenset(f)

    def to_json(self, cache: JsonCache | None = None) -> str:
        """Sorted, stable JSON (2-space indent, trailing newline). Pass one
        :class:`JsonCache` for a whole fabric to encode each shared object once."""
        return _encode_fields(self, 0, cache if cache is not None else JsonCache(), {"intent_version": INTENT_VERSION}, "\n")


# --------------------------------------------------------------------------- fabric summary


@direct_init
@dataclass(frozen=True, slots=True)
class LinkEnd:
    """One end of a cable."""

    device: str
    port: str
    address: IPv4Interface
    address6: IPv6Interface | None


@direct_init
@dataclass(frozen=True, slots=True)
class Link:
    """A cable with both ends: ``a`` is the leaf (or the first DCI end), ``b`` the spine."""

    key: str
    kind: Literal["fabric", "dci"]
    a: LinkEnd
    b: LinkEnd
    mtu: int
    ip_mtu: int


@dataclass(frozen=True, slots=True)
class K8sNode:
    """A Kubernetes node as the exports see it (lab hosts, agent configs, docs)."""

    name: str
    cluster: str
    leaf: str
    port: str
    network: str
    vlan: int
    vrf: str
    address: IPv4Interface
    """Node address with its network's prefix."""
    address6: IPv6Interface | None
    gateway4: IPv4Address
    gateway6: IPv6Address | None
    asn: int
    leaf_asn: int
    service_ranges: tuple[IPv4Network | IPv6Network, ...]
    max_prefixes: int


@dataclass(frozen=True, slots=True)
class K8sCluster:
    """A Kubernetes cluster as the exports see it (docs, agent configs)."""

    name: str
    description: str
    network: str
    vrf: str
    vlan: int
    asn_first: int
    asn_last: int
    """``asn_first == asn_last``: one ASN for every node; else each node's comes from the range."""
    service_ranges: tuple[IPv4Network | IPv6Network, ...]
    max_prefixes: int
    """Per node."""
    speaker: str
    """What speaks BGP on the nodes (``bgp-agent``, ``frr``, ``bird``); agent configs are
    written for ``bgp-agent`` clusters."""
    bfd: bool
    """BFD on the leaves' sessions to the nodes (only for speakers that run BFD)."""
    hold_time: int
    keepalive: int
    nodes: tuple[str, ...]
    """Node names, inventory order (details in :attr:`FabricSummary.nodes`)."""
    leaves: tuple[str, ...]
    """Leaves with at least one node of the cluster, inventory order."""


@dataclass(frozen=True, slots=True)
class FabricSummary:
    """The whole fabric in one object, for exports (docs, cabling, drawings, labs)."""

    fabric: FabricInfo
    devices: tuple[Device, ...]
    """Spines, then leaves, in inventory order."""
    links: tuple[Link, ...]
    """Fabric links in ledger-key order of the inventory, then DCI links."""
    networks: tuple[Network, ...]
    gateways: tuple[AnycastGateway, ...]
    vrfs: tuple[Vrf, ...]
    nodes: tuple[K8sNode, ...]
    """Kubernetes nodes: leaf order, then cluster order, then port order."""
    clusters: tuple[K8sCluster, ...]
    """Kubernetes clusters, inventory order."""

    def device(self, name: str) -> Device:
        for d in self.devices:
            if d.name == name:
                return d
        raise KeyError(name)

    def to_json(self) -> str:
        """Sorted, stable JSON of the summary."""
        return _encode(self, 0, JsonCache()) + "\n"


# --------------------------------------------------------------------------- JSON


class JsonCache:
    """Encoded text of shared objects (and of tuples made only of them), so a fabric
    encodes each network once per indent level; an :class:`~fabric.speed.IdentityCache`
    (the intent shares one object among every leaf that has it)."""

    SHARED: ClassVar[tuple[type, ...]] = (Network, AnycastGateway, Vrf, FabricInfo, Site, RouteTarget)

    def __init__(self) -> None:
        self._text: IdentityCache[str] = IdentityCache(limit=1_000_000)
        self._parts: IdentityCache[tuple[str, ...]] = IdentityCache(limit=10_000)

    def get(self, obj: object, level: int, make: Callable[[], str]) -> str:
        return self._text.get_one(obj, level, make)

    def slotted(self, objs: tuple[object, ...], extra: Hashable, make: Callable[[], tuple[str, ...]]) -> tuple[str, ...]:
        return self._parts.get(objs, extra, make)

    def get_all(self, objs: tuple[object, ...], extra: Hashable, make: Callable[[], str]) -> str:
        return self._text.get(objs, extra, make)

    def get_tuple(self, value: tuple[object, ...], level: int, make: Callable[[], str]) -> str:
        """The text of a tuple of shared objects: by the tuple's own identity first (the
        design shares a leaf's gateway tuple and each VRF's network names among the leaves
        that carry the same networks: one lookup instead of one per item), else by its
        items' (:meth:`get_all`)."""
        return self._text.get_one(value, ("tuple", level), lambda: self._text.get(value, level, make))


_FIELDS: dict[type, tuple[str, ...]] = {}
_ADDR_TYPES = (IPv4Address, IPv6Address, IPv4Interface, IPv6Interface, IPv4Network, IPv6Network)
_dumps_str = json.encoder.encode_basestring  # what JSONEncoder(ensure_ascii=False).encode does with a str


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(sorted(f.name for f in fields(cls)))
    return names


# What _encode does with a value, by its type (decided once per type, in the order of the
# checks a value would go through): a type-keyed table instead of a chain of isinstance
# tests per value (the intent JSON of the benchmark fabric: 0.8 -> 0.5 s)
_NULL, _BOOL, _INT, _STR, _ADDR, _SEQ, _SET, _HOOK, _SHARED, _OBJECT = range(10)
_KINDS: dict[type, int] = {type(None): _NULL, bool: _BOOL}


def _kind(t: type) -> int:
    kind = _KINDS.get(t)
    if kind is None:
        if issubclass(t, int):
            kind = _INT
        elif issubclass(t, str):
            kind = _STR
        elif issubclass(t, _ADDR_TYPES):
            kind = _ADDR
        elif issubclass(t, tuple | list):
            kind = _SEQ
        elif issubclass(t, frozenset):
            kind = _SET
        elif is_dataclass(t):
            if getattr(t, "__json__", None) is not None:
                kind = _HOOK
            elif issubclass(t, JsonCache.SHARED):
                kind = _SHARED
            else:
                kind = _OBJECT
        else:
            raise TypeError(f"cannot encode {t.__name__} as intent JSON")
        _KINDS[t] = kind
    return kind


def _encode(value: Any, level: int, cache: JsonCache) -> str:
    """JSON text of ``value`` whose first line is already at indent ``level``."""
    t = type(value)
    kind = _KINDS.get(t)
    if kind is None:
        kind = _kind(t)
    if kind == _STR:
        return _dumps_str(value)
    if kind == _OBJECT:
        return _encode_fields(value, level, cache)
    if kind == _SHARED:
        return cache.get(value, level, lambda: _encode_fields(value, level, cache))
    if kind == _INT:
        return str(value)
    if kind == _ADDR:
        return f'"{address_text(value)}"'
    if kind == _NULL:
        return "null"
    if kind == _BOOL:
        return "true" if value else "false"
    if kind == _HOOK:
        return _encode(value.__json__(), level, cache)
    items = sorted(value) if kind == _SET else value
    if not items:
        return "[]"
    pad = "  " * (level + 1)

    def encode_items() -> str:
        sep = f",\n{pad}"
        pieces = [f"[\n{pad}"]
        for v in items:
            pieces += (_encode(v, level + 1, cache), sep)
        pieces[-1] = f"\n{'  ' * level}]"
        return "".join(pieces)  # one copy of each item's text (see _encode_fields)

    first = items[0]
    if t is tuple and (isinstance(first, JsonCache.SHARED) or type(first) is str):
        # a leaf's gateways, a VRF's network names: the same objects on many leaves
        return cache.get_tuple(value, level, encode_items)
    if type(first) is L2Vni and t is tuple:
        return _encode_vnis(value, level, cache)
    return encode_items()


def _encode_vnis(vnis: tuple[L2Vni, ...], level: int, cache: JsonCache) -> str:
    """A leaf's L2 VNIs (leaves x networks of them in a fabric): the text for the same
    networks is made once with a slot for each RD (:func:`fabric.speed.fill_slots`), then
    each leaf's RDs go in. Same text as the generic path (keys sorted; an RD is
    ``"<address>:<int>"``, nothing to escape)."""
    def make() -> tuple[str, ...]:
        pad = "  " * (level + 2)
        items = []
        for v in vnis:
            net = v.network
            net_text = cache.get(net, level + 2, lambda net=net: _encode_fields(net, level + 2, cache))  # type: ignore[misc]
            stitched = "true" if v.stitched else "false"
            items.append(f'{{\n{pad}"network": {net_text},\n{pad}"rd": "{SLOT}",\n{pad}"stitched": {stitched}\n'
                         f'{"  " * (level + 1)}}}')
        outer = "  " * (level + 1)
        return split_slots(f"[\n{outer}" + f",\n{outer}".join(items) + f"\n{'  ' * level}]", len(vnis))

    parts = cache.slotted(tuple([v.network for v in vnis]), (level, tuple([v.stitched for v in vnis])), make)
    return fill_slots(parts, [v.rd for v in vnis])


_LAYOUTS: dict[tuple[type, int], tuple[Callable[[Any], tuple[Any, ...]], tuple[str, ...], str]] = {}


def _layout(cls: type, level: int) -> tuple[Callable[[Any], tuple[Any, ...]], tuple[str, ...], str]:
    """How an object of ``cls`` at indent ``level`` is printed, made once per class and
    level: a getter of its field values in key order, the text before each value (indent
    and key) and the text after the last one."""
    hit = _LAYOUTS.get((cls, level))
    if hit is None:
        names = _field_names(cls)
        pad = "  " * (level + 1)
        get: Callable[[Any], tuple[Any, ...]]
        if len(names) == 1:
            only = names[0]

            def get(obj: Any) -> tuple[Any, ...]:
                return (getattr(obj, only),)
        else:
            get = attrgetter(*names)  # several names: one tuple, read in C
        hit = _LAYOUTS[(cls, level)] = (get, tuple(f'{pad}"{n}": ' for n in names), "\n" + "  " * level + "}")
    return hit


def _encode_fields(obj: Any, level: int, cache: JsonCache, extra: dict[str, Any] | None = None, end: str = "") -> str:
    """JSON text of a dataclass (keys sorted), ``extra`` keys added, ``end`` after it.

    The pieces are joined once: the text of a big field (a leaf's VNI list, some 250 kB)
    is copied once per level, not again for each ``+`` (about 0.1 s of the benchmark's
    intent JSON)."""
    if extra:
        pad = "  " * (level + 1)
        values: dict[str, Any] = {n: getattr(obj, n) for n in _field_names(type(obj))}
        values.update(extra)
        pieces = ["{\n"]
        for n in sorted(values):
            pieces += (f'{pad}"{n}": ', _encode(values[n], level + 1, cache), ",\n")
        pieces[-1] = "\n" + "  " * level + "}" + end
        return "".join(pieces)
    get, heads, close = _layout(type(obj), level)
    if not heads:
        return "{}" + end
    inner = level + 1
    pieces = ["{\n"]
    append = pieces.append
    for h, v in zip(heads, get(obj), strict=True):
        append(h)
        # the common scalars inline (the same text as _encode gives them)
        t = type(v)
        if t is str:
            append(_dumps_str(v))
        elif t is int:
            append(str(v))
        elif v is None:
            append("null")
        else:
            append(_encode(v, inner, cache))
        append(",\n")
    pieces[-1] = close + end if end else close
    return "".join(pieces)
