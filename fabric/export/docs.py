"""Markdown documentation of a fabric: an overview (``index.md``) and a page per device.

Pages are plain GitHub-flavoured Markdown tables, in the view's order, with no dates or
versions in them: the same fabric gives byte-identical pages. Every user-written text
(descriptions) goes through :func:`fabric.export.text.md`; names and addresses are shown as
inline code.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

from fabric.design.intent import Device, ServerAttachment
from fabric.export.text import md, md_code
from fabric.export.view import LAG_NAME, NODE_PORT, ExportError, FabricView, cluster_asn, link_end
from fabric.speed import address_text

INDEX = "index.md"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    return _table_of_lines(header, [_row(r) for r in rows])


def _table_of_lines(header: Sequence[str], lines: list[str]) -> list[str]:
    """A table whose rows are already formatted (:func:`_row`)."""
    return [_row(header), "|" + "|".join("---" for _ in header) + "|", *lines, ""]


def _link(name: str) -> str:
    # device names are validated ([A-Za-z0-9._-]), so they are safe in a link target
    return f"[{md(name)}]({name}.md)"


def _opt(value: object) -> str:
    return md_code(value) if value not in (None, "") else "-"


ROLE_TEXT = {"spine": "spine", "leaf": "leaf", "border": "border leaf"}


def index_md(view: FabricView) -> str:
    """The fabric overview page."""
    lines = [f"# Fabric {md(view.name)}", ""]
    if view.description:
        lines += [md(view.description), ""]
    n_border = sum(1 for d in view.devices if d.role == "border")
    kinds = {k: sum(1 for c in view.links if c.kind == k) for k in ("fabric", "dci")}
    kinds["access"] = len(view.access)
    servers = len({c.server for c in view.server_cables})
    lines += [
        f"- {len(view.spines)} spines, {len(view.leaves)} leaves ({n_border} border)",
        f"- {kinds['fabric']} leaf-spine links, {kinds['dci']} DCI links, {kinds['access']} access ports, "
        f"{len(view.server_cables)} server ports ({servers} servers)"
        " (see `cabling.csv`)",
        f"- {len(view.vrfs)} VRFs, {len(view.segments)} networks, {len(view.clusters)} Kubernetes clusters",
        f"- fabric MTU {view.mtu}, anycast gateway MAC {md_code(view.gateway_mac)}",
        "",
        "## Sites",
        "",
    ]
    rows = []
    for site, description in view.sites:
        sp = view.at_site(site, view.spines)
        lf = view.at_site(site, view.leaves)
        rows.append([_opt(site), md(description) or "-", str(len(sp)), str(len(lf))])
    lines += _table(["site", "description", "spines", "leaves"], rows)
    lines += ["## Devices", ""]
    lines += _table(
        ["device", "role", "site", "rack", "platform", "model", "mgmt", "loopback", "VTEP", "ASN"],
        ([_link(d.name), ROLE_TEXT[d.role], _opt(d.site), _opt(d.rack), d.platform, md_code(d.model),
          _opt(d.mgmt), md_code(d.loopback), _opt(d.vtep), str(d.asn)] for d in view.devices),
    )
    lines += ["## Links", ""]
    lines += _table(
        ["kind", "A", "A port", "B", "B port", "IPv4", "IPv6"],
        ([k.kind, _link(k.a.device), md_code(k.a.port), _link(k.b.device), md_code(k.b.port),
          _opt(k.a.address.network), _opt(k.a.address6.network if k.a.address6 is not None else None)]
         for k in view.links),
    )
    lines += ["## Tenants", ""]
    tenants = list(dict.fromkeys([v.tenant for v in view.vrfs] + [s.tenant for s in view.segments]))
    if not tenants:
        lines += ["No tenants.", ""]
    for t in tenants:
        lines += [f"### Tenant {md(t)}", ""]
        lines += _table(
            ["VRF", "L3 VNI", "VLAN (L3 VNI)", "description"],
            ([md_code(v.name), str(v.l3vni), str(v.vlan), md(v.description) or "-"]
             for v in view.vrfs if v.tenant == t),
        )
        lines += _table(
            ["network", "VRF", "VLAN", "VNI", "gateway IPv4", "gateway IPv6", "MTU", "leaves", "description"],
            ([md_code(s.name), md_code(s.vrf), str(s.vlan), str(s.vni), _opt(s.gateway4), _opt(s.gateway6),
              str(s.mtu), _leaves_text(view, s.leaves), md(s.description) or "-"]
             for s in view.segments if s.tenant == t),
        )
    lines += ["## Kubernetes clusters", ""]
    if not view.clusters:
        lines += ["No clusters.", ""]
    for c in view.clusters:
        lines += [f"### Cluster {md(c.name)}", ""]
        if c.description:
            lines += [md(c.description), ""]
        lines += [
            f"- network {md_code(c.network)} in VRF {md_code(c.vrf)}, node ASN {md_code(cluster_asn(c))}",
            f"- service ranges: {', '.join(md_code(r) for r in c.service_ranges)}"
            " (only /32 and /128 inside them are accepted)",
            f"- at most {c.max_prefixes} prefixes per node; speaker {md_code(c.speaker)}, "
            + ("BFD on" if c.bfd else f"no BFD: a silent node failure is detected by the hold time ({c.hold_time} s)"),
            f"- leaves: {', '.join(_link(x) for x in view.cluster_leaves(c)) or '-'}",
            "",
        ]
        lines += _table(
            ["node", "leaf", "port", "IPv4", "IPv6", "ASN"],
            ([md_code(n.name), _link(n.leaf), md_code(n.port), md_code(n.address.ip),
              _opt(n.address6.ip if n.address6 is not None else None), str(n.asn)]
             for n in view.cluster_nodes(c)),
        )
    return "\n".join(lines)


def _leaves_text(view: FabricView, leaves: Sequence[str]) -> str:
    if len(leaves) == len(view.leaves) and leaves:
        return "all"
    return ", ".join(md_code(x) for x in leaves) or "-"


def _peering_rows(view: FabricView, d: Device) -> list[list[str]]:
    rows = []
    for p in view.peerings.get(d.name, ()):
        kind = f"{p.kind} ({md(p.detail)})" if p.detail else p.kind
        peer = _link(p.peer) if view.has_device(p.peer) else md_code(p.peer)
        via = p.via if p.via == "loopback" else (f"VRF {md_code(p.via[4:])}" if p.via.startswith("VRF ") else _opt(p.via))
        rows.append([kind, md_code(p.neighbor), str(p.asn), peer, via])
    return rows


def _server_row(d: Device, a: ServerAttachment) -> list[str]:
    vlans = ", ".join(str(v) + (" (untagged)" if a.mode == "trunk" and v == a.vlan else "") for v in a.vlans)
    seg = a.segment
    es = (f"{md_code(seg.esi)} with {_link(seg.peer)} (LACP system id {md_code(seg.system_mac)})"
          if seg is not None else "-")
    lacp = "" if a.lag is None else (f", LACP {'active' if a.lacp_active else 'passive'}"
                                     f" {'fast' if a.lacp_fast else 'slow'}")
    return [md_code(a.server), ", ".join(md_code(p) for p in a.ports),
            (md_code(LAG_NAME[d.platform].format(a.lag)) + lacp) if a.lag is not None else "-", a.mode, vlans, es]


def device_md(view: FabricView, name: str, row_cache: dict[Hashable, str] | None = None) -> str:
    """The page of one device. ``row_cache`` shares formatted network rows (and whole
    network tables) between the pages of one build."""
    d = view.device(name)
    lines = [f"# {md(d.name)}", ""]
    if d.description:
        lines += [md(d.description), ""]
    lines += [f"Fabric: [{md(view.name)}]({INDEX})", ""]
    facts = [
        ("role", ROLE_TEXT[d.role]),
        ("platform", d.platform),
        ("model", md_code(d.model)),
        ("site", _opt(d.site)),
        ("pod", _opt(d.pod)),
        ("rack", _opt(d.rack)),
        ("redundant pair", _link(d.pair) if d.pair and view.has_device(d.pair) else "-"),
        ("management", _opt(d.mgmt)),
        ("loopback (router id, EVPN)", md_code(d.loopback)),
        ("loopback IPv6", _opt(d.loopback6)),
        ("VTEP", _opt(d.vtep)),
        ("ASN", str(d.asn)),
    ]
    lines += _table(["", ""], ([k, v] for k, v in facts))
    lines += ["## Interfaces", ""]
    rows = [["loopback", "-", "-", "loopback", md_code(f"{address_text(d.loopback)}/32"),
             md_code(f"{address_text(d.loopback6)}/128") if d.loopback6 is not None else "-"]]
    if d.vtep is not None:
        rows.append(["VTEP source", "-", "-", "loopback", md_code(f"{address_text(d.vtep)}/32"), "-"])
    for k in view.links_of(d.name):
        port, peer, mine4, mine6, peer_port = link_end(k, d.name)
        v4 = f"{address_text(mine4.ip)}/31"
        v6 = f"{address_text(mine6.ip)}/127" if mine6 is not None else ""
        rows.append([md_code(port), _link(peer) if view.has_device(peer) else md_code(peer), md_code(peer_port),
                     k.kind, _opt(v4), _opt(v6)])
    for n in view.nodes_on(d.name):
        rows.append([md_code(n.port), md_code(n.name), md_code(NODE_PORT), f"access, VLAN {n.vlan}", "-", "-"])
    cables = view.server_cables_on(d.name)
    for c in cables:
        kind = "server" + (f", {md_code(LAG_NAME[d.platform].format(c.attachment.lag))}"
                           if c.attachment.lag is not None else "")
        rows.append([md_code(c.port), md_code(c.server), md_code(c.nic), kind, "-", "-"])
    lines += _table(["port", "peer", "peer port", "kind", "IPv4", "IPv6"], rows)
    if cables:
        lines += ["## Servers", ""]
        lines += _table(["server", "ports", "LAG", "mode", "VLANs", "Ethernet segment"],
                        (_server_row(d, a) for a in dict.fromkeys(c.attachment for c in cables)))
    lines += ["## BGP peerings", ""]
    lines += _table(["session", "neighbor", "ASN", "peer", "via"], _peering_rows(view, d))
    if d.is_leaf:
        seg_by_name = view.segment_index
        vrf_names = set(view.device_vrfs.get(d.name, ()))
        lines += ["## VRFs", ""]
        lines += _table(["VRF", "tenant", "L3 VNI", "VLAN (L3 VNI)"],
                        ([md_code(v.name), md(v.tenant), str(v.l3vni), str(v.vlan)]
                         for v in view.vrfs if v.name in vrf_names))
        lines += ["## Networks (VLAN / VNI / anycast gateway)", ""]
        # every leaf prints the same row for a network: format each one once per build
        cache = row_cache if row_cache is not None else {}
        keys = view.device_vnis.get(d.name, ())
        table = cache.get(keys)  # leaves with the same networks: one table text
        if table is None:
            net_rows: list[str] = []
            for key in keys:
                row = cache.get(key)
                if row is None:
                    s, stitched = seg_by_name[key[0]], key[1]
                    row = cache[key] = _row([
                        md_code(s.name) + (" (stitched for DCI)" if stitched else ""), md_code(s.vrf), str(s.vlan),
                        str(s.vni), _opt(s.gateway4) if not stitched else "-", _opt(s.gateway6) if not stitched else "-",
                        str(s.mtu),
                    ])
                net_rows.append(row)
            table = cache[keys] = "\n".join(
                _table_of_lines(["network", "VRF", "VLAN", "VNI", "gateway IPv4", "gateway IPv6", "MTU"], net_rows))
        lines.append(table)
    return "\n".join(lines)


def docs_pages(view: FabricView) -> dict[str, str]:
    """Every page: ``index.md`` and ``<device>.md``, file name -> Markdown text."""
    if any(f"{d.name}.md" == INDEX for d in view.devices):
        raise ExportError(f"a device named {INDEX[:-3]!r} would overwrite the docs overview; rename it")
    pages = {INDEX: index_md(view)}
    cache: dict[Hashable, str] = {}
    pages.update({f"{d.name}.md": device_md(view, d.name, cache) for d in view.devices})
    return pages
