"""Cross-checks of an inventory: everything the schema alone cannot see.

Each check is a function registered with :func:`check` naming the top-level sections it
needs; it runs only when those sections passed the schema, so one mistake does not bury
the rest under follow-on errors. Every check yields :class:`~fabric.errors.Problem`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any

from fabric.errors import Problem
from fabric.model import Cluster, Leaf, Link, Network, Pools, Server, Spine, Tenant
from fabric.model.kubernetes import BFD_SPEAKERS, Kubernetes
from fabric.platforms import GENERIC_MODELS, MODELS, VXLAN_OVERHEAD, max_ip_mtu
from fabric.resources.ledger import K8S_LOOPBACKS, RESERVED_VNIS
from fabric.resources.pools import address_pool
from fabric.yamlsrc import PathT, SourceMap

Net = IPv4Network | IPv6Network


@dataclass
class Ctx:
    """What a check sees: the sections that passed the schema, and the source map."""

    sections: dict[str, Any]
    smap: SourceMap
    present: frozenset[str] = frozenset()
    broken: frozenset[str] = frozenset()
    """Names written on list items that failed the schema: they exist, so a reference to
    one is not reported as unknown (the schema problem is reported instead)."""

    def known(self, name: str, names: set[str] | dict[str, Any]) -> bool:
        return name in names or name in self.broken

    def at(self, path: PathT, message: str) -> Problem:
        return self.smap.problem(path, message)

    @property
    def spines(self) -> list[Spine]:
        return list(self.sections.get("spines", []))

    @property
    def leaves(self) -> list[Leaf]:
        return list(self.sections.get("leaves", []))

    @property
    def pools(self) -> Pools:
        p: Pools = self.sections["pools"]
        return p

    @property
    def tenants(self) -> list[Tenant]:
        return list(self.sections.get("tenants", []))

    @property
    def clusters(self) -> list[Cluster]:
        k: Kubernetes | None = self.sections.get("kubernetes")
        return list(k.clusters) if k else []

    def networks(self) -> Iterator[tuple[PathT, Network]]:
        for ti, t in enumerate(self.tenants):
            for ni, n in enumerate(t.networks):
                yield ("tenants", ti, "networks", ni), n


CheckFn = Callable[[Ctx], Iterator[Problem]]
_CHECKS: list[tuple[tuple[str, ...], CheckFn]] = []


def check(*needs: str) -> Callable[[CheckFn], CheckFn]:
    """Register a cross-check that needs the given top-level sections to be valid."""

    def deco(fn: CheckFn) -> CheckFn:
        _CHECKS.append((needs, fn))
        return fn

    return deco


def cross_check(
    sections: dict[str, Any], smap: SourceMap, present: frozenset[str] = frozenset(), broken: frozenset[str] = frozenset()
) -> list[Problem]:
    """Run every check whose sections are valid; return all problems found.
    ``present`` names the top-level keys that were written (valid or not); ``broken`` the
    names of list items that failed the schema (their sections hold only the valid items)."""
    ctx = Ctx(sections, smap, present or frozenset(sections), broken)
    out: list[Problem] = []
    for needs, fn in _CHECKS:
        if all(n in sections for n in needs):
            out.extend(fn(ctx))
    return out


# ---------------------------------------------------------------- devices and names


@check("spines", "leaves")
def _unique_device_names(ctx: Ctx) -> Iterator[Problem]:
    seen: dict[str, PathT] = {}
    for role in ("spines", "leaves"):
        for i, d in enumerate(ctx.sections[role]):
            if d.name in seen:
                first = seen[d.name]
                fname, line = ctx.smap.locate(first)
                yield ctx.at((role, i, "name"), f"duplicate device name {d.name!r} (first at {fname}:{line})")
            else:
                seen[d.name] = (role, i, "name")


@check("spines", "leaves")
def _model_matches_platform(ctx: Ctx) -> Iterator[Problem]:
    for role in ("spines", "leaves"):
        for i, d in enumerate(ctx.sections[role]):
            m = MODELS.get(d.model)
            if m is None:
                yield ctx.at((role, i, "model"), f"unknown model {d.model!r}; known: {', '.join(sorted(MODELS))}")
            elif m.platform != d.platform:
                yield ctx.at((role, i, "model"), f"model {d.model} runs {m.platform}, not {d.platform}")


@check("spines", "leaves")
def _unique_addresses(ctx: Ctx) -> Iterator[Problem]:
    seen: dict[tuple[str, str], PathT] = {}
    for role in ("spines", "leaves"):
        for i, d in enumerate(ctx.sections[role]):
            for attr in ("mgmt", "loopback", "vtep"):
                v = getattr(d, attr, None)
                if v is None:
                    continue
                addr = str(v.ip) if attr == "mgmt" else str(v)
                kind = "mgmt" if attr == "mgmt" else "router"
                if (kind, addr) in seen:
                    fname, line = ctx.smap.locate(seen[(kind, addr)])
                    yield ctx.at((role, i, attr), f"address {addr} is used twice (also at {fname}:{line})")
                else:
                    seen[(kind, addr)] = (role, i, attr)
            for other in ("loopback", "vtep"):
                v = getattr(d, other, None)
                if v is not None and ("router", str(v)) not in seen:
                    seen[("router", str(v))] = (role, i, other)


@check("fabric", "spines", "leaves")
def _sites_and_pairs(ctx: Ctx) -> Iterator[Problem]:
    sites = {s.name: set(s.pods) for s in ctx.sections["fabric"].sites}
    leaves = {lf.name: lf for lf in ctx.leaves}
    for role in ("spines", "leaves"):
        for i, d in enumerate(ctx.sections[role]):
            if d.site is not None and d.site not in sites:
                yield ctx.at((role, i, "site"), f"unknown site {d.site!r}")
            if d.pod is not None and d.site in sites and d.pod not in sites[d.site]:
                yield ctx.at((role, i, "pod"), f"unknown pod {d.pod!r} in site {d.site}")
    for i, lf in enumerate(ctx.leaves):
        if lf.pair is None:
            continue
        other = leaves.get(lf.pair)
        if lf.pair == lf.name:
            yield ctx.at(("leaves", i, "pair"), f"{lf.name} is paired with itself; pair names the other leaf of the pair")
        elif other is None:
            if not ctx.known(lf.pair, leaves):
                yield ctx.at(("leaves", i, "pair"), f"pair names unknown leaf {lf.pair!r}")
        elif other.pair != lf.name and other.pair != other.name:  # paired with itself: reported there
            yield ctx.at(("leaves", i, "pair"), f"{lf.pair} does not name {lf.name} as its pair")
        elif other.role != lf.role:
            yield ctx.at(("leaves", i, "pair"), f"{lf.name} ({lf.role}) and {lf.pair} ({other.role}) differ in role")


# ---------------------------------------------------------------- pools


def _pool_nets(p: Pools) -> list[tuple[str, Net]]:
    out: list[tuple[str, Net]] = [("loopback", p.loopback), ("vtep", p.vtep), ("p2p", p.p2p)]
    if p.p2p_v6 is not None:
        out.append(("p2p_v6", p.p2p_v6))
    if p.k8s_peering is not None:
        out.append(("k8s_peering", p.k8s_peering))
    if p.k8s_peering_v6 is not None:
        out.append(("k8s_peering_v6", p.k8s_peering_v6))
    return out


@check("pools")
def _pools_do_not_overlap(ctx: Ctx) -> Iterator[Problem]:
    p = ctx.pools
    nets = _pool_nets(p)
    for i, (na, a) in enumerate(nets):
        for nb, b in nets[i + 1:]:
            if a.version == b.version and a.overlaps(b):
                yield ctx.at(("pools", nb), f"pool {nb} ({b}) overlaps pool {na} ({a})")
    if p.l2vni.overlaps(p.l3vni):
        yield ctx.at(("pools", "l3vni"), f"pool l3vni ({p.l3vni}) overlaps pool l2vni ({p.l2vni})")
    roles = [("spine", p.asn.spine), ("leaf", p.asn.leaf)] + ([("border", p.asn.border)] if p.asn.border else [])
    for i, (ra, ar) in enumerate(roles):
        for rb, br in roles[i + 1:]:
            if ar.overlaps(br):
                yield ctx.at(("pools", "asn", rb), f"ASN range {rb} ({br}) overlaps range {ra} ({ar})")


_NO_NET_BCAST = " (the network and broadcast addresses are never handed out)"
_RESERVED = f" (VNI {', '.join(map(str, sorted(RESERVED_VNIS)))} is reserved)"


@check("pools", "spines", "leaves")
def _pools_large_enough(ctx: Ctx) -> Iterator[Problem]:
    p = ctx.pools
    n_sp, n_lf = len(ctx.spines), len(ctx.leaves)
    n_border = sum(1 for lf in ctx.leaves if lf.role == "border")
    links = len(ctx.sections["cabling"]) if "cabling" in ctx.sections else n_sp * n_lf
    links += len(ctx.sections.get("dci_links", []))
    # the sizes the ledger allocates from (fabric.resources.pools), so that check and plan agree:
    # address pools never hand out the network or broadcast address, VNI pools skip reserved VNIs
    site_of = {lf.name: lf.site for lf in ctx.leaves}
    dci_sites = {site_of.get(end) for d in ctx.sections.get("dci_links", []) for end in (d.a, d.b)}
    n_vips = sum(1 for site in ctx.sections["fabric"].sites if site.name in dci_sites) if "fabric" in ctx.sections else 0
    lo, vt = address_pool("loopback", p.loopback, skip_network=True), address_pool("vtep", p.vtep, skip_network=True)
    need = [
        ("loopback", lo.size, n_sp + n_lf, "switches" + _NO_NET_BCAST * (lo.size < p.loopback.num_addresses)),
        ("vtep", vt.size, n_lf + n_vips,
         ("leaves" if not n_vips else f"leaves and {n_vips} Multi-Site VIP(s)")
         + _NO_NET_BCAST * (vt.size < p.vtep.num_addresses)),
        ("p2p", p.p2p.num_addresses // 2, links, "links (/31 each)"),
    ]
    if p.p2p_v6 is not None:
        need.append(("p2p_v6", p.p2p_v6.num_addresses // 2, links, "links (/127 each)"))
    if not p.asn.spines_share:
        need.append(("asn.spine", len(p.asn.spine), n_sp, "spines"))
    if p.asn.border is not None:
        need.append(("asn.border", len(p.asn.border), n_border, "border leaves"))
        need.append(("asn.leaf", len(p.asn.leaf), n_lf - n_border, "server leaves"))
    else:
        need.append(("asn.leaf", len(p.asn.leaf), n_lf, "leaves"))
    if "tenants" in ctx.sections:
        n_net = sum(1 for _ in ctx.networks())
        n_vrf = sum(len(t.vrfs) for t in ctx.tenants)
        def vnis(r: Any) -> int:
            return len(r) - sum(1 for v in RESERVED_VNIS if v in r)

        need += [
            ("vlan", len(p.vlan), n_net + n_vrf, "networks and VRFs"),
            ("l2vni", vnis(p.l2vni), n_net, "networks" + _RESERVED * (vnis(p.l2vni) < len(p.l2vni))),
            ("l3vni", vnis(p.l3vni), n_vrf, "VRFs" + _RESERVED * (vnis(p.l3vni) < len(p.l3vni))),
        ]
    for name, size, wanted, what in need:
        if size < wanted:
            yield ctx.at(("pools", *name.split(".")), f"pool too small: {size} values for {wanted} {what}")


def _pinned_problem(ctx: Ctx, path: PathT, value: object, pool: object, what: str) -> Iterator[Problem]:
    if isinstance(pool, IPv4Network):
        if not (isinstance(value, IPv4Address) and value in pool):
            yield ctx.at(path, f"pinned {what} {value} is outside pool {pool}")
    elif value not in pool:  # type: ignore[operator]
        yield ctx.at(path, f"pinned {what} {value} is outside pool {pool}")


@check("pools", "spines", "leaves")
def _pinned_in_pool(ctx: Ctx) -> Iterator[Problem]:
    p = ctx.pools
    for i, s in enumerate(ctx.spines):
        if s.loopback is not None:
            yield from _pinned_problem(ctx, ("spines", i, "loopback"), s.loopback, p.loopback, "loopback")
        if s.asn is not None:
            yield from _pinned_problem(ctx, ("spines", i, "asn"), s.asn, p.asn.spine, "ASN")
    for i, lf in enumerate(ctx.leaves):
        if lf.loopback is not None:
            yield from _pinned_problem(ctx, ("leaves", i, "loopback"), lf.loopback, p.loopback, "loopback")
        if lf.vtep is not None:
            yield from _pinned_problem(ctx, ("leaves", i, "vtep"), lf.vtep, p.vtep, "VTEP address")
        if lf.asn is not None:
            pool = p.asn.border if lf.role == "border" and p.asn.border is not None else p.asn.leaf
            yield from _pinned_problem(ctx, ("leaves", i, "asn"), lf.asn, pool, "ASN")


@check("pools", "spines")
def _route_target_fits(ctx: Ctx) -> Iterator[Problem]:
    # target:<admin>:<vni>: with a 4-byte admin ASN the assigned number has 2 bytes only
    p = ctx.pools
    first = ctx.spines[0]
    admin = p.route_targets.admin or first.asn or p.asn.spine.first
    if admin <= 65535:
        return
    for name, pool in (("l2vni", p.l2vni), ("l3vni", p.l3vni)):
        if pool.last > 65535:
            yield ctx.at(("pools", name), f"route targets target:{admin}:<vni> need VNIs up to 65535 with a 4-byte "
                         f"admin ASN, but pool {name} goes to {pool.last} (set pools.route_targets.admin to a "
                         f"2-byte ASN, or use VNIs up to 65535)")


def site_rt_admins(sites: list[Any], spines: list[Spine], p: Pools) -> dict[str, int | None]:
    """site name -> its route-target admin as the design will choose it (the site's own,
    else ``pools.route_targets.admin``, else its first spine's ASN); None where that ASN is
    allocated later (an unpinned spine with ``spines_share: false``)."""
    out: dict[str, int | None] = {}
    for site in sites:
        if site.route_target_admin or p.route_targets.admin:
            out[site.name] = site.route_target_admin or p.route_targets.admin
            continue
        first = next((s for s in spines if s.site == site.name), spines[0] if spines else None)
        if first is not None and first.asn is not None:
            out[site.name] = first.asn
        else:
            out[site.name] = p.asn.spine.first if p.asn.spines_share else None
    return out


@check("fabric", "pools", "spines")
def _site_route_targets_fit(ctx: Ctx) -> Iterator[Problem]:
    # a site's own 4-byte admin leaves 2 bytes for the VNI, as the fabric's does
    p = ctx.pools
    for i, site in enumerate(ctx.sections["fabric"].sites):
        admin = site.route_target_admin
        if admin <= 65535:
            continue
        for name, pool in (("l2vni", p.l2vni), ("l3vni", p.l3vni)):
            if pool.last > 65535:
                yield ctx.at(("fabric", "sites", i, "route_target_admin"),
                             f"site {site.name}: route targets target:{admin}:<vni> need VNIs up to 65535 with a "
                             f"4-byte admin, but pool {name} goes to {pool.last} (use a 2-byte admin, or VNIs up to "
                             "65535)")


@check("pools", "spines", "dci_links")
def _interconnect_route_targets_fit(ctx: Ctx) -> Iterator[Problem]:
    # the DCI interconnect RTs are <admin>:16777215 and <admin>:16777216+L3VNI: 4-byte numbers
    if not ctx.sections["dci_links"] or not ctx.spines:
        return
    p = ctx.pools
    admin = p.route_targets.admin or ctx.spines[0].asn or (p.asn.spine.first if p.asn.spines_share else 0)
    if admin > 65535:
        yield ctx.at(("pools", "route_targets", "admin") if p.route_targets.admin else ("spines", 0, "asn"),
                     f"the DCI interconnect route targets ({admin}:16777215, {admin}:16777216 + L3 VNI) need a "
                     f"4-byte number, so a 2-byte admin: {admin} is a 4-byte ASN (set pools.route_targets.admin "
                     "to a 2-byte ASN)")


# ---------------------------------------------------------------- cabling


def leaf_ports_in_use(ctx: Ctx) -> dict[str, dict[str, PathT]]:
    """leaf name -> port -> where it was cabled (explicit cabling or the default mesh)."""
    used: dict[str, dict[str, PathT]] = defaultdict(dict)
    if "cabling" in ctx.sections:
        for i, link in enumerate(ctx.sections["cabling"]):
            used[link.leaf].setdefault(link.leaf_port, ("cabling", i, "leaf_port"))
    else:
        n = len(ctx.spines)
        for i, lf in enumerate(ctx.leaves):
            m = MODELS.get(lf.model)
            if m is not None:
                for port in m.uplinks[:n]:
                    used[lf.name][port] = ("leaves", i)
    for i, d in enumerate(ctx.sections.get("dci_links", [])):
        used[d.a].setdefault(d.a_port, ("dci_links", i, "a_port"))
        used[d.b].setdefault(d.b_port, ("dci_links", i, "b_port"))
    return used


def _port_ok(model: str, port: str) -> bool:
    m = MODELS.get(model)
    if m is None or model in GENERIC_MODELS:
        return True
    return port in m.uplinks or port in m.downlinks


@check("spines", "leaves", "cabling")
def _cabling(ctx: Ctx) -> Iterator[Problem]:
    spines = {s.name: s for s in ctx.spines}
    leaves = {lf.name: lf for lf in ctx.leaves}
    seen: dict[tuple[str, str], PathT] = {}
    links: list[Link] = ctx.sections["cabling"]
    for i, link in enumerate(links):
        for dev, port, table, key in ((link.leaf, link.leaf_port, leaves, "leaf"),
                                      (link.spine, link.spine_port, spines, "spine")):
            d = table.get(dev)
            if d is None:
                if not ctx.known(dev, table):
                    yield ctx.at(("cabling", i, key), f"unknown {key} {dev!r}")
                continue
            if not _port_ok(d.model, port):
                yield ctx.at(("cabling", i, f"{key}_port"), f"{d.model} has no port {port!r}")
            if (dev, port) in seen:
                fname, line = ctx.smap.locate(seen[(dev, port)])
                yield ctx.at(("cabling", i, f"{key}_port"), f"{dev} port {port} is cabled twice (also at {fname}:{line})")
            else:
                seen[(dev, port)] = ("cabling", i, f"{key}_port")
    cabled = {link.leaf for link in links}
    for i, lf in enumerate(ctx.leaves):
        if lf.name not in cabled:
            yield ctx.at(("leaves", i, "name"), f"leaf {lf.name} has no uplink in cabling")


@check("spines", "leaves")
def _default_mesh_fits(ctx: Ctx) -> Iterator[Problem]:
    if "cabling" in ctx.sections:
        return
    n_sp, n_lf = len(ctx.spines), len(ctx.leaves)
    for i, s in enumerate(ctx.spines):
        m = MODELS.get(s.model)
        if m is not None and s.model not in GENERIC_MODELS and len(m.downlinks) < n_lf:
            yield ctx.at(("spines", i, "model"), f"{s.model} has {len(m.downlinks)} ports, too few for {n_lf} leaves")
    for i, lf in enumerate(ctx.leaves):
        m = MODELS.get(lf.model)
        if m is not None and lf.model not in GENERIC_MODELS and len(m.uplinks) < n_sp:
            yield ctx.at(("leaves", i, "model"), f"{lf.model} has {len(m.uplinks)} uplinks, too few for {n_sp} spines")


@check("leaves", "dci_links")
def _dci_links(ctx: Ctx) -> Iterator[Problem]:
    leaves = {lf.name: lf for lf in ctx.leaves}
    for i, d in enumerate(ctx.sections["dci_links"]):
        for end, port in (("a", d.a_port), ("b", d.b_port)):
            name = getattr(d, end)
            lf = leaves.get(name)
            if lf is None:
                if not ctx.known(name, leaves):
                    yield ctx.at(("dci_links", i, end), f"unknown leaf {name!r}")
            elif lf.role != "border":
                yield ctx.at(("dci_links", i, end), f"{name} is not a border leaf")
            elif not _port_ok(lf.model, port):
                yield ctx.at(("dci_links", i, f"{end}_port"), f"{lf.model} has no port {port!r}")
        la, lb = leaves.get(d.a), leaves.get(d.b)
        if la and lb and la.site == lb.site:
            yield ctx.at(("dci_links", i), f"{d.a} and {d.b} are in the same site; a DCI link joins two sites")


# ---------------------------------------------------------------- tenants


@check("tenants")
def _tenant_names(ctx: Ctx) -> Iterator[Problem]:
    seen: dict[tuple[str, str], PathT] = {}
    for ti, t in enumerate(ctx.tenants):
        items: list[tuple[str, str, PathT]] = [("tenant", t.name, ("tenants", ti, "name"))]
        items += [("VRF", v.name, ("tenants", ti, "vrfs", vi, "name")) for vi, v in enumerate(t.vrfs)]
        items += [("network", n.name, ("tenants", ti, "networks", ni, "name")) for ni, n in enumerate(t.networks)]
        for kind, name, path in items:
            if (kind, name) in seen:
                fname, line = ctx.smap.locate(seen[(kind, name)])
                yield ctx.at(path, f"duplicate {kind} name {name!r} (first at {fname}:{line})")
            else:
                seen[(kind, name)] = path


@check("fabric", "tenants", "spines", "leaves")
def _mtu_fits_vxlan(ctx: Ctx) -> Iterator[Problem]:
    """A network's packets cross the fabric inside VXLAN (50 bytes more), on links whose IP
    MTU is the fabric MTU, or 14 less where a Junos device counts the Ethernet header."""
    media = ctx.sections["fabric"].mtu
    ip_mtu = min((max_ip_mtu(d.platform, media) for d in [*ctx.spines, *ctx.leaves]), default=media)
    limit = ip_mtu - VXLAN_OVERHEAD
    for path, n in ctx.networks():
        if n.mtu > limit:
            yield ctx.at(
                (*path, "mtu"),
                f"MTU {n.mtu} does not fit through the fabric: VXLAN adds {VXLAN_OVERHEAD} bytes and the fabric "
                f"links carry IP packets of {ip_mtu} (fabric.mtu {media}); at most {limit}",
            )


@check("tenants")
def _network_vrf_exists(ctx: Ctx) -> Iterator[Problem]:
    for ti, t in enumerate(ctx.tenants):
        vrfs = {v.name for v in t.vrfs}
        for ni, n in enumerate(t.networks):
            if n.vrf not in vrfs:
                yield ctx.at(("tenants", ti, "networks", ni, "vrf"), f"unknown VRF {n.vrf!r} in tenant {t.name}")


@check("tenants", "leaves")
def _network_leaves_exist(ctx: Ctx) -> Iterator[Problem]:
    leaves = {lf.name for lf in ctx.leaves}
    racks = {lf.rack for lf in ctx.leaves if lf.rack}
    for path, n in ctx.networks():
        if n.leaves != "all":
            for i, name in enumerate(n.leaves):
                if not ctx.known(name, leaves):
                    yield ctx.at((*path, "leaves", i), f"network {n.name} is on unknown leaf {name!r}")
        for i, rack in enumerate(n.racks):
            if rack not in racks:
                yield ctx.at((*path, "racks", i), f"network {n.name} is on unknown rack {rack!r}")


@check("tenants", "pools")
def _vlan_vni_unique_and_in_pool(ctx: Ctx) -> Iterator[Problem]:
    p = ctx.pools
    vlans: dict[int, PathT] = {}
    vnis: dict[int, PathT] = {}

    def claim(table: dict[int, PathT], value: int, path: PathT, what: str) -> Iterator[Problem]:
        if value in table:
            fname, line = ctx.smap.locate(table[value])
            yield ctx.at(path, f"{what} {value} is used twice (also at {fname}:{line})")
        else:
            table[value] = path

    def pinned(table: dict[int, PathT], value: int | None, path: PathT, what: str, pool: Any) -> Iterator[Problem]:
        if value is None:
            return
        yield from claim(table, value, path, "VLAN" if table is vlans else "VNI")
        if table is vnis and value in RESERVED_VNIS:
            yield ctx.at(path, f"VNI {value} is reserved: the EVPN instance uses it as its route target")
        if value not in pool:
            yield ctx.at(path, f"pinned {what} {value} is outside pool {pool}")

    for ti, t in enumerate(ctx.tenants):
        for vi, v in enumerate(t.vrfs):
            base: PathT = ("tenants", ti, "vrfs", vi)
            yield from pinned(vlans, v.vlan, (*base, "vlan"), "VLAN", p.vlan)
            yield from pinned(vnis, v.l3vni, (*base, "l3vni"), "L3 VNI", p.l3vni)
    for path, n in ctx.networks():
        yield from pinned(vlans, n.vlan, (*path, "vlan"), "VLAN", p.vlan)
        yield from pinned(vnis, n.vni, (*path, "vni"), "VNI", p.l2vni)


@check("tenants")
def _gateways(ctx: Ctx) -> Iterator[Problem]:
    subnets: list[tuple[int, int, int, Net, PathT]] = []
    for path, n in ctx.networks():
        for attr in ("gateway4", "gateway6"):
            gw = getattr(n, attr)
            if gw is None:
                continue
            # integers, not address objects: .ip and .broadcast_address build new objects,
            # and an inventory may have 10,000 networks (tests/bench/test_load.py)
            net = gw.network
            plen, width = net.prefixlen, net.max_prefixlen
            first = int(net.network_address)
            last = first | ((1 << (width - plen)) - 1)
            ip = int(gw)
            if ip == first and plen < width - 1:
                yield ctx.at((*path, attr), f"gateway {gw} is the subnet's network address")
            elif width == 32 and ip == last and plen < 31:
                yield ctx.at((*path, attr), f"gateway {gw} is the subnet's broadcast address")
            subnets.append((net.version, first, last, net, (*path, attr)))
    # sweep in address order: a subnet overlaps an earlier one iff it starts before the
    # furthest end seen so far (n log n; thousands of SVIs are common)
    subnets.sort(key=lambda t: (t[0], t[1], -t[2]))
    widest: tuple[int, int, int, Net, PathT] | None = None
    hits: list[tuple[PathT, Net, Net, PathT]] = []
    for item in subnets:
        if widest is not None and widest[0] == item[0] and item[1] <= widest[2]:
            hits.append((item[4], item[3], widest[3], widest[4]))
        if widest is None or widest[0] != item[0] or item[2] > widest[2]:
            widest = item
    for path, net, other, opath in sorted(hits, key=lambda h: ctx.smap.locate(h[0])):
        fname, line = ctx.smap.locate(opath)
        yield ctx.at(path, f"subnet {net} overlaps another network's subnet {other} ({fname}:{line})")


@check("tenants", "pools")
def _gateways_outside_pools(ctx: Ctx) -> Iterator[Problem]:
    # each pool as (version, first, last) integers: two ranges overlap iff each starts
    # before the other ends (IPv4Network.overlaps builds address objects per call)
    pools = [(pname, pnet, pnet.version, int(pnet.network_address), int(pnet.network_address) | int(pnet.hostmask))
             for pname, pnet in _pool_nets(ctx.pools)]
    for path, n in ctx.networks():
        for attr in ("gateway4", "gateway6"):
            gw = getattr(n, attr)
            if gw is None:
                continue
            net = gw.network
            version = net.version
            first = int(net.network_address)
            last = first | ((1 << (net.max_prefixlen - net.prefixlen)) - 1)
            for pname, pnet, pversion, pfirst, plast in pools:
                if pversion == version and first <= plast and pfirst <= last:
                    yield ctx.at((*path, attr), f"subnet {net} overlaps fabric pool {pname} ({pnet})")


# ---------------------------------------------------------------- kubernetes


@check("pools", "kubernetes", "tenants")
def _k8s_peering_pool(ctx: Ctx) -> Iterator[Problem]:
    """Each leaf peers with its nodes from its own address per VRF (pools.k8s_peering,
    k8s_peering_v6), never from the anycast gateway every leaf shares."""
    p = ctx.pools
    nets = {n.name: n for _, n in ctx.networks()}
    v4: dict[tuple[str, str], PathT] = {}
    v6: dict[tuple[str, str], PathT] = {}
    for ci, c in enumerate(ctx.clusters):
        net = nets.get(c.network)
        if net is None or net.gateway4 is None:
            continue  # reported by _nodes_on_network
        for ni, node in enumerate(c.nodes):
            path: PathT = ("kubernetes", "clusters", ci, "nodes", ni)
            v4.setdefault((net.vrf, node.leaf), path)
            if node.address6 is not None and net.gateway6 is not None:
                v6.setdefault((net.vrf, node.leaf), (*path, "address6"))
    why = "nodes peer with an address of their own leaf, never with the anycast gateway every leaf shares"
    for name, pool, wanted, what in (("k8s_peering", p.k8s_peering, v4, "an IPv4 /32"),
                                     ("k8s_peering_v6", p.k8s_peering_v6, v6, "an IPv6 /128")):
        if not wanted:
            continue
        if pool is None:
            fname, line = ctx.smap.locate(next(iter(wanted.values())))
            yield ctx.at(("pools",), f"pools.{name} is missing: {len(wanted)} (VRF, leaf) pair(s) with Kubernetes "
                         f"nodes need {what} each (first: {fname}:{line}); {why}")
            continue
        size = address_pool(name, pool, skip_network=True).size
        if size < len(wanted):
            yield ctx.at(("pools", name), f"pool too small: {size} values for {len(wanted)} (VRF, leaf) pairs with "
                         f"Kubernetes nodes" + _NO_NET_BCAST * (size < pool.num_addresses))
    vrfs = {vrf for vrf, _ in v4}
    lo, hi = K8S_LOOPBACKS
    if len(vrfs) > hi - lo + 1:
        yield ctx.at(("kubernetes",), f"{len(vrfs)} VRFs have Kubernetes nodes; the leaves number their peering "
                     f"loopbacks {lo}-{hi} (NX-OS stops at loopback1023), so at most {hi - lo + 1}")


@check("kubernetes")
def _bfd_needs_a_bfd_speaker(ctx: Ctx) -> Iterator[Problem]:
    for ci, c in enumerate(ctx.clusters):
        if c.bfd and c.speaker not in BFD_SPEAKERS:
            yield ctx.at(("kubernetes", "clusters", ci, "bfd"),
                         f"speaker {c.speaker} has no BFD (ExaBGP implements none): the leaves' BFD sessions "
                         "would never come up; remove bfd (failures are then detected by the hold time)")


@check("kubernetes")
def _cluster_names(ctx: Ctx) -> Iterator[Problem]:
    seen_c: dict[str, PathT] = {}
    seen_n: dict[str, PathT] = {}
    for ci, c in enumerate(ctx.clusters):
        base: PathT = ("kubernetes", "clusters", ci)
        if c.name in seen_c:
            yield ctx.at((*base, "name"), f"duplicate cluster name {c.name!r}")
        seen_c.setdefault(c.name, base)
        for ni, node in enumerate(c.nodes):
            if node.name in seen_n:
                fname, line = ctx.smap.locate(seen_n[node.name])
                yield ctx.at((*base, "nodes", ni, "name"), f"duplicate node name {node.name!r} (first at {fname}:{line})")
            seen_n.setdefault(node.name, (*base, "nodes", ni, "name"))


@check("kubernetes")
def _cluster_asns(ctx: Ctx) -> Iterator[Problem]:
    for ci, c in enumerate(ctx.clusters):
        base: PathT = ("kubernetes", "clusters", ci)
        if not c.shared_asn and len(c.asn) < len(c.nodes):
            yield ctx.at((*base, "asn"), f"pool too small: {len(c.asn)} ASNs for {len(c.nodes)} nodes")
        for ni, node in enumerate(c.nodes):
            if node.asn is not None and node.asn not in c.asn:
                yield ctx.at((*base, "nodes", ni, "asn"), f"pinned ASN {node.asn} is outside the cluster's range {c.asn}")


@check("kubernetes", "pools")
def _cluster_asns_vs_fabric(ctx: Ctx) -> Iterator[Problem]:
    a = ctx.pools.asn
    fabric_ranges = [("spine", a.spine), ("leaf", a.leaf)] + ([("border", a.border)] if a.border else [])
    for ci, c in enumerate(ctx.clusters):
        for role, r in fabric_ranges:
            if c.asn.first <= c.asn.last and c.asn.overlaps(r):
                yield ctx.at(("kubernetes", "clusters", ci, "asn"), f"cluster ASN {c.asn} overlaps the {role} ASN pool {r}")


@check("kubernetes", "leaves")
def _nodes_on_ports(ctx: Ctx) -> Iterator[Problem]:
    leaves = {lf.name: lf for lf in ctx.leaves}
    # with a broken cabling section we cannot tell which ports are taken: skip that part
    cabling_known = "cabling" in ctx.sections or "cabling" not in ctx.present
    used = leaf_ports_in_use(ctx) if "spines" in ctx.sections and cabling_known else {}
    taken: dict[tuple[str, str], PathT] = {}
    for ci, c in enumerate(ctx.clusters):
        for ni, node in enumerate(c.nodes):
            base: PathT = ("kubernetes", "clusters", ci, "nodes", ni)
            lf = leaves.get(node.leaf)
            if lf is None:
                if not ctx.known(node.leaf, leaves):
                    yield ctx.at((*base, "leaf"), f"node {node.name} is on unknown leaf {node.leaf!r}")
                continue
            if not _port_ok(lf.model, node.port):
                yield ctx.at((*base, "port"), f"{lf.model} has no port {node.port!r}")
            if node.port in used.get(node.leaf, {}):
                fname, line = ctx.smap.locate(used[node.leaf][node.port])
                yield ctx.at((*base, "port"), f"{node.leaf} port {node.port} is already cabled ({fname}:{line})")
            elif (node.leaf, node.port) in taken:
                fname, line = ctx.smap.locate(taken[(node.leaf, node.port)])
                yield ctx.at((*base, "port"), f"{node.leaf} port {node.port} is already used by another node ({fname}:{line})")
            else:
                taken[(node.leaf, node.port)] = (*base, "port")


@check("kubernetes", "tenants")
def _nodes_on_network(ctx: Ctx) -> Iterator[Problem]:
    nets = {n.name: (path, n) for path, n in ctx.networks()}
    addrs: dict[IPv4Address | IPv6Address, PathT] = {}
    for ci, c in enumerate(ctx.clusters):
        base: PathT = ("kubernetes", "clusters", ci)
        hit = nets.get(c.network)
        if hit is None:
            if not ctx.known(c.network, nets):
                yield ctx.at((*base, "network"), f"unknown network {c.network!r}")
            continue
        _, net = hit
        for ni, node in enumerate(c.nodes):
            npath: PathT = (*base, "nodes", ni)
            if net.gateway4 is None or node.address not in net.gateway4.network:
                yield ctx.at((*npath, "address"), f"address {node.address} is not inside network {net.name} "
                             f"({net.gateway4.network if net.gateway4 else 'no IPv4 gateway'})")
            elif node.address == net.gateway4.ip:
                yield ctx.at((*npath, "address"), f"address {node.address} is the anycast gateway of {net.name}")
            elif net.gateway4.network.prefixlen < 31 and node.address in (net.gateway4.network.network_address,
                                                                          net.gateway4.network.broadcast_address):
                which = "network" if node.address == net.gateway4.network.network_address else "broadcast"
                yield ctx.at((*npath, "address"), f"address {node.address} is the {which} address of "
                             f"{net.name} ({net.gateway4.network})")
            if node.address6 is not None and (net.gateway6 is None or node.address6 not in net.gateway6.network):
                yield ctx.at((*npath, "address6"), f"address {node.address6} is not inside network {net.name}'s IPv6 subnet")
            elif node.address6 is not None and net.gateway6 is not None and node.address6 == net.gateway6.ip:
                yield ctx.at((*npath, "address6"), f"address {node.address6} is the anycast gateway of {net.name}")
            elif node.address6 is not None and net.gateway6 is not None and net.gateway6.network.prefixlen < 127 \
                    and node.address6 == net.gateway6.network.network_address:
                yield ctx.at((*npath, "address6"), f"address {node.address6} is the subnet-router anycast address of "
                             f"{net.name} ({net.gateway6.network})")
            for attr in ("address", "address6"):
                v = getattr(node, attr)
                if v is None:
                    continue
                if v in addrs:  # equal addresses are those with the same text (an IPv6 scope too)
                    fname, line = ctx.smap.locate(addrs[v])
                    yield ctx.at((*npath, attr), f"address {v} is used twice (also at {fname}:{line})")
                addrs.setdefault(v, (*npath, attr))
        if net.leaves != "all":
            on = set(net.leaves) | {lf.name for lf in ctx.leaves if lf.rack and lf.rack in net.racks}
            known = {lf.name for lf in ctx.leaves}
            for ni, node in enumerate(c.nodes):
                # a node on an unknown leaf is reported by _nodes_on_ports already
                if node.leaf not in on and (node.leaf in known or "leaves" not in ctx.sections):
                    yield ctx.at((*base, "nodes", ni, "leaf"), f"network {net.name} is not on leaf {node.leaf}")


@check("kubernetes")
def _service_ranges_disjoint(ctx: Ctx) -> Iterator[Problem]:
    seen: list[tuple[Net, PathT, str]] = []
    for ci, c in enumerate(ctx.clusters):
        for ri, r in enumerate(c.service_ranges):
            path: PathT = ("kubernetes", "clusters", ci, "service_ranges", ri)
            for other, opath, oname in seen:
                if other.version == r.version and other.overlaps(r):
                    fname, line = ctx.smap.locate(opath)
                    yield ctx.at(path, f"service range {r} overlaps {other} of cluster {oname} ({fname}:{line})")
            seen.append((r, path, c.name))


@check("kubernetes", "pools")
def _service_ranges_vs_pools(ctx: Ctx) -> Iterator[Problem]:
    pools = _pool_nets(ctx.pools)
    for ci, c in enumerate(ctx.clusters):
        for ri, r in enumerate(c.service_ranges):
            for pname, pnet in pools:
                if pnet.version == r.version and pnet.overlaps(r):
                    yield ctx.at(("kubernetes", "clusters", ci, "service_ranges", ri),
                                 f"service range {r} overlaps fabric pool {pname} ({pnet})")


def _span(net: Net) -> tuple[int, int, int]:
    """(version, first, last) of ``net`` as integers: two spans overlap iff each starts
    before the other ends (``overlaps`` builds address objects on every call)."""
    first = int(net.network_address)
    return net.version, first, first | ((1 << (net.max_prefixlen - net.prefixlen)) - 1)


@check("kubernetes", "tenants")
def _service_ranges_vs_networks(ctx: Ctx) -> Iterator[Problem]:
    subnets = [(n.name, gw.network, _span(gw.network)) for _path, n in ctx.networks()
               for gw in (n.gateway4, n.gateway6) if gw is not None]
    for ci, c in enumerate(ctx.clusters):
        for ri, r in enumerate(c.service_ranges):
            version, first, last = _span(r)
            for name, net, (v, f, la) in subnets:
                if v == version and f <= last and first <= la:
                    yield ctx.at(("kubernetes", "clusters", ci, "service_ranges", ri),
                                 f"service range {r} overlaps network {name} ({net})")



# ---------------------------------------------------------------- more rules


@check("spines", "leaves", "dci_links")
def _dci_ports(ctx: Ctx) -> Iterator[Problem]:
    """A DCI port is neither a fabric uplink (explicit cabling or the default mesh) nor
    the port of another DCI link."""
    leaves = {lf.name: (i, lf) for i, lf in enumerate(ctx.leaves)}
    fabric: dict[tuple[str, str], PathT] = {}
    if "cabling" in ctx.sections:
        for i, link in enumerate(ctx.sections["cabling"]):
            fabric.setdefault((link.leaf, link.leaf_port), ("cabling", i, "leaf_port"))
    elif "cabling" not in ctx.present:
        for dev, (i, lf) in leaves.items():
            m = MODELS.get(lf.model)
            if m is not None and lf.model not in GENERIC_MODELS:
                for port in m.uplinks[:len(ctx.spines)]:
                    fabric[(dev, port)] = ("leaves", i)
    seen: dict[tuple[str, str], PathT] = {}
    for i, d in enumerate(ctx.sections["dci_links"]):
        for end, port in (("a", d.a_port), ("b", d.b_port)):
            name: str = getattr(d, end)
            here: PathT = ("dci_links", i, f"{end}_port")
            if (name, port) in fabric:
                fname, line = ctx.smap.locate(fabric[(name, port)])
                how = "by the cabling" if fabric[(name, port)][0] == "cabling" else "as a spine uplink by the default mesh"
                yield ctx.at(here, f"{name} port {port} is already used {how} ({fname}:{line})")
            elif (name, port) in seen:
                fname, line = ctx.smap.locate(seen[(name, port)])
                yield ctx.at(here, f"{name} port {port} is used by two DCI links (also at {fname}:{line})")
            else:
                seen[(name, port)] = here


@check("pools")
def _gateway_mac(ctx: Ctx) -> Iterator[Problem]:
    mac = ctx.pools.gateway_mac()
    octets = [int(x, 16) for x in mac.split(":")]
    path: PathT = ("pools", "anycast_gateway_mac")
    if all(o == 0 for o in octets):
        yield ctx.at(path, f"{mac} is the all-zeros MAC, which no switch accepts as a gateway MAC")
    elif octets[0] & 1:
        yield ctx.at(path, f"{mac} is a multicast MAC (the first octet is odd); a gateway MAC must be unicast, "
                     "e.g. 00:00:5e:00:01:01")


@check("kubernetes")
def _bgp_timers(ctx: Ctx) -> Iterator[Problem]:
    for ci, c in enumerate(ctx.clusters):
        if c.keepalive * 3 > c.hold_time:
            yield ctx.at(("kubernetes", "clusters", ci, "keepalive"),
                         f"keepalive {c.keepalive} s must be at most a third of hold_time {c.hold_time} s "
                         f"(at most {c.hold_time // 3}), or a single lost keepalive drops the session")


# ---------------------------------------------------------------- servers (hosts on leaf ports)


def _servers(ctx: Ctx) -> list[Server]:
    return list(ctx.sections.get("servers", []))


def node_ports(ctx: Ctx) -> dict[tuple[str, str], PathT]:
    """Every Kubernetes node's (leaf, port), at the first place it is written."""
    out: dict[tuple[str, str], PathT] = {}
    for ci, c in enumerate(ctx.clusters):
        for ni, node in enumerate(c.nodes):
            out.setdefault((node.leaf, node.port), ("kubernetes", "clusters", ci, "nodes", ni, "port"))
    return out


def server_ports(ctx: Ctx) -> dict[tuple[str, str], PathT]:
    """Every server link's (leaf, port), at the first place it is written."""
    out: dict[tuple[str, str], PathT] = {}
    for si, srv in enumerate(_servers(ctx)):
        for li, link in enumerate(srv.links):
            out.setdefault((link.leaf, link.port), ("servers", si, "links", li, "port"))
    return out


@check("servers", "leaves")
def _server_links(ctx: Ctx) -> Iterator[Problem]:
    """Each link is on a known leaf's existing port that nothing else uses (fabric or DCI
    uplink, a Kubernetes node, another server); links on two leaves are on the two
    members of a pair of one platform (EVPN multihoming needs both ends alike)."""
    leaves = {lf.name: lf for lf in ctx.leaves}
    cabling_known = "cabling" in ctx.sections or "cabling" not in ctx.present
    uplinks = leaf_ports_in_use(ctx) if "spines" in ctx.sections and cabling_known else {}
    nodes = node_ports(ctx)
    names: dict[str, PathT] = {}
    taken: dict[tuple[str, str], PathT] = {}
    for si, srv in enumerate(_servers(ctx)):
        base: PathT = ("servers", si)
        if srv.name in names:
            fname, line = ctx.smap.locate(names[srv.name])
            yield ctx.at((*base, "name"), f"duplicate server name {srv.name!r} (first at {fname}:{line})")
        names.setdefault(srv.name, (*base, "name"))
        for li, link in enumerate(srv.links):
            here: PathT = (*base, "links", li)
            lf = leaves.get(link.leaf)
            if lf is None:
                if not ctx.known(link.leaf, leaves):
                    yield ctx.at((*here, "leaf"), f"server {srv.name} is on unknown leaf {link.leaf!r}")
                continue
            key = (link.leaf, link.port)
            if not _port_ok(lf.model, link.port):
                yield ctx.at((*here, "port"), f"{lf.model} has no port {link.port!r}")
            elif link.port in uplinks.get(link.leaf, {}):
                fname, line = ctx.smap.locate(uplinks[link.leaf][link.port])
                yield ctx.at((*here, "port"), f"{link.leaf} port {link.port} is a fabric uplink ({fname}:{line})")
            elif key in nodes:
                fname, line = ctx.smap.locate(nodes[key])
                yield ctx.at((*here, "port"), f"{link.leaf} port {link.port} is a Kubernetes node's port ({fname}:{line})")
            elif key in taken:
                fname, line = ctx.smap.locate(taken[key])
                yield ctx.at((*here, "port"), f"{link.leaf} port {link.port} is used twice (also at {fname}:{line})")
            else:
                taken[key] = (*here, "port")
        on = [name for name in srv.leaves() if name in leaves]
        if len(srv.leaves()) > 2:
            yield ctx.at((*base, "links"), f"server {srv.name} has links on {len(srv.leaves())} leaves "
                         f"({', '.join(srv.leaves())}); at most the two leaves of a pair")
        elif len(on) == 2:
            a, b = leaves[on[0]], leaves[on[1]]
            if a.pair != b.name or b.pair != a.name:
                yield ctx.at((*base, "links"), f"server {srv.name} is dual-homed to {a.name} and {b.name}, which are not "
                             f"a pair (set pair: on both leaves)")
            elif a.platform != b.platform:
                yield ctx.at((*base, "links"), f"server {srv.name} is dual-homed to {a.name} ({a.platform}) and {b.name} "
                             f"({b.platform}); an Ethernet segment needs both leaves on the same platform")


@check("servers")
def _server_networks_shape(ctx: Ctx) -> Iterator[Problem]:
    for si, srv in enumerate(_servers(ctx)):
        base: PathT = ("servers", si)
        seen: set[str] = set()
        for ni, n in enumerate(srv.networks):
            if n in seen:
                yield ctx.at((*base, "networks", ni), f"network {n} is listed twice")
            seen.add(n)
        if srv.mode == "access":
            if len(srv.networks) != 1:
                yield ctx.at((*base, "networks"), f"an access port carries one network, not {len(srv.networks)}; "
                             "use mode: trunk for several")
            if srv.native is not None:
                yield ctx.at((*base, "native"), "native is for trunks; an access port's one network is untagged")
        elif srv.native is not None and srv.native not in srv.networks:
            yield ctx.at((*base, "native"), f"native network {srv.native} is not among the server's networks")


@check("servers", "leaves", "fabric")
def _server_mtu(ctx: Ctx) -> Iterator[Problem]:
    leaves = {lf.name: lf for lf in ctx.leaves}
    jumbo = ctx.sections["fabric"].mtu
    for si, srv in enumerate(_servers(ctx)):
        if srv.mtu is None or srv.mtu in (1500, jumbo):
            continue
        for name in srv.leaves():
            lf = leaves.get(name)
            if lf is not None and lf.platform == "nxos":
                yield ctx.at(("servers", si, "mtu"), f"{name} (nxos) takes only 1500 or the system jumbo MTU "
                             f"{jumbo} (fabric.mtu) on an L2 port, not {srv.mtu}")
                break


@check("servers", "tenants", "leaves")
def _server_networks_on_leaves(ctx: Ctx) -> Iterator[Problem]:
    nets = {n.name: n for _, n in ctx.networks()}
    known = {lf.name for lf in ctx.leaves}
    racks: dict[str, str | None] = {lf.name: lf.rack for lf in ctx.leaves}
    for si, srv in enumerate(_servers(ctx)):
        for ni, name in enumerate(srv.networks):
            net = nets.get(name)
            if net is None:
                if not ctx.known(name, nets):
                    yield ctx.at(("servers", si, "networks", ni), f"unknown network {name!r}")
                continue
            if net.leaves == "all":
                continue
            on = set(net.leaves) | {lf for lf, rack in racks.items() if rack and rack in net.racks}
            missing = [lf for lf in srv.leaves() if lf in known and lf not in on]
            if missing:
                yield ctx.at(("servers", si, "networks", ni), f"network {name} is not on {', '.join(missing)} "
                             f"(add the leaf or its rack to the network)")


@check("servers", "pools")
def _server_pools(ctx: Ctx) -> Iterator[Problem]:
    p = ctx.pools
    dual = sum(1 for srv in _servers(ctx) if srv.multihomed)
    if dual > len(p.ethernet_segment):
        yield ctx.at(("pools", "ethernet_segment"), f"pool too small: {len(p.ethernet_segment)} values for {dual} "
                     "dual-homed servers")
    first = int(p.lacp_system_mac.split(":")[0], 16)
    if first & 1:
        yield ctx.at(("pools", "lacp_system_mac"), f"{p.lacp_system_mac} is a multicast MAC (the first octet is odd); "
                     "an LACP system id must be unicast, e.g. 02:4c:53:00:00:00")
    elif int(p.lacp_system_mac.replace(":", ""), 16) + dual > 0xFFFFFFFFFFFF:
        yield ctx.at(("pools", "lacp_system_mac"), f"{p.lacp_system_mac} leaves no room for {dual} system ids")
