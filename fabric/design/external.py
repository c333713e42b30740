"""Design stage of the border hand-off: each border leaf's ports to external routers, with
one eBGP session per VRF (see :mod:`fabric.model.external`).

Pure, like the rest of the pipeline: the inventory's external routers plus the devices
(ASNs) and the tenancy (the VRFs' network subnets, the default export) give, per leaf,
its :class:`~fabric.design.intent.ExternalPort` objects.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from ipaddress import IPv4Network, IPv6Network

from fabric.design.intent import Bfd, Device, DeviceIntent, ExternalPort, ExternalSession
from fabric.errors import DesignError
from fabric.model import Inventory
from fabric.sorting import natural_key

DEFAULT4 = IPv4Network("0.0.0.0/0")
DEFAULT6 = IPv6Network("::/0")


def vrf_subnets(inv: Inventory) -> dict[str, tuple[IPv4Network | IPv6Network, ...]]:
    """VRF -> the subnets of its networks' anycast gateways (IPv4 then IPv6, inventory
    order): what a VRF exports to external routers unless told otherwise."""
    v4: dict[str, list[IPv4Network | IPv6Network]] = defaultdict(list)
    v6: dict[str, list[IPv4Network | IPv6Network]] = defaultdict(list)
    for n in inv.networks():
        if n.gateway4 is not None:
            v4[n.vrf].append(n.gateway4.network)
        if n.gateway6 is not None:
            v6[n.vrf].append(n.gateway6.network)
    return {v.name: tuple(dict.fromkeys([*v4[v.name], *v6[v.name]])) for v in inv.vrfs()}


def external_ports(inv: Inventory, devs: dict[str, Device]) -> dict[str, tuple[ExternalPort, ...]]:
    """leaf name -> its ports to external routers (natural port order)."""
    subnets = vrf_subnets(inv)
    out: dict[str, list[ExternalPort]] = defaultdict(list)
    for r in inv.external_routers:
        bfd = Bfd(r.bfd.interval_ms, r.bfd.multiplier) if r.bfd is not None else None
        for link in r.links:
            dev = devs.get(link.leaf)
            if dev is None:
                raise DesignError(f"external router {r.name}: unknown leaf {link.leaf}")
            sessions = []
            for x in sorted(link.vrfs, key=lambda x: x.vlan):
                own = subnets.get(x.vrf, ())
                has6 = x.address6 is not None
                if x.import_ == "default":
                    accept: tuple[IPv4Network | IPv6Network, ...] = (DEFAULT4, DEFAULT6) if has6 else (DEFAULT4,)
                else:
                    accept = tuple(x.import_)
                announce = tuple(x.export) if x.export is not None else own
                if not has6:
                    announce = tuple(p for p in announce if p.version == 4)
                sessions.append(ExternalSession(
                    router=r.name,
                    description=" ".join(f"external {r.name} {x.description or r.description}".split()),
                    vrf=x.vrf,
                    interface=link.port,
                    vlan=x.vlan,
                    address=x.address,
                    peer_address=x.peer,
                    address6=x.address6,
                    peer_address6=x.peer6,
                    local_asn=dev.asn,
                    peer_asn=r.asn,
                    import_default=x.import_ == "default",
                    accept=accept,
                    announce=tuple(dict.fromkeys(announce)),
                    aggregates=tuple(p for p in dict.fromkeys(announce) if p not in own),
                    bfd=bfd,
                ))
            desc = " ".join(f"external: {r.name} {link.description}".split())
            out[link.leaf].append(ExternalPort(link.port, desc, r.name, tuple(sessions), link.ip_mtu))
    return {leaf: tuple(sorted(ports, key=lambda p: natural_key(p.name))) for leaf, ports in out.items()}


def with_external(intents: dict[str, DeviceIntent], ports: dict[str, tuple[ExternalPort, ...]]) -> dict[str, DeviceIntent]:
    """``intents`` with each border leaf's external ports filled in."""
    if not ports:
        return intents
    return {name: replace(i, external=ports[name]) if name in ports else i for name, i in intents.items()}


__all__ = ["external_ports", "vrf_subnets", "with_external"]
