"""Cross-checks of ``external_routers`` (the border hand-off), registered with
:func:`fabric.checks.check` like every other check (imported at the end of that module)."""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Network, IPv6Network

from fabric.checks import Ctx, _pool_nets, _port_ok, check, leaf_ports_in_use, node_ports, server_ports
from fabric.errors import Problem
from fabric.model.external import ExternalRouter
from fabric.platforms import max_tagged_ip_mtu
from fabric.yamlsrc import PathT

Net = IPv4Network | IPv6Network


def _routers(ctx: Ctx) -> list[ExternalRouter]:
    return list(ctx.sections.get("external_routers", []))


def _sessions(ctx: Ctx) -> Iterator[tuple[PathT, ExternalRouter, int, int]]:
    for ri, r in enumerate(_routers(ctx)):
        for li, link in enumerate(r.links):
            for vi, _x in enumerate(link.vrfs):
                yield ("external_routers", ri, "links", li, "vrfs", vi), r, li, vi


@check("external_routers", "leaves")
def _external_links(ctx: Ctx) -> Iterator[Problem]:
    """Names unique; each link on a border leaf's free port; tags unique per port; one
    session per router and VRF on a leaf."""
    leaves = {lf.name: lf for lf in ctx.leaves}
    cabling_known = "cabling" in ctx.sections or "cabling" not in ctx.present
    used = leaf_ports_in_use(ctx) if "spines" in ctx.sections and cabling_known else {}
    nodes = node_ports(ctx)
    servers = server_ports(ctx)
    names: dict[str, PathT] = {}
    ports: dict[tuple[str, str], PathT] = {}
    for ri, r in enumerate(_routers(ctx)):
        base: PathT = ("external_routers", ri)
        if r.name in names:
            fname, line = ctx.smap.locate(names[r.name])
            yield ctx.at((*base, "name"), f"duplicate external router name {r.name!r} (first at {fname}:{line})")
        names.setdefault(r.name, (*base, "name"))
        for li, link in enumerate(r.links):
            lpath: PathT = (*base, "links", li)
            lf = leaves.get(link.leaf)
            if lf is None:
                if not ctx.known(link.leaf, leaves):
                    yield ctx.at((*lpath, "leaf"), f"unknown leaf {link.leaf!r}")
            elif lf.role != "border":
                yield ctx.at((*lpath, "leaf"), f"{link.leaf} is a {lf.role} leaf; external routers attach to border "
                             "leaves (role: border)")
            elif not _port_ok(lf.model, link.port):
                yield ctx.at((*lpath, "port"), f"{lf.model} has no port {link.port!r}")
            key = (link.leaf, link.port)
            if link.port in used.get(link.leaf, {}):
                where = used[link.leaf][link.port]
                fname, line = ctx.smap.locate(where)
                how = {"cabling": "by the cabling", "dci_links": "by a DCI link"}.get(
                    str(where[0]), "as a spine uplink by the default mesh")
                yield ctx.at((*lpath, "port"), f"{link.leaf} port {link.port} is already used {how} ({fname}:{line})")
            elif key in nodes:
                fname, line = ctx.smap.locate(nodes[key])
                yield ctx.at((*lpath, "port"), f"{link.leaf} port {link.port} is a Kubernetes node's port ({fname}:{line})")
            elif key in servers:
                fname, line = ctx.smap.locate(servers[key])
                yield ctx.at((*lpath, "port"), f"{link.leaf} port {link.port} is a server's port ({fname}:{line})")
            elif key in ports:
                fname, line = ctx.smap.locate(ports[key])
                yield ctx.at((*lpath, "port"), f"{link.leaf} port {link.port} is used by two external links "
                             f"(also at {fname}:{line})")
            else:
                ports[key] = (*lpath, "port")
            tags: dict[int, int] = {}
            for vi, x in enumerate(link.vrfs):
                if x.vlan in tags:
                    fname, line = ctx.smap.locate((*lpath, "vrfs", tags[x.vlan], "vlan"))
                    yield ctx.at((*lpath, "vrfs", vi, "vlan"), f"VLAN {x.vlan} is used twice on {link.leaf} port "
                                 f"{link.port} (also at {fname}:{line})")
                tags.setdefault(x.vlan, vi)
    seen: dict[tuple[str, str, str], PathT] = {}
    for path, r, li, vi in _sessions(ctx):
        x = r.links[li].vrfs[vi]
        key3 = (r.name, r.links[li].leaf, x.vrf)
        if key3 in seen:
            fname, line = ctx.smap.locate(seen[key3])
            yield ctx.at((*path, "vrf"), f"{r.name} already has a session in VRF {x.vrf} on {r.links[li].leaf} "
                         f"({fname}:{line}); one session per router, leaf and VRF")
        seen.setdefault(key3, (*path, "vrf"))


