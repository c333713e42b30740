"""External routers in the lab: one namespace per ``external_routers`` entry running FRR,
cabled to the border leaves' ports, playing the backbone (one veth pair per sub-interface:
see :meth:`TopoExternal.cables`).

Its config is generated here, not by the fabric's renderers (the fabric never configures an
external router): one VLAN sub-interface per session with the router's end of the link
subnet, eBGP to the border leaf, and "a network behind it": the prefixes the border imports
(each prefix's first address on ``lo``, originated with ``network``), or, where the border
imports the default route, the default route (``default-originate``) plus
:data:`BEHIND4` / :data:`BEHIND6` on ``lo``, reachable through it.

This kernel has no VRF support (see :data:`fabric.lab.twins.NO_VRF_REASON`): the border's
sessions live in its default table there, and so do the external router's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface, IPv6Network

from fabric.design.intent import DeviceIntent

BEHIND4 = IPv4Interface("203.0.113.1/24")
"""What an external router that sends the default route has behind it (TEST-NET-3)."""
BEHIND6 = IPv6Interface("2001:db8:ffff::1/64")


def external_node(router: str) -> str:
    """The lab node (namespace) name of external router ``router``."""
    return f"x-{router}"


def external_port(index: int) -> str:
    """The external router's interface towards its ``index``-th border link (1-based)."""
    return f"eth{index}"


def sub_interface(port: str, vlan: int) -> str:
    """The Linux VLAN device of a session: ``<port>.<vlan>`` (the FRR renderer's name)."""
    return f"{port}.{vlan}"


@dataclass(frozen=True)
class ExternalSessionEnd:
    """The external router's end of one session (one VRF on one link)."""

    vrf: str
    vlan: int
    address: IPv4Interface
    peer: IPv4Address
    """The border leaf's address."""
    address6: IPv6Interface | None
    peer6: IPv6Address | None
    peer_asn: int
    default_route: bool
    """The border imports only the default route: originate it."""
    announce: tuple[IPv4Network | IPv6Network, ...]
    """What the border imports and this router originates (besides a default route)."""
    expect: tuple[IPv4Network | IPv6Network, ...]
    """What the border exports: the prefixes this router must learn."""
    bfd: bool = False
    """The border runs BFD on this session: so does this router (FRR's default timers)."""


@dataclass(frozen=True)
class ExternalLink:
    """A cable from a border leaf's port to the external router."""

    leaf: str
    leaf_port: str
    """Linux name of the leaf's port (twin names for Junos / NX-OS borders)."""
    port: str
    """The external router's interface."""
    sessions: tuple[ExternalSessionEnd, ...]
    mtu: int = 1500
    """The link's IP MTU (both ends' sub-interfaces)."""


