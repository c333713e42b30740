"""What every export needs to know about a fabric: the design stage's output, indexed once.

The exports (docs, cabling plan, diagram, containerlab topology) read only the design:
the :class:`~fabric.design.intent.FabricSummary` (devices, links with both ends, networks,
VRFs, Kubernetes clusters and nodes) and, for what differs per device (BGP sessions, the
networks and VRFs a leaf carries), the per-device intents. :func:`build_view` takes a
:class:`~fabric.design.Design` and never the inventory. The elements are the summary's own
types (:class:`~fabric.design.intent.Device`, :class:`~fabric.design.intent.Link`,
:class:`~fabric.design.intent.K8sNode` ...); only the joins the exports print are
declared here (:class:`Segment`: a network with its gateway and the leaves that carry it;
:class:`Peering`: one row of a device's session table).

Order is part of the contract: devices are spines then leaves in inventory order; links
are fabric links (ledger key order = inventory order), then DCI links; access cables (one
per Kubernetes node) follow in leaf order, then port in natural order. Exports rely on it
for byte-identical output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface

from fabric.design.intent import Device, DeviceIntent, FabricSummary, K8sCluster, K8sNode, Link, ServerAttachment, Vrf
from fabric.design.pipeline import Design
from fabric.errors import FabricError
from fabric.sorting import natural_key

NODE_PORT = "eth1"
"""The NIC of a Kubernetes node or host towards its leaf (single-homed)."""

LAG_NAME = {"junos": "ae{}", "nxos": "port-channel{}", "frr": "bond{}"}
"""A server LAG's interface name per platform (the renderers' ``ae<N>`` / ``port-channel<N>`` / ``bond<N>``)."""


@dataclass(frozen=True)
class ServerCable:
    """One cable between a leaf port and a server NIC. The server's NICs are numbered
    ``eth1``, ``eth2``, ... over its attachments (leaf order, then port order): the lab's
    and containerlab's names for them."""

    leaf: str
    port: str
    server: str
    nic: str
    attachment: ServerAttachment


class ExportError(FabricError):
    """An export cannot be produced from this fabric (a fact it needs is missing)."""


@dataclass(frozen=True)
class Segment:
    """A tenant network joined with its anycast gateways and the leaves that carry it."""

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
class Peering:
    """One BGP session of a device, as its page lists it."""

    kind: str  # "underlay", "underlay (DCI)", "overlay (EVPN)", "overlay (DCI)", "Kubernetes"
    neighbor: IPv4Address | IPv6Address
    asn: int
    peer: str
    via: str  # local port, "loopback" or "VRF <name>"
    detail: str = ""  # e.g. the Kubernetes cluster


