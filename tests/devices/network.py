"""What the test devices of one fabric learn from each other: a :class:`Network` they join.

A test device alone knows only its own configuration. Devices started with the same
``network=Network()`` also see each other's *committed* configurations, and derive from
them, the way the protocols would:

- **BGP sessions**: a neighbor address that belongs to another member's interface (same
  routing instance) is ``Established`` only if that member has a neighbor towards one of
  this device's addresses with a common address family (``inet``/``ipv4 unicast``,
  ``inet6``/``ipv6 unicast``, ``evpn``/``l2vpn evpn``), each side's ``peer-as``/``remote-as``
  is the other's AS, and neither side has the ``sessions_down_after_commit`` fault active.
  A neighbor that no member owns is up only if a :class:`Speaker` added to the network (a
  Kubernetes node, with its address, AS and the addresses it peers with) is cabled to this
  device and matches; Junos dynamic neighbors (``allow``) are the speakers inside the
  prefixes. Anything else never answers (``Active``/``Idle``). A device without a network
  answers as before: every configured neighbor ``Established`` unless the fault fired.
- **EVPN**: a VNI's remote VTEPs are the VTEP addresses of the other members that have the
  same VNI and are reachable from this device through established EVPN sessions (route
  servers in between pass the routes on). Route types, route targets and MAC/IP routes are
  not modelled.
- **Underlay routes** (``bgp``, default instance): each member originates, per family, the
  prefixes its configuration announces: NX-OS the ``network`` statements of ``router bgp``'s
  ``address-family ipv4|ipv6 unicast``; Junos the addresses of ``lo0.0`` (what the fabric's
  ``UNDERLAY-EXPORT`` policy exports; routing policies are not evaluated). A member learns a
  prefix along the shortest chains of established sessions of that family, with every
  equal-length first hop as an ECMP next hop (the fabric's configs enable multipath); AS-path
  loop prevention, MED and local preference are not modelled. Tenant (VRF) routes learned
  over EVPN type-5 are not modelled either.

Configurations are read through small per-platform extractors (:func:`junos_view`,
:func:`nxos_view`) into one :class:`View`; a view is computed once per committed tree.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Interface, IPv6Interface, ip_address, ip_interface, ip_network
from typing import Any, Protocol

__all__ = ["Network", "RibEntry", "View", "junos_view", "nxos_view", "rib"]

Family = str  # "inet", "inet6", "evpn"


@dataclass(frozen=True)
class IfAddr:
    interface: str
    instance: str  # "default" or the VRF / routing instance
    address: IPv4Interface | IPv6Interface


@dataclass(frozen=True)
class Neighbor:
    instance: str
    address: str  # normalized text
    peer_as: str
    families: frozenset[Family]


@dataclass(frozen=True)
class Static:
    instance: str
    prefix: str
    next_hop: str


@dataclass(frozen=True)
class Speaker:
    """A BGP speaker outside the fabric (a Kubernetes node) cabled to one member: it opens
    sessions from ``address`` with AS ``asn`` to the member addresses in ``peers``."""

    address: str
    asn: str
    peers: tuple[str, ...]
    attached: str
    """The hostname of the member it is cabled to."""


@dataclass(frozen=True)
class View:
    """The parts of one device's committed configuration the network derives state from."""

    local_as: str = ""
    interfaces: tuple[IfAddr, ...] = ()
    neighbors: tuple[Neighbor, ...] = ()
    vtep: str = ""
    l2vnis: dict[int, int | None] = field(default_factory=dict)
    """VNI -> VLAN."""
    l3vnis: dict[int, str] = field(default_factory=dict)
    """VNI -> VRF."""
    originated: tuple[str, ...] = ()
    statics: tuple[Static, ...] = ()

    def owns(self, instance: str, address: str) -> bool:
        return any(i.instance == instance and str(i.address.ip) == address for i in self.interfaces)

    @property
    def vnis(self) -> set[int]:
        return set(self.l2vnis) | set(self.l3vnis)


class Member(Protocol):
    """What a device offers the network (both test devices implement it)."""

    hostname: str

    def view(self) -> View: ...

    @property
    def sessions_down(self) -> bool: ...


def _norm(addr: str) -> str:
    try:
        return str(ip_address(addr))
    except ValueError:
        return addr


def _family_of(addr: str) -> Family:
    try:
        return "inet6" if ip_address(addr).version == 6 else "inet"
    except ValueError:
        return "inet"