@check("external_routers")
def _external_addresses(ctx: Ctx) -> Iterator[Problem]:
    """Both ends in one subnet, usable, distinct; link subnets do not overlap each other."""
    subnets: list[tuple[Net, PathT]] = []
    for path, r, li, vi in _sessions(ctx):
        x = r.links[li].vrfs[vi]
        pairs: list[tuple[str, str, object, object]] = [("address", "peer", x.address, x.peer)]
        if x.address6 is not None or x.peer6 is not None:
            if x.address6 is None:
                yield ctx.at((*path, "peer6"), "peer6 without address6: give the leaf's IPv6 address too")
                continue
            if x.peer6 is None:
                yield ctx.at((*path, "address6"), "address6 without peer6: give the external router's IPv6 address too")
                continue
            pairs.append(("address6", "peer6", x.address6, x.peer6))
        for a_key, p_key, local, peer in pairs:
            net = local.network  # type: ignore[attr-defined]
            ip = local.ip  # type: ignore[attr-defined]
            point = net.max_prefixlen - 1
            if net.prefixlen > point:
                yield ctx.at((*path, a_key), f"{local} is a host route; a link subnet is a /{point} or larger")
                continue
            if peer not in net:
                yield ctx.at((*path, p_key), f"{peer} is not in the subnet of {a_key} {local} ({net})")
            elif peer == ip:
                yield ctx.at((*path, p_key), f"{peer} is the leaf's own address")
            elif net.prefixlen < point:
                ends = (net.network_address, net.broadcast_address) if net.version == 4 else (net.network_address,)
                for which, value in ((a_key, ip), (p_key, peer)):
                    if value in ends:
                        yield ctx.at((*path, which), f"{value} is the network or broadcast address of {net}")
            for other, opath in subnets:
                if other.version == net.version and other.overlaps(net):
                    fname, line = ctx.smap.locate(opath)
                    yield ctx.at((*path, a_key), f"link subnet {net} overlaps {other} ({fname}:{line})")
            subnets.append((net, (*path, a_key)))


@check("external_routers", "pools")
def _external_vs_fabric(ctx: Ctx) -> Iterator[Problem]:
    """The router's ASN is none of the fabric's (switch pools, Kubernetes clusters); its
    tags are outside the VLAN pool; its link subnets outside the fabric's pools."""
    a = ctx.pools.asn
    ranges = [("spine", a.spine), ("leaf", a.leaf)] + ([("border", a.border)] if a.border else [])
    ranges += [(f"Kubernetes cluster {c.name}", c.asn) for c in ctx.clusters]
    pinned = {d.asn: d.name for d in [*ctx.spines, *ctx.leaves] if d.asn is not None}
    pools = _pool_nets(ctx.pools)
    for ri, r in enumerate(_routers(ctx)):
        for what, rng in ranges:
            if r.asn in rng:
                yield ctx.at(("external_routers", ri, "asn"), f"ASN {r.asn} is in the {what} ASN range {rng}; an "
                             "external router needs an ASN of its own")
                break
        else:
            if r.asn in pinned:
                yield ctx.at(("external_routers", ri, "asn"), f"ASN {r.asn} is {pinned[r.asn]}'s")
    for path, r, li, vi in _sessions(ctx):
        x = r.links[li].vrfs[vi]
        if x.vlan in ctx.pools.vlan:
            yield ctx.at((*path, "vlan"), f"VLAN {x.vlan} is inside pools.vlan ({ctx.pools.vlan}), which the fabric "
                         "gives networks and VRFs; tag external sub-interfaces outside it")
        for key in ("address", "address6"):
            local = getattr(x, key)
            if local is None:
                continue
            for pname, pnet in pools:
                if pnet.version == local.version and pnet.overlaps(local.network):
                    yield ctx.at((*path, key), f"link subnet {local.network} overlaps fabric pool {pname} ({pnet})")


@check("external_routers", "tenants")
def _external_vrfs(ctx: Ctx) -> Iterator[Problem]:
    """The VRF exists and has something to export; prefixes fit the session's families
    and do not overlap the tenant networks' subnets (imports)."""
    vrfs = {v.name for t in ctx.tenants for v in t.vrfs}
    subnets: dict[str, list[Net]] = {}
    for _p, n in ctx.networks():
        for gw in (n.gateway4, n.gateway6):
            if gw is not None:
                subnets.setdefault(n.vrf, []).append(gw.network)
    for path, r, li, vi in _sessions(ctx):
        x = r.links[li].vrfs[vi]
        if x.vrf not in vrfs:
            if not ctx.known(x.vrf, vrfs):
                yield ctx.at((*path, "vrf"), f"unknown VRF {x.vrf!r}")
            continue
        if x.export is None and not subnets.get(x.vrf):
            yield ctx.at((*path, "vrf"), f"VRF {x.vrf} has no network with a gateway to export; list `export` prefixes")
        for key in ("import", "export"):
            value = x.import_ if key == "import" else x.export
            if not isinstance(value, list):
                continue
            if not value:
                yield ctx.at((*path, key), f"empty {key} list" + ("; write `import: default` for the default route"
                                                                   if key == "import" else ""))
            for pi, p in enumerate(value):
                if p.version == 6 and x.address6 is None:
                    yield ctx.at((*path, key, pi), f"{p} is IPv6 but the session has no address6")
                if key == "import":
                    for own in subnets.get(x.vrf, []):
                        if own.version == p.version and own.overlaps(p) and p.prefixlen > 0:
                            yield ctx.at((*path, key, pi), f"import {p} overlaps network subnet {own} of VRF {x.vrf}")
                            break


@check("external_routers", "leaves", "fabric")
def _external_mtu(ctx: Ctx) -> Iterator[Problem]:
    """The link's IP MTU fits the border's port, which carries the fabric MTU."""
    media = ctx.sections["fabric"].mtu
    platform = {lf.name: lf.platform for lf in ctx.leaves}
    for ri, r in enumerate(_routers(ctx)):
        for li, link in enumerate(r.links):
            p = platform.get(link.leaf)
            if p is None:
                continue
            limit = max_tagged_ip_mtu(p, media)
            if link.ip_mtu > limit:
                yield ctx.at(("external_routers", ri, "links", li, "ip_mtu"),
                             f"IP MTU {link.ip_mtu} does not fit {link.leaf} ({p}): its port carries the fabric MTU "
                             f"{media} (fabric.mtu), a tagged sub-interface IP packets of at most {limit}")