@dataclass(frozen=True)
class FabricView:
    """Everything the exports print, in the order they print it."""

    summary: FabricSummary
    segments: tuple[Segment, ...]
    nodes: tuple[K8sNode, ...]
    """Kubernetes nodes, cluster order then each cluster's node order."""
    access: tuple[K8sNode, ...]
    """The same nodes in access-cable order: leaf order, then port in natural order."""
    peerings: dict[str, tuple[Peering, ...]] = field(default_factory=dict, compare=False)
    """BGP sessions per device, in the order the design lists them."""
    device_vnis: dict[str, tuple[tuple[str, bool], ...]] = field(default_factory=dict, compare=False)
    """Per leaf: (network, stitched) for every L2 VNI it has; stitched ones are carried only
    to stitch them between sites (border leaves)."""
    device_vrfs: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    """Per leaf: the VRFs configured on it (border leaves carry every VRF)."""
    server_attachments: dict[str, tuple[ServerAttachment, ...]] = field(default_factory=dict, compare=False)
    """Per leaf with servers: its server attachments (ports, LAG, Ethernet segment)."""
    _by_name: dict[str, Device] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({d.name: d for d in self.summary.devices})

    # the summary's facts, under the names the exports use
    @property
    def name(self) -> str:
        return self.summary.fabric.name

    @property
    def description(self) -> str:
        return self.summary.fabric.description

    @property
    def mtu(self) -> int:
        return self.summary.fabric.mtu

    @property
    def gateway_mac(self) -> str:
        return self.summary.fabric.gateway_mac

    @property
    def devices(self) -> tuple[Device, ...]:
        return self.summary.devices

    @property
    def links(self) -> tuple[Link, ...]:
        """Routed cables: fabric links, then DCI links."""
        return self.summary.links

    @property
    def vrfs(self) -> tuple[Vrf, ...]:
        return self.summary.vrfs

    @property
    def clusters(self) -> tuple[K8sCluster, ...]:
        return self.summary.clusters

    @property
    def sites(self) -> tuple[tuple[str, str], ...]:
        """(name, description) of every site that has a device, inventory order; devices
        without a site form the site ``""``."""
        out = {s.name: s.description for s in self.summary.fabric.sites}
        for d in self.devices:
            out.setdefault(d.site or "", "")
        return tuple(out.items())

    def device(self, name: str) -> Device:
        """The device called ``name``."""
        try:
            return self._by_name[name]
        except KeyError:
            raise ExportError(f"no device {name!r} in fabric {self.name}") from None

    def has_device(self, name: str) -> bool:
        """Whether ``name`` is a switch of this fabric (nodes are not)."""
        return name in self._by_name

    @cached_property
    def spines(self) -> tuple[Device, ...]:
        return tuple(d for d in self.devices if not d.is_leaf)

    @cached_property
    def leaves(self) -> tuple[Device, ...]:
        return tuple(d for d in self.devices if d.is_leaf)

    def at_site(self, site: str, devices: tuple[Device, ...]) -> list[Device]:
        """``devices`` placed at ``site`` (``""``: at none)."""
        return [d for d in devices if (d.site or "") == site]

    @cached_property
    def segment_index(self) -> dict[str, Segment]:
        """Networks by name."""
        return {s.name: s for s in self.segments}

    @cached_property
    def _links_by_device(self) -> dict[str, tuple[Link, ...]]:
        out: dict[str, list[Link]] = {}
        for k in self.links:
            out.setdefault(k.a.device, []).append(k)
            if k.b.device != k.a.device:
                out.setdefault(k.b.device, []).append(k)
        return {name: tuple(ks) for name, ks in out.items()}

    @cached_property
    def _access_by_leaf(self) -> dict[str, tuple[K8sNode, ...]]:
        out: dict[str, list[K8sNode]] = {}
        for n in self.access:
            out.setdefault(n.leaf, []).append(n)
        return {leaf: tuple(ns) for leaf, ns in out.items()}

    def links_of(self, name: str) -> tuple[Link, ...]:
        """Routed links with ``name`` at either end, in link order."""
        return self._links_by_device.get(name, ())

    def segments_on(self, leaf: str) -> tuple[Segment, ...]:
        """Networks the leaf carries."""
        return tuple(s for s in self.segments if leaf in s.leaves)

    def nodes_on(self, leaf: str) -> tuple[K8sNode, ...]:
        """Kubernetes nodes cabled to the leaf, in port order."""
        return self._access_by_leaf.get(leaf, ())

    @cached_property
    def server_cables(self) -> tuple[ServerCable, ...]:
        """Every server cable, in leaf order then port order (the cabling plan's order)."""
        nics: dict[str, int] = {}
        by_server: dict[str, list[tuple[str, ServerAttachment]]] = {}
        for leaf, atts in self.server_attachments.items():
            for a in atts:
                by_server.setdefault(a.server, []).append((leaf, a))
        numbered: dict[tuple[str, str], ServerCable] = {}
        for server in sorted(by_server):
            for leaf, a in by_server[server]:
                for p in a.ports:
                    nics[server] = nics.get(server, 0) + 1
                    numbered[(leaf, p)] = ServerCable(leaf, p, server, f"eth{nics[server]}", a)
        order = {d.name: i for i, d in enumerate(self.leaves)}
        return tuple(sorted(numbered.values(), key=lambda c: (order.get(c.leaf, len(order)), natural_key(c.port))))

    def server_cables_on(self, leaf: str) -> tuple[ServerCable, ...]:
        """Server cables of ``leaf``, in port order."""
        return tuple(c for c in self.server_cables if c.leaf == leaf)

    def cluster_nodes(self, cluster: K8sCluster) -> tuple[K8sNode, ...]:
        """The nodes of ``cluster``, in its order."""
        return tuple(n for n in self.nodes if n.cluster == cluster.name)

    def cluster_leaves(self, cluster: K8sCluster) -> tuple[str, ...]:
        """Leaves that have at least one node of ``cluster``, in node order."""
        return tuple(dict.fromkeys(n.leaf for n in self.cluster_nodes(cluster)))


def cluster_asn(c: K8sCluster) -> str:
    """The cluster's node ASN as written: ``N`` or ``FIRST-LAST``."""
    return str(c.asn_first) if c.asn_first == c.asn_last else f"{c.asn_first}-{c.asn_last}"


def link_end(k: Link, name: str) -> tuple[str, str, IPv4Interface, IPv6Interface | None, str]:
    """(own port, peer, own address, own IPv6 address, peer port) of link ``k`` seen from ``name``."""
    me, far = (k.a, k.b) if k.a.device == name else (k.b, k.a)
    return me.port, far.device, me.address, me.address6, far.port


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


def build_view(design: Design) -> FabricView:
    """Index the design stage's output for the exports (no inventory, no I/O)."""
    summary, intents = design.summary, design.devices
    carriers: dict[str, list[str]] = {n.name: [] for n in summary.networks}
    # (network name, stitched) of each leaf's VNIs, made once (500 networks x 256 leaves)
    device_vnis = {name: tuple([(v.network.name, v.stitched) for v in i.vnis]) for name, i in intents.items()}
    for name, keys in device_vnis.items():
        for net, stitched in keys:
            if not stitched:
                carriers[net].append(name)
    gw = {g.network: g for g in summary.gateways}
    segments = tuple(
        Segment(n.name, n.tenant, n.vrf, n.vlan, n.vni, gw[n.name].address4 if n.name in gw else None,
                gw[n.name].address6 if n.name in gw else None, n.mtu, tuple(carriers[n.name]), n.description)
        for n in summary.networks
    )
    by_node = {n.name: n for n in summary.nodes}
    nodes: list[K8sNode] = []
    for c in summary.clusters:
        for node in c.nodes:
            if node not in by_node:
                raise ExportError(f"cluster {c.name}: node {node} is missing from the design summary")
            nodes.append(by_node[node])
    leaf_order = {d.name: i for i, d in enumerate(summary.devices)}
    access = sorted(nodes, key=lambda n: (leaf_order.get(n.leaf, len(leaf_order)), natural_key(n.port)))
    return FabricView(
        summary=summary,
        segments=segments,
        nodes=tuple(nodes),
        access=tuple(access),
        peerings={name: _peerings(intent) for name, intent in intents.items()},
        device_vnis=device_vnis,
        device_vrfs={name: tuple(v.name for v in i.vrfs) for name, i in intents.items()},
        server_attachments={name: i.servers for name, i in intents.items() if i.servers},
    )


__all__ = [
    "NODE_PORT", "ExportError", "FabricView", "Peering", "Segment", "build_view", "cluster_asn", "link_end",
]