class Network:
    """The members of one test fabric (see the module docstring). Thread-safe; members
    join when they start (``JunosDevice(..., network=net)``) and leave when they stop."""

    def __init__(self) -> None:
        self.mu = threading.Lock()
        self.members: dict[int, Member] = {}
        self.speakers: list[Speaker] = []

    def add_speaker(self, address: str, asn: int | str, peers: Iterable[str], attached: str) -> None:
        """A BGP speaker outside the fabric (see :class:`Speaker`)."""
        with self.mu:
            self.speakers.append(Speaker(_norm(address), str(asn), tuple(_norm(p) for p in peers), attached))

    def _speaker_up(self, dev: Member, view: View, instance: str, address: str, peer_as: str) -> bool:
        if dev.sessions_down:
            return False
        with self.mu:
            speakers = list(self.speakers)
        return any(sp.address == address and sp.attached == dev.hostname and sp.asn == peer_as
                   and any(view.owns(instance, p) for p in sp.peers) for sp in speakers)

    def dynamic_peers(self, dev: Member, instance: str, allow: Iterable[str],
                      accepts: Callable[[str], bool]) -> list[tuple[str, str]]:
        """(address, AS) of the speakers that open sessions to ``dev`` from inside the
        ``allow`` prefixes of a Junos BGP group whose ``peer-as``/``peer-as-list``
        ``accepts`` their AS: the group's dynamic neighbors."""
        nets = [ip_network(a, strict=False) for a in allow]
        with self.mu:
            speakers = list(self.speakers)
        view = dev.view()
        return [(sp.address, sp.asn) for sp in speakers
                if sp.attached == dev.hostname and accepts(sp.asn) and any(view.owns(instance, p) for p in sp.peers)
                and any(ip_address(sp.address) in n for n in nets if n.version == ip_address(sp.address).version)]

    def join(self, dev: Member) -> None:
        with self.mu:
            self.members[id(dev)] = dev

    def leave(self, dev: Member) -> None:
        with self.mu:
            self.members.pop(id(dev), None)

    def _snapshot(self) -> list[tuple[Member, View]]:
        with self.mu:
            members = list(self.members.values())
        return [(m, m.view()) for m in members]

    # -- sessions ---------------------------------------------------------------------------------

    @staticmethod
    def _owner(snap: list[tuple[Member, View]], n: Neighbor) -> tuple[Member, View] | None:
        return next(((m, v) for m, v in snap if v.owns(n.instance, n.address)), None)

    @staticmethod
    def _up(me: tuple[Member, View], n: Neighbor, peer: tuple[Member, View]) -> bool:
        (dev, view), (pdev, pview) = me, peer
        if dev.sessions_down or pdev.sessions_down or n.peer_as != pview.local_as:
            return False
        for back in pview.neighbors:
            if back.instance == n.instance and view.owns(n.instance, back.address) and back.peer_as == view.local_as \
                    and back.families & n.families:
                return True
        return False

    def session_state(self, dev: Member, n: Neighbor) -> bool:
        """Whether ``dev``'s session to ``n`` is up: towards a member, both configured
        (see the module docstring); towards a speaker, the speaker peers with this address;
        towards anything else, never (nobody answers)."""
        snap = self._snapshot()
        me = next(((m, v) for m, v in snap if m is dev), None)
        if me is None:
            return False
        peer = self._owner(snap, n)
        if peer is None:
            return self._speaker_up(dev, me[1], n.instance, n.address, n.peer_as)
        return self._up(me, n, peer)

    def _edges(self, snap: list[tuple[Member, View]], family: Family) -> dict[int, list[tuple[int, str]]]:
        """member index -> [(peer index, neighbor address)] over established sessions of ``family``."""
        edges: dict[int, list[tuple[int, str]]] = {i: [] for i in range(len(snap))}
        index = {id(m): i for i, (m, _) in enumerate(snap)}
        for i, (m, v) in enumerate(snap):
            for n in v.neighbors:
                if n.instance != "default" or family not in n.families:
                    continue
                peer = self._owner(snap, n)
                if peer is not None and self._up((m, v), n, peer):
                    edges[i].append((index[id(peer[0])], n.address))
        return edges

    # -- EVPN -------------------------------------------------------------------------------------

    def remote_vteps(self, dev: Member) -> dict[int, list[str]]:
        """VNI -> the remote VTEPs ``dev`` learned over EVPN."""
        snap = self._snapshot()
        me = next((i for i, (m, _) in enumerate(snap) if m is dev), None)
        if me is None:
            return {}
        edges = self._edges(snap, "evpn")
        seen, todo = {me}, deque([me])
        while todo:
            for nxt, _ in edges[todo.popleft()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        mine = snap[me][1]
        out: dict[int, list[str]] = {}
        for i in sorted(seen - {me}):
            v = snap[i][1]
            if not v.vtep or v.vtep == mine.vtep:
                continue
            for vni in mine.vnis & v.vnis:
                out.setdefault(vni, []).append(v.vtep)
        return out

    # -- underlay routes --------------------------------------------------------------------------

    def bgp_routes(self, dev: Member, family: Family) -> dict[str, list[str]]:
        """Prefix -> next hops of the default instance's BGP routes of ``family`` at ``dev``."""
        snap = self._snapshot()
        me = next((i for i, (m, _) in enumerate(snap) if m is dev), None)
        if me is None:
            return {}
        edges = self._edges(snap, family)
        want = 6 if family == "inet6" else 4
        origins: dict[str, set[int]] = {}
        for i, (_, v) in enumerate(snap):
            for p in v.originated:
                if ip_network(p, strict=False).version == want:
                    origins.setdefault(str(ip_network(p, strict=False)), set()).add(i)
        reverse: dict[int, list[int]] = {i: [] for i in range(len(snap))}
        for i, outs in edges.items():
            for j, _ in outs:
                reverse[j].append(i)
        out: dict[str, list[str]] = {}
        for prefix, srcs in origins.items():
            if me in srcs:
                continue
            # distance of every member from the nearest origin, along sessions towards it
            dist = {s: 0 for s in srcs}
            todo = deque(srcs)
            while todo:
                cur = todo.popleft()
                for prev in reverse[cur]:
                    if prev not in dist:
                        dist[prev] = dist[cur] + 1
                        todo.append(prev)
            if me not in dist:
                continue
            hops = [addr for nxt, addr in edges[me] if dist.get(nxt, -1) == dist[me] - 1]
            if hops:
                out[prefix] = hops
        return out


# -- extractors ---------------------------------------------------------------------------------


def _iface(text: str) -> IPv4Interface | IPv6Interface | None:
    try:
        return ip_interface(text)
    except ValueError:
        return None


def junos_view(tree: Any) -> View:
    """A :class:`View` of a Junos test device's tree (``tests.devices.junos_config.Node``)."""

    def kids(node: Any) -> dict[Any, Any]:
        return (node.children or {}) if node is not None else {}

    def find(node: Any, *path: tuple[str, ...]) -> Any:
        for key in path:
            node = kids(node).get(key)
            if node is None:
                return None
        return node

    def value(node: Any, key: str) -> str:
        leaf = kids(node).get((key,))
        if leaf is None or leaf.children is not None or len(leaf.words) < 2:
            return ""
        return str(leaf.words[1])

    instance_of: dict[str, str] = {}
    ris = find(tree, ("routing-instances",))
    for ri in kids(ris).values():
        for k in kids(ri):
            if k[0] == "interface" and len(k) > 1:
                instance_of[k[1]] = ri.words[0]
    interfaces: list[IfAddr] = []
    for itf in kids(find(tree, ("interfaces",))).values():
        for ukey, unit in kids(itf).items():
            if ukey[0] != "unit" or len(ukey) < 2:
                continue
            name = f"{itf.words[0]}.{ukey[1]}"
            for fkey, fam in kids(unit).items():
                if fkey[0] != "family" or fkey[1:] not in (("inet",), ("inet6",)):
                    continue
                for akey in kids(fam):
                    if akey[0] == "address" and len(akey) > 1 and (a := _iface(akey[1])) is not None:
                        interfaces.append(IfAddr(name, instance_of.get(name, "default"), a))
    local_as = value(find(tree, ("routing-options",)), "autonomous-system")
    neighbors: list[Neighbor] = []

    def bgp(node: Any, instance: str) -> None:
        for gkey, g in kids(node).items():
            if gkey[0] != "group":
                continue
            fams = frozenset(k[1] for k in kids(g) if k[0] == "family" and len(k) > 1)
            g_as = value(g, "peer-as")
            for nkey, n in kids(g).items():
                if nkey[0] == "neighbor" and len(nkey) > 1:
                    addr = _norm(nkey[1])
                    nfams = frozenset(k[1] for k in kids(n) if k[0] == "family" and len(k) > 1) or fams
                    neighbors.append(Neighbor(instance, addr, value(n, "peer-as") or g_as or local_as,
                                              nfams or frozenset({_family_of(addr)})))

    bgp(find(tree, ("protocols",), ("bgp",)), "default")
    for ri in kids(ris).values():
        bgp(find(ri, ("protocols",), ("bgp",)), ri.words[0])
    vtep = ""
    src = value(find(tree, ("switch-options",)), "vtep-source-interface")
    if src:
        addrs = [i for i in interfaces if i.interface == src and i.address.version == 4]
        vtep = str(addrs[0].address.ip) if addrs else ""
        itf_name, _, unit_no = src.partition(".")
        fam = find(tree, ("interfaces",), (itf_name,), ("unit", unit_no or "0"), ("family", "inet"))
        primary = [k[1] for k, a in kids(fam).items() if k[0] == "address" and ("primary",) in kids(a)]
        if primary and (p := _iface(primary[0])) is not None:
            vtep = str(p.ip)
    l2: dict[int, int | None] = {}
    for vlan in kids(find(tree, ("vlans",))).values():
        vni = value(find(vlan, ("vxlan",)), "vni")
        vid = value(vlan, "vlan-id")
        if vni.isdigit():
            l2[int(vni)] = int(vid) if vid.isdigit() else None
    l3: dict[int, str] = {}
    for ri in kids(ris).values():
        evpn = find(ri, ("protocols",), ("evpn",))
        for part in ("irb-symmetric-routing", "ip-prefix-routes"):
            vni = value(find(evpn, (part,)), "vni")
            if vni.isdigit():
                l3[int(vni)] = ri.words[0]
    originated = tuple(str(i.address.network) for i in interfaces if i.interface == "lo0.0")
    statics: list[Static] = []

    def static(ro: Any, instance: str) -> None:
        for rkey, r in kids(find(ro, ("static",))).items():
            if rkey[0] != "route" or len(rkey) < 2:
                continue
            nh = kids(r).get(("next-hop",))
            hops = list(nh.values or nh.words[1:]) if nh is not None else []
            for h in hops:
                statics.append(Static(instance, str(ip_network(rkey[1], strict=False)), _norm(h)))

    static(find(tree, ("routing-options",)), "default")
    for ri in kids(ris).values():
        static(find(ri, ("routing-options",)), ri.words[0])
    return View(local_as, tuple(interfaces), tuple(neighbors), vtep, l2, l3, originated, tuple(statics))


_NX_FAMILIES = {"address-family ipv4 unicast": "inet", "address-family ipv6 unicast": "inet6",
                "address-family l2vpn evpn": "evpn"}


def nxos_view(tree: Any) -> View:
    """A :class:`View` of an NX-OS test device's tree (``tests.devices.nxos_config.Line``)."""
    top = tree.children
    interfaces: list[IfAddr] = []
    for k, line in top.items():
        if not k.startswith("interface "):
            continue
        name = k.split(None, 1)[1]
        vrf = next((c.split()[2] for c in line.children if c.startswith("vrf member ")), "default")
        for c in line.children:
            words = c.split()
            a = _iface(words[2]) if len(words) >= 3 and words[0] in ("ip", "ipv6") and words[1] == "address" else None
            if a is not None:
                interfaces.append(IfAddr(name, vrf, a))
    bgp_key = next((k for k in top if k.startswith("router bgp ")), None)
    local_as = bgp_key.split()[2] if bgp_key else ""
    neighbors: list[Neighbor] = []
    originated: list[str] = []

    def nbrs(mode: Any, instance: str) -> Iterator[Neighbor]:
        for k, n in mode.children.items():
            if k.startswith("neighbor "):
                addr = _norm(k.split()[1])
                remote = next((c.split()[1] for c in n.children if c.startswith("remote-as ")), local_as)
                fams = frozenset(_NX_FAMILIES[c] for c in n.children if c in _NX_FAMILIES)
                yield Neighbor(instance, addr, remote, fams or frozenset({_family_of(addr)}))

    if bgp_key is not None:
        bgp = top[bgp_key]
        neighbors += nbrs(bgp, "default")
        for k, mode in bgp.children.items():
            if k.startswith("vrf "):
                neighbors += nbrs(mode, k.split()[1])
            elif k in ("address-family ipv4 unicast", "address-family ipv6 unicast"):
                originated += [c.split()[1] for c in mode.children if c.startswith("network ")]
    nve = top.get("interface nve1")
    vtep = ""
    if nve is not None:
        src = next((c.split()[1] for c in nve.children if c.startswith("source-interface ")), "")
        addrs = [i for i in interfaces if i.interface.lower() == src.lower() and i.address.version == 4]
        vtep = str(addrs[0].address.ip) if addrs else ""
    vlan_of: dict[int, int] = {}
    for k, line in top.items():
        if k.startswith("vlan ") and k.split()[1].isdigit():
            seg = next((c.split()[1] for c in line.children if c.startswith("vn-segment ")), "")
            if seg.isdigit():
                vlan_of[int(seg)] = int(k.split()[1])
    vrf_of: dict[int, str] = {}
    for k, line in top.items():
        if k.startswith("vrf context "):
            for c in line.children:
                if c.startswith("vni ") and c.split()[1].isdigit():
                    vrf_of[int(c.split()[1])] = k.split()[2]
    l2: dict[int, int | None] = {}
    l3: dict[int, str] = {}
    for c in nve.children if nve is not None else ():
        words = c.split()
        if len(words) >= 3 and words[:2] == ["member", "vni"] and words[2].isdigit():
            if words[3:4] == ["associate-vrf"]:
                l3[int(words[2])] = vrf_of.get(int(words[2]), "")
            else:
                l2[int(words[2])] = vlan_of.get(int(words[2]))
    statics: list[Static] = []

    def routes(lines: Iterable[str], instance: str) -> None:
        for c in lines:
            words = c.split()
            if len(words) >= 4 and words[0] in ("ip", "ipv6") and words[1] == "route":
                try:
                    statics.append(Static(instance, str(ip_network(words[2], strict=False)), _norm(words[3])))
                except ValueError:
                    continue

    routes(top, "default")
    for k, line in top.items():
        if k.startswith("vrf context "):
            routes(line.children, k.split()[2])
    return View(local_as, tuple(interfaces), tuple(neighbors), vtep, l2, l3, tuple(originated), tuple(statics))


@dataclass(frozen=True)
class RibEntry:
    """One active route: ``protocol`` is ``direct``, ``local``, ``static`` or ``bgp``; each
    hop is (next-hop address or "", outgoing interface)."""

    prefix: str
    protocol: str
    hops: tuple[tuple[str, str], ...]


def rib(view: View, instance: str, version: int, bgp: dict[str, list[str]] | None = None) -> list[RibEntry]:
    """The routing table of one instance and IP version: connected subnets (``direct``) and
    the device's own addresses (``local``; a /32 or /128 is only ``direct``) of its
    interfaces, then static routes, then ``bgp`` (prefix -> next hops, from
    :meth:`Network.bgp_routes`), each prefix from the first source that has it."""
    out: dict[str, RibEntry] = {}
    ifs = [i for i in view.interfaces if i.instance == instance and i.address.version == version]
    for i in ifs:
        net = str(i.address.network)
        out.setdefault(net, RibEntry(net, "direct", (("", i.interface),)))
    for i in ifs:
        host = f"{i.address.ip}/{i.address.max_prefixlen}"
        out.setdefault(host, RibEntry(host, "local", (("", i.interface),)))

    def via(hop: str) -> str:
        try:
            a = ip_address(hop)
        except ValueError:
            return ""
        return next((i.interface for i in ifs if a in i.address.network), "")

    for s in view.statics:
        if s.instance == instance and ip_network(s.prefix).version == version and s.prefix not in out:
            hops = tuple((h.next_hop, via(h.next_hop)) for h in view.statics
                         if h.instance == instance and h.prefix == s.prefix)
            out[s.prefix] = RibEntry(s.prefix, "static", hops)
    for prefix, hops in sorted((bgp or {}).items()):
        if prefix not in out:
            out[prefix] = RibEntry(prefix, "bgp", tuple((h, via(h)) for h in sorted(set(hops), key=_key)))
    return sorted(out.values(), key=lambda e: (ip_network(e.prefix).version, ip_network(e.prefix)))


def _key(a: str) -> tuple[int, int]:
    ip = ip_address(a)
    return (ip.version, int(ip))
