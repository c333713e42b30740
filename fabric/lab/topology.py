"""The one topology description of a running fabric: what ``fabric lab up`` builds in
network namespaces and what ``<fabric>.clab.yml`` asks containerlab to build.

:func:`lab_topology` is pure: from the exports' :class:`~fabric.export.view.FabricView` it
decides every namespace (router, Kubernetes node, test host), every cable with the Linux
interface names at both ends, and the Linux side of each router as ``ip`` commands (the
bridge per VLAN with the anycast gateway MAC, the VXLAN device per L2 VNI, access ports in
their VLAN's bridge). The lab runs those commands with ``ip -batch``; the containerlab export
writes the same commands as the FRR node's ``exec`` list, so a lab run tests what a
containerlab user gets.

Devices on ``junos`` or ``nxos`` run here as *FRR twins*: the same addresses, ASNs, VNIs and
route targets from the same intent, with the hardware port names made Linux names
(:func:`twin_port`: ``xe-0/0/0`` -> ``xe-0-0-0``, ``Ethernet1/49`` -> ``Ethernet1-49``).

Test hosts: one per (network, leaf carrying it), named ``h-<network>-<leaf>``, cabled to
the leaf's port ``h<n>`` (n: the network's position) in that VLAN's bridge, addressed from the top of the network
(IPv4: broadcast - n, IPv6: network + 0xff00 + n, n the leaf's position in the network's
leaf list; node and gateway addresses skipped; a full network has hosts on its first leaves
only), default route via the anycast gateway.

Servers (the inventory's ``servers``): one namespace ``s-<server>`` each, its NICs
``eth1``, ``eth2`` ... cabled to the leaf ports of its links (in link order). With ``bonds``
(a kernel with the bonding driver, and every containerlab host) each LAG is a Linux bond on
the leaf (``bond<N>``, 802.3ad, dual-homed ones with the segment's LACP system id as
``ad_actor_system`` so the server sees one partner) and the server bonds its NICs
(``bond0``); without, the leaf ports go straight into the bridge and the server's first NIC
carries the address while the others stand by with the same MAC (what an active-backup bond
does). The server is addressed in its untagged network (a trunk without a native network:
its first network, on a VLAN sub-interface) from the bottom of the subnet. On a kernel
without 802.1Q VLAN devices (``vlan_devices=False``, this lab machine's) only one VLAN
crosses a server cable, untagged: the native one, or a trunk's first network.

The Kubernetes nodes' anycast DNS service (the ShowNet case) listens on
:func:`dns_service_address`: the first IPv4 service range of the cluster plus 53.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface
from typing import Any

from fabric.design.intent import K8sCluster, ServerAttachment
from fabric.export.view import NODE_PORT, FabricView, Segment
from fabric.platforms import Platform

IFNAME_MAX = 15
_IFNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,14}$")

HOST_PORT = NODE_PORT
"""The NIC of a test host or Kubernetes node towards its leaf."""

DNS_PORT = 53


class TopologyError(ValueError):
    """The fabric cannot be laid out as a lab (a name Linux cannot take, no address left)."""


def twin_port(port: str) -> str:
    """The Linux interface name an FRR twin uses for hardware port ``port``."""
    name = port.replace("/", "-").replace(":", "-")
    if not _IFNAME_RE.match(name):
        raise TopologyError(f"port {port!r} gives no Linux interface name ({name!r}: at most {IFNAME_MAX} characters)")
    return name


def host_port(index: int) -> str:
    """The leaf's port towards the test host of the ``index``-th network (1-based,
    inventory order; not the VLAN, so moving a network to another VLAN keeps its cables)."""
    return f"h{index}"


def bridge_name(vlan: int) -> str:
    """The bridge of VLAN ``vlan``: also the SVI that carries the anycast gateway
    (the FRR renderer's ``svi_name``)."""
    return f"vlan{vlan}"


def vxlan_name(vni: int) -> str:
    return f"vxlan{vni}"


def dns_service_address(cluster: K8sCluster) -> IPv4Address | None:
    """The cluster's anycast DNS address in the lab: its first IPv4 service range + 53
    (None when the cluster has no IPv4 range large enough)."""
    for r in cluster.service_ranges:
        if isinstance(r, IPv4Network) and r.num_addresses > DNS_PORT + 1:
            return r.network_address + DNS_PORT
    return None


def dns_name(cluster: str) -> str:
    """The name every resolver of ``cluster`` answers in the lab (with its node's address)."""
    return f"whoami.{cluster}.lab."


@dataclass(frozen=True)
class TopoLink:
    """One cable: ``a`` and ``b`` are node names, ``a_if``/``b_if`` Linux interface names."""

    a: str
    a_if: str
    b: str
    b_if: str
    mtu: int
    kind: str
    """``fabric``, ``dci``, ``access`` (a Kubernetes node) or ``host`` (a test host)."""


@dataclass(frozen=True)
class TopoBridge:
    """The Linux side of one L2 VNI on a leaf: bridge ``vlan<N>`` (the SVI), VXLAN device,
    and the access / host ports in it."""

    vlan: int
    vni: int
    mtu: int
    members: tuple[str, ...]


def bridge_commands(b: TopoBridge, vtep: IPv4Address, gateway_mac: str) -> list[str]:
    """``ip`` commands creating ``b`` (without the leading ``ip``)."""
    br, vx = bridge_name(b.vlan), vxlan_name(b.vni)
    cmds = [
        f"link add {br} type bridge",
        f"link set {br} address {gateway_mac}",
        f"link add {vx} type vxlan id {b.vni} local {vtep} dstport 4789 nolearning",
        f"link set {vx} mtu {b.mtu}",
        f"link set {vx} master {br}",
        f"link set {vx} up",
    ]
    cmds += [f"link set {m} master {br}" for m in b.members]
    cmds.append(f"link set {br} up")
    return cmds


def bridge_changes(old: tuple[TopoBridge, ...], new: tuple[TopoBridge, ...], vtep: IPv4Address,
                   gateway_mac: str) -> tuple[list[str], list[str]]:
    """``ip`` commands turning a leaf's bridges ``old`` into ``new`` (pure), in two parts:
    what to run before FRR gets its new config (new bridges; VXLAN devices and ports moved
    into the bridge of their new VLAN: a VNI keeps its device) and what to run after it
    (bridges and VXLAN devices no longer used), so that FRR always removes an SVI's
    addresses while the SVI still exists."""
    olds = {b.vlan: b for b in old}
    old_vnis = {b.vni for b in old}
    new_vnis = {b.vni for b in new}
    before: list[str] = []
    for b in new:
        if olds.get(b.vlan) == b:
            continue
        br, vx = bridge_name(b.vlan), vxlan_name(b.vni)
        if b.vlan not in olds:
            before += [f"link add {br} type bridge", f"link set {br} address {gateway_mac}"]
        if b.vni not in old_vnis:
            before.append(f"link add {vx} type vxlan id {b.vni} local {vtep} dstport 4789 nolearning")
        before += [f"link set {vx} mtu {b.mtu}", f"link set {vx} master {br}", f"link set {vx} up"]
        before += [f"link set {m} master {br}" for m in b.members]
        before.append(f"link set {br} up")
    news = {b.vlan for b in new}
    after = [f"link del {vxlan_name(v)}" for v in sorted(old_vnis - new_vnis)]
    after += [f"link del {bridge_name(b.vlan)}" for b in old if b.vlan not in news]
    return before, after


@dataclass(frozen=True)
class TopoRouter:
    """A switch: FRR in its own namespace (a twin when ``platform`` is not ``frr``)."""

    name: str
    role: str
    platform: Platform
    ports: dict[str, str]
    """Hardware port -> Linux interface name (identity for FRR devices)."""
    setup: tuple[str, ...]
    """``ip`` commands (without the leading ``ip``) run after the cables exist."""
    vtep: IPv4Address | None
    bridges: tuple[TopoBridge, ...] = ()

    @property
    def twin(self) -> bool:
        return self.platform != "frr"


@dataclass(frozen=True)
class TopoHost:
    """A test host: one per (network, leaf)."""

    name: str
    leaf: str
    network: str
    vlan: int
    address4: IPv4Interface | None
    address6: IPv6Interface | None
    gateway4: IPv4Address | None
    gateway6: IPv6Address | None


@dataclass(frozen=True)
class TopoK8sNode:
    """A Kubernetes node: bgp-agent, ExaBGP and the cluster's anycast DNS resolver."""

    name: str
    cluster: str
    leaf: str
    address4: IPv4Interface | None
    address6: IPv6Interface | None
    gateway4: IPv4Address | None
    gateway6: IPv6Address | None
    dns_address: IPv4Address | None
    dns_name: str


@dataclass(frozen=True)
class TopoServer:
    """A server of the inventory: its NICs towards its leaves, bonded or standing by."""

    name: str
    """The namespace's node name: ``s-<server>``."""
    server: str
    network: str
    nics: tuple[str, ...]
    bond: bool
    """The NICs form ``bond0`` (802.3ad); else the first carries the address, the rest stand by."""
    vlan: int | None
    """Tagged VLAN of the address (a trunk without a native network), else None."""
    address4: IPv4Interface | None
    address6: IPv6Interface | None
    gateway4: IPv4Address | None
    gateway6: IPv6Address | None
    mac: str
    """The MAC every NIC (or the bond) uses."""

    @property
    def interface(self) -> str:
        """The interface carrying the address."""
        base = "bond0" if self.bond else self.nics[0]
        return f"{base}.{self.vlan}" if self.vlan is not None else base

    def setup(self) -> tuple[str, ...]:
        """``ip`` commands (without ``ip``) that build the server's side."""
        cmds: list[str] = []
        for nic in self.nics:
            cmds += [f"link set {nic} down", f"link set {nic} address {self.mac}"]
        if self.bond:
            cmds.append("link add bond0 type bond mode 802.3ad lacp_rate fast miimon 100")
            cmds.append(f"link set bond0 address {self.mac}")
            cmds += [f"link set {nic} master bond0" for nic in self.nics]
            cmds += [f"link set {nic} up" for nic in self.nics]
            cmds.append("link set bond0 up")
            base = "bond0"
        else:
            cmds.append(f"link set {self.nics[0]} up")  # the others stand by (down)
            base = self.nics[0]
        dev = base
        if self.vlan is not None:
            dev = f"{base}.{self.vlan}"
            cmds += [f"link add link {base} name {dev} type vlan id {self.vlan}", f"link set {dev} up"]
        if self.address4 is not None:
            cmds.append(f"addr add {self.address4} dev {dev}")
        if self.address6 is not None:
            cmds.append(f"addr add {self.address6} dev {dev}")
        if self.gateway4 is not None and self.address4 is not None:
            cmds.append(f"route add default via {self.gateway4}")
        if self.gateway6 is not None and self.address6 is not None:
            cmds.append(f"route add ::/0 via {self.gateway6}")
        return tuple(cmds)


def server_mac(index: int) -> str:
    """The MAC of the ``index``-th server (1-based): locally administered, lab only."""
    return f"02:5e:00:00:{index >> 8 & 0xFF:02x}:{index & 0xFF:02x}"


@dataclass(frozen=True)
class LabTopology:
    """Everything a lab of the fabric consists of, in a fixed order."""

    fabric: str
    routers: tuple[TopoRouter, ...]
    k8s_nodes: tuple[TopoK8sNode, ...]
    hosts: tuple[TopoHost, ...]
    links: tuple[TopoLink, ...]
    hosts_left_out: int = 0
    """Test hosts not laid out: more than ``max_hosts`` of :func:`lab_topology`."""
    externals: tuple[Any, ...] = ()
    """External routers (:class:`fabric.lab.external.TopoExternal`): only the netns lab
    builds them (``fabric lab up``), the containerlab export leaves them out."""
    servers: tuple[TopoServer, ...] = ()

    def router(self, name: str) -> TopoRouter:
        for r in self.routers:
            if r.name == name:
                return r
        raise KeyError(name)

    @property
    def node_names(self) -> tuple[str, ...]:
        return (*(r.name for r in self.routers), *(n.name for n in self.k8s_nodes), *(h.name for h in self.hosts),
                *(x.name for x in self.externals), *(s.name for s in self.servers))


def _host_addresses(seg: Segment, nodes4: frozenset[int], nodes6: frozenset[int],
                    ) -> dict[str, tuple[int | None, int | None]]:
    """One test host address per leaf of ``seg``: IPv4 from the top of the subnet down,
    IPv6 from ``::ff01`` up, skipping the gateway and the Kubernetes nodes' addresses
    (``nodes4``/``nodes6`` as integers). A full IPv4 subnet ends the list. Integers, not
    address objects: a 256-leaf fabric with 500 networks has 128,000 of them."""
    g4, g6 = seg.gateway4, seg.gateway6
    taken4 = set(nodes4)
    taken6 = set(nodes6)
    c4 = low4 = c6 = 0
    if g4 is not None:
        taken4.add(int(g4))
        low4 = int(g4.network.network_address)
        c4 = low4 + g4.network.num_addresses - 2  # the broadcast address - 1
    if g6 is not None:
        taken6.add(int(g6))
        c6 = int(g6.network.network_address) + 0xFF00
    out: dict[str, tuple[int | None, int | None]] = {}
    for leaf in seg.leaves:
        a4: int | None = None
        a6: int | None = None
        if g4 is not None:
            while c4 in taken4:
                c4 -= 1
            if c4 <= low4:
                break  # the network is full: the remaining leaves get no test host
            a4 = c4
            taken4.add(c4)
        if g6 is not None:
            c6 += 1
            while c6 in taken6:
                c6 += 1
            a6 = c6
            taken6.add(c6)
        out[leaf] = (a4, a6)
    return out


def lab_topology(view: FabricView, twins: bool = True, max_hosts: int | None = None, bonds: bool = True,
                 vlan_devices: bool = True) -> LabTopology:
    """Lay ``view`` out as a lab. Raises :class:`TopologyError` for a name Linux cannot take.

    ``twins=False`` lays out only what runs as FRR itself (containerlab runs Junos and
    NX-OS devices as vendor images): test hosts and bridges of FRR devices only (servers
    are laid out on every leaf: they are cabled to the vendor images too). With
    ``max_hosts``, more test hosts than that means none (counted in ``hosts_left_out``).
    ``bonds=False`` for a kernel without the bonding driver, ``vlan_devices=False`` for one
    without 802.1Q VLAN devices (see the module doc)."""
    ports: dict[str, dict[str, str]] = {}

    def port(device: str, name: str) -> str:
        dev = view.device(device)
        mapped = name if dev.platform == "frr" else twin_port(name)
        if dev.platform == "frr" and not _IFNAME_RE.match(mapped):
            raise TopologyError(f"{device}: port {name!r} is not a Linux interface name")
        ports.setdefault(device, {})[name] = mapped
        return mapped

    links: list[TopoLink] = []
    for k in view.links:
        links.append(TopoLink(k.a.device, port(k.a.device, k.a.port), k.b.device, port(k.b.device, k.b.port),
                              k.mtu, k.kind))
    for n in view.access:
        seg = view.segment_index.get(n.network)
        links.append(TopoLink(n.leaf, port(n.leaf, n.port), n.name, HOST_PORT, seg.mtu if seg else view.mtu, "access"))
    def laid_out(device: str) -> bool:
        return twins or view.device(device).platform == "frr"

    nodes4 = frozenset(int(n.address) for n in view.nodes)
    nodes6 = frozenset(int(n.address6) for n in view.nodes if n.address6 is not None)
    wanted: list[tuple[int, Segment, str, int | None, int | None]] = []
    for index, seg in enumerate(view.segments, 1):
        here = [leaf for leaf in seg.leaves if laid_out(leaf)]
        if not here:
            continue  # no host of this network is laid out (the addresses would be thrown away)
        addrs = _host_addresses(seg, nodes4, nodes6)
        wanted += [(index, seg, leaf, *addrs[leaf]) for leaf in here if leaf in addrs]
    left_out = len(wanted) if max_hosts is not None and len(wanted) > max_hosts else 0
    hosts: list[TopoHost] = []
    for index, seg, leaf, a4, a6 in () if left_out else wanted:
        name = f"h-{seg.name}-{leaf}"
        g4, g6 = seg.gateway4, seg.gateway6
        hosts.append(TopoHost(name, leaf, seg.name, seg.vlan,
                              IPv4Interface((a4, g4.network.prefixlen)) if g4 is not None and a4 is not None else None,
                              IPv6Interface((a6, g6.network.prefixlen)) if g6 is not None and a6 is not None else None,
                              g4.ip if g4 else None, g6.ip if g6 else None))
        links.append(TopoLink(leaf, host_port(index), name, HOST_PORT, seg.mtu, "host"))
    # the access and host ports of each leaf by VLAN, in link order (one pass: a 256-leaf
    # fabric has hundreds of thousands of (device, VNI, link) combinations)
    host_vlan = {h.name: h.vlan for h in hosts}
    node_vlan = {n.name: n.vlan for n in view.nodes}
    members_of: dict[tuple[str, int | None], list[str]] = defaultdict(list)
    for lk in links:
        if lk.kind in ("access", "host"):
            vlan = host_vlan.get(lk.b) if lk.kind == "host" else node_vlan.get(lk.b)
            members_of[(lk.a, vlan)].append(lk.a_if)
    servers, server_cmds, server_members = _servers(view, bonds, vlan_devices, hosts, links, port)
    routers: list[TopoRouter] = []
    for d in view.devices:
        cmds: list[str] = list(server_cmds.get(d.name, ())) if laid_out(d.name) else []
        bridges: list[TopoBridge] = []
        if d.vtep is not None and laid_out(d.name):
            for net, _stitched in view.device_vnis.get(d.name, ()):
                seg = view.segment_index[net]
                members = tuple(members_of.get((d.name, seg.vlan), ()))
                members += tuple(server_members.get((d.name, seg.vlan), ()))
                b = TopoBridge(seg.vlan, seg.vni, seg.mtu, members)
                bridges.append(b)
                cmds += bridge_commands(b, d.vtep, view.gateway_mac)
        routers.append(TopoRouter(d.name, d.role, d.platform, dict(ports.get(d.name, {})), tuple(cmds), d.vtep,
                                  tuple(bridges)))
    k8s: list[TopoK8sNode] = []
    for cl in view.clusters:
        dns = dns_service_address(cl)
        for n in view.cluster_nodes(cl):
            k8s.append(TopoK8sNode(n.name, cl.name, n.leaf, n.address, n.address6, n.gateway4, n.gateway6,
                                   dns, dns_name(cl.name)))
    return LabTopology(view.name, tuple(routers), tuple(k8s), tuple(hosts), tuple(links), hosts_left_out=left_out,
                       servers=tuple(servers))


def _servers(
    view: FabricView, bonds: bool, vlan_devices: bool, hosts: list[TopoHost], links: list[TopoLink],
    port: Callable[[str, str], str],
) -> tuple[list[TopoServer], dict[str, list[str]], dict[tuple[str, int], list[str]]]:
    """The server namespaces, their cables (appended to ``links``), each leaf's ``ip``
    commands for its server ports (bonds, VLAN sub-interfaces) and each (leaf, VLAN)'s
    bridge members."""
    by_server: dict[str, list[tuple[str, ServerAttachment]]] = {}
    for leaf, atts in view.server_attachments.items():
        for a in atts:
            by_server.setdefault(a.server, []).append((leaf, a))
    nic_of = {(c.leaf, c.port): c.nic for c in view.server_cables}
    cmds: dict[str, list[str]] = {}
    members: dict[tuple[str, int], list[str]] = {}
    taken4: set[IPv4Address] = {h.address4.ip for h in hosts if h.address4 is not None}
    taken4 |= {n.address.ip for n in view.nodes}
    taken6: set[IPv6Address] = {h.address6.ip for h in hosts if h.address6 is not None}
    out: list[TopoServer] = []
    for index, (server, parts) in enumerate(sorted(by_server.items()), 1):
        name = f"s-{server}"
        first = parts[0][1]
        nics: list[str] = []
        for leaf, a in parts:
            leaf_ifs = [port(leaf, p) for p in a.ports]
            for p, lif in zip(a.ports, leaf_ifs, strict=True):
                nic = nic_of[(leaf, p)]  # the cabling plan's name for it
                nics.append(nic)
                links.append(TopoLink(leaf, lif, name, nic, a.mtu, "server"))
            access = leaf_ifs
            if a.lag is not None and bonds:
                bond = f"bond{a.lag}"
                c = [f"link add {bond} type bond mode 802.3ad lacp_rate {'fast' if a.lacp_fast else 'slow'} miimon 100"]
                if a.segment is not None:
                    c[0] += f" ad_actor_system {a.segment.system_mac}"
                for lif in leaf_ifs:
                    c += [f"link set {lif} down", f"link set {lif} master {bond}", f"link set {lif} up"]
                c.append(f"link set {bond} up")
                cmds.setdefault(leaf, []).extend(c)
                access = [bond]
            # without VLAN devices only one VLAN crosses the cable, untagged: the native one,
            # or a trunk's first network
            untagged_here = a.vlan if a.vlan is not None or vlan_devices else a.vlans[0]
            crossing = a.vlans if vlan_devices else (a.vlan if a.vlan is not None else a.vlans[0],)
            for vlan in crossing:
                for base in access:
                    if vlan == untagged_here:
                        members.setdefault((leaf, vlan), []).append(base)
                    else:  # a tagged VLAN: a sub-interface, named short (twin port names are long)
                        sub = f"p{sum(1 for c in cmds.get(leaf, ()) if ' type vlan ' in c) + 1}v{vlan}"
                        _check_name(sub)
                        cmds.setdefault(leaf, []).extend([f"link add link {base} name {sub} type vlan id {vlan}",
                                                          f"link set {sub} up"])
                        members.setdefault((leaf, vlan), []).append(sub)
        vlan_of = {s.vlan: s for s in view.segments}
        untagged = first.vlan if first.vlan is not None else first.vlans[0]
        tagged = first.vlan is None and vlan_devices
        seg = vlan_of[untagged]
        a4 = _lowest_free4(seg, taken4)
        a6 = _lowest_free6(seg, taken6)
        bonded = bonds and first.lag is not None
        out.append(TopoServer(name, server, seg.name, tuple(nics), bonded, untagged if tagged else None,
                              a4, a6, seg.gateway4.ip if seg.gateway4 and a4 else None,
                              seg.gateway6.ip if seg.gateway6 and a6 else None, server_mac(index)))
    return out, cmds, members


def _check_name(name: str) -> None:
    if not _IFNAME_RE.match(name):
        raise TopologyError(f"{name!r} cannot be a Linux name (letters, digits, '.', '_', '-'; at most {IFNAME_MAX})")


def _lowest_free4(seg: Segment, taken: set[IPv4Address]) -> IPv4Interface | None:
    if seg.gateway4 is None:
        return None
    net = seg.gateway4.network
    taken.add(seg.gateway4.ip)
    for a in net.hosts():
        if a not in taken:
            taken.add(a)
            return IPv4Interface(f"{a}/{net.prefixlen}")
    return None


def _lowest_free6(seg: Segment, taken: set[IPv6Address]) -> IPv6Interface | None:
    if seg.gateway6 is None:
        return None
    net = seg.gateway6.network
    taken.add(seg.gateway6.ip)
    for i in range(2, 0xFF00):
        a = net.network_address + i
        if a not in taken:
            taken.add(a)
            return IPv6Interface(f"{a}/{net.prefixlen}")
    return None



def host_setup(address4: IPv4Interface | None, address6: IPv6Interface | None, gateway4: IPv4Address | None,
               gateway6: IPv6Address | None) -> tuple[str, ...]:
    """``ip`` commands (without ``ip``) that address a host's or node's NIC and point its
    default routes at the anycast gateway."""
    cmds: list[str] = []
    if address4 is not None:
        cmds.append(f"addr add {address4} dev {HOST_PORT}")
    if address6 is not None:
        cmds.append(f"addr add {address6} dev {HOST_PORT}")
    cmds.append(f"link set {HOST_PORT} up")
    if gateway4 is not None and address4 is not None:
        cmds.append(f"route add default via {gateway4}")
    if gateway6 is not None and address6 is not None:
        cmds.append(f"route add ::/0 via {gateway6}")
    return tuple(cmds)