@dataclass(frozen=True)
class TopoExternal:
    """An external router of the lab: FRR in its own namespace with a generated config."""

    router: str
    name: str
    """The lab node name (:func:`external_node`)."""
    asn: int
    links: tuple[ExternalLink, ...]

    @property
    def behind(self) -> tuple[IPv4Interface | IPv6Interface, ...]:
        """Addresses on ``lo``: the first address of each announced prefix, and
        :data:`BEHIND4` / :data:`BEHIND6` where a default route is sent."""
        out: list[IPv4Interface | IPv6Interface] = []
        for s in self.sessions:
            for p in s.announce:
                if p.prefixlen > 0:
                    out.append(IPv4Interface((p.network_address + 1, p.prefixlen)) if isinstance(p, IPv4Network)
                               else IPv6Interface((p.network_address + 1, p.prefixlen)))
            if s.default_route:
                out.append(BEHIND4)
                if s.address6 is not None:
                    out.append(BEHIND6)
        return tuple(dict.fromkeys(out))

    @property
    def sessions(self) -> tuple[ExternalSessionEnd, ...]:
        return tuple(s for lk in self.links for s in lk.sessions)

    def cables(self) -> tuple[tuple[str, str, str], ...]:
        """``(leaf, leaf interface, router interface)`` per session. This kernel has no
        802.1Q devices (no ``8021q``), so the lab cables each sub-interface as a veth pair of
        its own that carries the sub-interface's name on both ends (``swp20.11``): the same
        addresses, sessions and routes as a tagged sub-interface, untagged on the wire."""
        return tuple(c[:3] for c in self.cables_with_mtu())

    def cables_with_mtu(self) -> tuple[tuple[str, str, str, int], ...]:
        """:meth:`cables` with each cable's MTU: the link's IP MTU, which both ends of the
        real link configure on the sub-interface."""
        return tuple((lk.leaf, sub_interface(lk.leaf_port, s.vlan), sub_interface(lk.port, s.vlan), lk.mtu)
                     for lk in self.links for s in lk.sessions)

    def frr_config(self) -> str:
        """The external router's frr.conf (FRR 8.4, ``frr defaults datacenter``)."""
        lines = ["frr version 8.4", "frr defaults datacenter", f"hostname {self.name}",
                 "service integrated-vtysh-config", "!", "interface lo"]
        behind = self.behind
        for a in behind:
            lines.append(f" {'ip' if a.version == 4 else 'ipv6'} address {a}")
        lines.append("!")
        for lk in self.links:
            for s in lk.sessions:
                lines.append(f"interface {sub_interface(lk.port, s.vlan)}")
                lines.append(f" ip address {s.address}")
                if s.address6 is not None:
                    lines.append(f" ipv6 address {s.address6}")
                lines.append("!")
        sessions = self.sessions
        router_id = sessions[0].address.ip
        lines += [f"router bgp {self.asn}", f" bgp router-id {router_id}", " no bgp default ipv4-unicast"]
        for s in sessions:
            for peer in (s.peer, s.peer6):
                if peer is not None:
                    lines.append(f" neighbor {peer} remote-as {s.peer_asn}")
                    if s.bfd:
                        lines.append(f" neighbor {peer} bfd")
        for fam in (4, 6):
            peers = [(s, s.peer if fam == 4 else s.peer6) for s in sessions]
            peers = [(s, p) for s, p in peers if p is not None]
            if not peers:
                continue
            lines += [" !", f" address-family {'ipv4' if fam == 4 else 'ipv6'} unicast"]
            for a in behind:
                if a.version == fam:
                    lines.append(f"  network {a.network}")
            for s, p in peers:
                lines.append(f"  neighbor {p} activate")
                if s.default_route:
                    lines.append(f"  neighbor {p} default-originate")
            lines.append(" exit-address-family")
        lines += ["!", "end", ""]
        return "\n".join(lines)


def lab_externals(intents: Mapping[str, DeviceIntent], port_name: Callable[[str, str], str]) -> tuple[TopoExternal, ...]:
    """The external routers of a fabric, from its border leaves' intents. ``leaf_port``
    gives the Linux name of a leaf's hardware port (twins rename ``et-0/0/30``)."""
    links: dict[str, list[ExternalLink]] = {}
    asns: dict[str, int] = {}
    for leaf, i in intents.items():
        for port in i.external:
            ends = []
            for s in port.sessions:
                peer6 = s.address6.ip if s.address6 is not None else None
                addr6 = IPv6Interface((s.peer_address6, s.address6.network.prefixlen)) \
                    if s.peer_address6 is not None and s.address6 is not None else None
                ends.append(ExternalSessionEnd(
                    vrf=s.vrf, vlan=s.vlan,
                    address=IPv4Interface((s.peer_address, s.address.network.prefixlen)), peer=s.address.ip,
                    address6=addr6, peer6=peer6 if addr6 is not None else None, peer_asn=s.local_asn,
                    default_route=s.import_default,
                    announce=tuple(p for p in s.accept if p.prefixlen > 0 and (p.version == 4 or addr6 is not None)),
                    expect=s.announce,
                    bfd=s.bfd is not None,
                ))
            router_links = links.setdefault(port.router, [])
            asns[port.router] = port.sessions[0].peer_asn
            router_links.append(ExternalLink(leaf, port_name(leaf, port.name),
                                             external_port(len(router_links) + 1), tuple(ends), port.ip_mtu))
    return tuple(TopoExternal(r, external_node(r), asns[r], tuple(lks)) for r, lks in sorted(links.items()))


__all__ = ["BEHIND4", "BEHIND6", "ExternalLink", "ExternalSessionEnd", "TopoExternal", "external_node", "lab_externals"]
