"""What the Junos templates need beyond the intent, computed from the intent alone.

The intent is vendor-neutral; a few things are Junos spellings or groupings of it: the
names of policies and groups, which irb units join which VRF, the VLAN names an access
port lists, the route target of the default switch, and the per-network blocks (irb
unit, VLAN, ``vni-options`` entry) that are identical on every leaf and therefore
rendered once and reused (:class:`fabric.speed.IdentityCache`, in the renderer).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Network
from typing import Literal, Protocol

from fabric.design.intent import (
    EVPN_INSTANCE_RD,
    GRACEFUL_SHUTDOWN_COMMUNITY,
    AccessInterface,
    BgpNeighbor,
    DciVrf,
    DeviceIntent,
    ExternalPort,
    ExternalSession,
    FabricInterface,
    K8sPeering,
    RouteTarget,
    ServerAttachment,
    VrfInstance,
)
from fabric.errors import RenderError
from fabric.render.junos.escape import junos_word
from fabric.sorting import natural_key

__all__ = ["JunosNames", "JunosView", "LeafBlocks", "Port", "ServerPort", "lag_name", "route_target"]


def route_target(rt: RouteTarget) -> str:
    """Junos spelling of a route target: a 4-byte admin ASN takes the ``L`` suffix."""
    if rt.four_byte_admin:
        if rt.number > 65535:
            raise RenderError(f"route target {rt.community}: a 4-byte admin leaves 16 bits for the number")
        return f"target:{rt.admin}L:{rt.number}"
    return rt.community


@dataclass(frozen=True)
class VxlanResources:
    """``forwarding-options vxlan-routing`` table sizes of a model (Juniper's validated
    QFX5120 configs; a change takes effect after a reboot)."""

    next_hops: int
    interfaces: int


VXLAN_RESOURCES: dict[str, VxlanResources] = {
    "qfx5120-48y": VxlanResources(next_hops=45056, interfaces=8192),
    "qfx5120-32c": VxlanResources(next_hops=45056, interfaces=8192),
}


DCI_FROM_GATEWAY = "65533:1"
"""Standard community a border adds to every EVPN route learned from another site's
gateway, so that it is never passed on to a third gateway (value from the private range)."""


class JunosNames:
    """Names of the policies, communities and BGP groups the config defines.

    Fixed names for fabric-wide things; tenant names (VRF, cluster) are checked to be
    one bare Junos word before they become part of a name."""

    underlay = "underlay"
    underlay6 = "underlay-v6"
    overlay = "overlay"
    dci_underlay = "dci-underlay"
    dci_underlay6 = "dci-underlay-v6"
    dci_overlay = "dci-overlay"
    loopbacks4 = "LOOPBACKS"
    loopbacks6 = "LOOPBACKS-V6"
    underlay_export = "UNDERLAY-EXPORT"
    dci_underlay_export = "DCI-UNDERLAY-EXPORT"
    dci_import = "DCI-EVPN-IN"
    dci_export = "DCI-EVPN-OUT"
    load_balance = "PFE-LB"
    k8s_export = "K8S-OUT"
    graceful_shutdown = "GRACEFUL_SHUTDOWN"
    overlay_export = "OVERLAY-EXPORT"
    dci_l2 = "DCI-L2-TARGET"
    dci_site_prefixes = "DCI-SITE-LOOPBACKS"
    dci_site_prefixes6 = "DCI-SITE-LOOPBACKS-V6"
    dci_site_targets = "DCI-SITE-TARGETS"
    dci_from_gateway = "DCI-FROM-GATEWAY"
    dci_no_advertise = "DCI-NO-ADVERTISE"
    """Tag on every route learned from another site's gateway (Juniper's DCI design)."""

    @staticmethod
    def type5_export(vrf: str) -> str:
        return f"T5-EXPORT-{junos_word(vrf)}"

    @staticmethod
    def k8s_import(cluster: str) -> str:
        return f"K8S-IN-{junos_word(cluster)}"

    @staticmethod
    def k8s_asns(cluster: str) -> str:
        return f"K8S-ASNS-{junos_word(cluster)}"

    @staticmethod
    def k8s_group(cluster: str) -> str:
        return f"k8s-{junos_word(cluster)}"

    @staticmethod
    def k8s_group6(cluster: str) -> str:
        return f"k8s-{junos_word(cluster)}-v6"

    @staticmethod
    def dci_vrf(vrf: str) -> str:
        return f"DCI-T5-TARGET-{junos_word(vrf)}"

    @staticmethod
    def ext_import(s: ExternalSession) -> str:
        """Import policy (and its IPv4 prefix list) of an external session."""
        return f"EXT-IN-{junos_word(s.router)}-{junos_word(s.vrf)}"

    @staticmethod
    def ext_export(s: ExternalSession) -> str:
        return f"EXT-OUT-{junos_word(s.router)}-{junos_word(s.vrf)}"

    @staticmethod
    def ext_group(s: ExternalSession) -> str:
        return f"ext-{junos_word(s.router)}"


@dataclass(frozen=True, slots=True)
class ServerPort:
    """A physical port of a server attachment: a plain access/trunk port (``lag`` None) or
    a member of the LAG ``lag`` (``ae<N>``)."""

    name: str
    server: ServerAttachment
    lag: str | None


def lag_name(number: int) -> str:
    """Junos name of LAG ``number``."""
    return f"ae{number}"


@dataclass(frozen=True, slots=True)
class Port:
    """A physical port in the order the config lists it (routed, access or a server's)."""

    kind: Literal["routed", "access", "external", "server"]
    port: FabricInterface | AccessInterface | ExternalPort | ServerPort
    sort_key: tuple[object, ...]


@dataclass(slots=True)
class JunosView:
    """The intent plus what the Junos templates derive from it (see module doc)."""

    intent: DeviceIntent
    ports: list[Port]
    mgmt_interface: str
    vtep_address: IPv4Address | None
    """The VTEP address when it is not the loopback (a second, primary lo0.0 address)."""
    loopbacks4: list[IPv4Network]
    loopbacks6: list[IPv6Network]
    vlan_names: dict[int, str]
    vrf_interfaces: dict[str, str]
    """Per VRF, its ``interface irb.N;`` lines (the same on every leaf that has its networks)."""
    k8s_by_vrf: dict[str, list[K8sPeering]]
    ext_by_vrf: dict[str, list[ExternalSession]]
    """External sessions per VRF (border leaves)."""
    dci_vrfs: dict[str, DciVrf]
    underlay_groups: list[tuple[str, str, tuple[BgpNeighbor, ...]]]
    dci_underlay_groups: list[tuple[str, str, tuple[BgpNeighbor, ...]]]
    evpn_route_target: str
    graceful_shutdown_community: str
    dci_communities: str
    overlay_reject_communities: str
    """What a border never sends to its spines: interconnect RTs and the from-gateway tag."""
    dci_site_prefixes4: list[IPv4Network]
    dci_site_prefixes6: list[IPv6Network]
    dci_from_gateway_community: str
    vxlan_resources: VxlanResources | None
    """Sizes for a VTEP of a known model; ``None`` on spines and unknown models."""
    bfd_anywhere: bool
    irb_units: str
    vlan_blocks: str
    vni_options: str
    vni_list: str
    """The whole ``extended-vni-list [ ... ];`` line (empty without VNIs)."""
    router_advertisement: str

    @property
    def server_lags(self) -> list[tuple[str, ServerAttachment]]:
        """``(aeN, attachment)`` of every LAG, by number."""
        return sorted(((lag_name(a.lag), a) for a in self.intent.servers if a.lag is not None),
                      key=lambda t: natural_key(t[0]))

    @property
    def ae_device_count(self) -> int:
        """``chassis aggregated-devices ethernet device-count``: ae0 .. ae<highest> exist."""
        return max((a.lag + 1 for a in self.intent.servers if a.lag is not None), default=0)

    def members(self, port: AccessInterface | ServerAttachment) -> str:
        """The ``vlan members`` value of an access/trunk port: VLAN names."""
        names = []
        what = port.name if isinstance(port, AccessInterface) else f"of server {port.server}"
        for vlan in port.vlans:
            name = self.vlan_names.get(vlan)
            if name is None:
                raise RenderError(f"{self.intent.name}: port {what} carries VLAN {vlan}, which is not on this leaf")
            names.append(junos_word(name))
        if len(names) == 1:
            return names[0]
        return "[ " + " ".join(names) + " ]"

    def asn_members(self, k: K8sPeering) -> str:
        if len(k.peer_asns) == 1:
            return str(k.peer_asns[0])
        return "[ " + " ".join(str(a) for a in k.peer_asns) + " ]"


#: management port per hardware model (QFX5120 runs Junos OS: em0; EVO boxes use re0:mgmt-0)
MGMT_INTERFACE: dict[str, str] = {"qfx5120-48y": "em0", "qfx5120-32c": "em0"}
DEFAULT_MGMT_INTERFACE = "em0"


@dataclass(frozen=True, slots=True)
class LeafBlocks:
    """The text and names a leaf's networks and gateways give its config: the same on
    every leaf with the same networks (one object, shared: read, never change it)."""

    irb_units: str
    vlan_blocks: str
    vni_options: str
    router_advertisement: str
    vni_list: str
    """The whole ``extended-vni-list [ ... ];`` line (empty without VNIs)."""
    vlan_names: dict[int, str]
    """VLAN -> network name."""


class SharedText(Protocol):
    """Renders (or fetches from a cache) the text of a device that is the same on many
    leaves: the per-network blocks, a VRF's irb interfaces."""

    def blocks(self, d: DeviceIntent) -> LeafBlocks:
        """Irb units, VLANs, vni-options, RA interfaces, the extended VNI list."""
        ...

    def vrf_interfaces(self, d: DeviceIntent, vrf: VrfInstance) -> str:
        """The ``interface irb.N;`` lines of ``vrf`` on ``d`` (a network of the VRF
        without a gateway on ``d`` is a :class:`RenderError`)."""
        ...


def build_view(intent: DeviceIntent, shared: SharedText) -> JunosView:
    """Derive the :class:`JunosView` of ``intent``; ``shared`` makes the text that is the
    same on many leaves (:class:`SharedText`)."""
    d = intent
    ports = [Port("routed", i, natural_key(i.name)) for i in d.interfaces]
    ports += [Port("access", a, natural_key(a.name)) for a in d.access_ports]
    ports += [Port("external", e, natural_key(e.name)) for e in d.external]
    ports += [Port("server", ServerPort(p, a, lag_name(a.lag) if a.lag is not None else None), natural_key(p))
              for a in d.servers for p in a.ports]
    ports.sort(key=lambda p: p.sort_key)

    vtep = d.device.vtep if d.device.vtep is not None and d.device.vtep != d.device.loopback else None
    loopbacks4 = [p for p in d.underlay.advertise if isinstance(p, IPv4Network)]
    loopbacks6 = [p for p in d.underlay.advertise if isinstance(p, IPv6Network)]

    # VLAN names are checked as Junos words where they are printed (the VLAN blocks, members())
    leaf = shared.blocks(d)
    vrf_interfaces = {vi.name: shared.vrf_interfaces(d, vi) for vi in d.vrfs}
    k8s_by_vrf: dict[str, list[K8sPeering]] = {}
    for k in d.kubernetes:
        k8s_by_vrf.setdefault(k.vrf, []).append(k)
    ext_by_vrf: dict[str, list[ExternalSession]] = {}
    for es in d.external_sessions():
        ext_by_vrf.setdefault(es.vrf, []).append(es)
    unknown = (set(k8s_by_vrf) | set(ext_by_vrf)) - {vi.name for vi in d.vrfs}
    if unknown:
        raise RenderError(f"{d.name}: Kubernetes or external peerings in VRFs not on this leaf: {', '.join(sorted(unknown))}")

    underlay_groups = [("inet", JunosNames.underlay, d.underlay.neighbors)]
    if d.underlay.neighbors6:
        underlay_groups.append(("inet6", JunosNames.underlay6, d.underlay.neighbors6))
    underlay_groups = [g for g in underlay_groups if g[2]]

    dci_vrfs: dict[str, DciVrf] = {}
    dci_underlay_groups: list[tuple[str, str, tuple[BgpNeighbor, ...]]] = []
    dci_communities = overlay_reject = ""
    site4: list[IPv4Network] = []
    site6: list[IPv6Network] = []
    if d.dci is not None:
        dci_vrfs = {x.vrf: x for x in d.dci.vrfs}
        dci_underlay_groups = [
            g
            for g in (
                ("inet", JunosNames.dci_underlay, d.dci.underlay_neighbors),
                ("inet6", JunosNames.dci_underlay6, d.dci.underlay_neighbors6),
            )
            if g[2]
        ]
        names = [JunosNames.dci_l2] + [JunosNames.dci_vrf(x.vrf) for x in d.dci.vrfs]
        dci_communities = names[0] if len(names) == 1 else "[ " + " ".join(names) + " ]"
        overlay_reject = "[ " + " ".join([*names, JunosNames.dci_from_gateway]) + " ]"
        site4 = [p for p in d.dci.site_prefixes if isinstance(p, IPv4Network)]
        site6 = [p for p in d.dci.site_prefixes if isinstance(p, IPv6Network)]

    # The default switch's own RT (type-1/type-4 routes); per-VNI RTs come from vni-options.
    evpn_rt = route_target(RouteTarget(d.fabric.rt_admin(d.device.site), EVPN_INSTANCE_RD))
    gshut = GRACEFUL_SHUTDOWN_COMMUNITY
    if d.kubernetes:
        gshut = junos_word(d.kubernetes[0].graceful_shutdown.community)
        if any(k.graceful_shutdown.community != gshut for k in d.kubernetes):
            raise RenderError(f"{d.name}: clusters disagree on the graceful-shutdown community")

    return JunosView(
        intent=d,
        ports=ports,
        mgmt_interface=MGMT_INTERFACE.get(d.device.model, DEFAULT_MGMT_INTERFACE),
        vxlan_resources=VXLAN_RESOURCES.get(d.device.model) if d.evpn is not None else None,
        bfd_anywhere="bfd" in d.features(),
        vtep_address=vtep,
        loopbacks4=loopbacks4,
        loopbacks6=loopbacks6,
        vlan_names=leaf.vlan_names,
        vrf_interfaces=vrf_interfaces,
        k8s_by_vrf=k8s_by_vrf,
        ext_by_vrf=ext_by_vrf,
        dci_vrfs=dci_vrfs,
        underlay_groups=underlay_groups,
        dci_underlay_groups=dci_underlay_groups,
        evpn_route_target=evpn_rt,
        graceful_shutdown_community=gshut,
        dci_communities=dci_communities,
        overlay_reject_communities=overlay_reject,
        dci_site_prefixes4=site4,
        dci_site_prefixes6=site6,
        dci_from_gateway_community=DCI_FROM_GATEWAY,
        irb_units=leaf.irb_units,
        vlan_blocks=leaf.vlan_blocks,
        vni_options=leaf.vni_options,
        vni_list=leaf.vni_list,
        router_advertisement=leaf.router_advertisement,
    )
