"""Pure parsers of the Junos and NX-OS replies behind the VNI and route getters.

Each takes what the switch answers (NX-API ``cli`` JSON bodies as Python data, Junos RPC
replies as lxml elements in any namespace) and returns the typed records of
:mod:`fabric.deploy.driver`. Protocol names are normalized to FRR's (``connected``,
``local``, ``static``, ``bgp``, ...) so that ``fabric validate`` compares like with like on
every platform; next hops are addresses, or the interface for a directly connected or
local route.

Reply shapes (what was checked, and how, is in docs/deploy.md):

- NX-OS ``show ip route vrf V`` / ``show ipv6 route vrf V``: ``TABLE_vrf.ROW_vrf[]``
  (``vrf-name-out``) -> ``TABLE_addrf.ROW_addrf[]`` -> ``TABLE_prefix.ROW_prefix[]``
  (``ipprefix``) -> ``TABLE_path.ROW_path[]`` (``ipnexthop``, ``ifname``, ``clientname``,
  ``ubest``). A ``ROW_*`` holding one entry is an object, several a list; values are
  strings (``"true"``).
- NX-OS ``show nve vni``: ``TABLE_nve_vni.ROW_nve_vni[]`` (``vni``, ``type`` ``L2 [100]`` /
  ``L3 [VRF]``); ``show nve vni ingress-replication``: the same rows, each with its
  replication list as ``TABLE_peer.ROW_peer[]`` ``repl-ip`` (this JSON layout is not
  verified against a switch: the text form is ``nve1 10101 10.196.7.7 BGP-IMET 1d02h``). The
  local VTEP is left empty on NX-OS.
- Junos ``get-route-information``: ``route-table[]`` (``table-name``) -> ``rt[]``
  (``rt-destination`` with or without ``rt-prefix-length``) -> ``rt-entry[]`` (the active
  one has ``current-active``/``active-tag`` ``*``; ``protocol-name``) -> ``nh[]`` (``to``,
  ``via``, ``nh-local-interface``).
- Junos ``get-ethernet-switching-vxlan-rvtep-info`` (``show ethernet-switching
  vxlan-tunnel-end-point remote``): ``vxlan-source-vtep-information`` (``source-vtep-address``)
  -> ``vxlan-remote-vtep-information[]`` (``remote-vtep-address``) ->
  ``vxlan-dynamic-information[]`` -> ``vxlan-format/vn-id``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from ipaddress import ip_address, ip_interface
from typing import Any, Literal

from fabric.deploy.driver import Route, Vni

# --- helpers -----------------------------------------------------------------------------------


def rows(table: Any, name: str) -> list[dict[str, Any]]:
    """``TABLE_<name>.ROW_<name>`` as a list (NX-API gives one row as an object)."""
    if not isinstance(table, dict):
        return []
    t = table.get(f"TABLE_{name}")
    if not isinstance(t, dict):
        return []
    r = t.get(f"ROW_{name}")
    if isinstance(r, dict):
        return [r]
    if isinstance(r, list):
        return [x for x in r if isinstance(x, dict)]
    return []


def addr_key(a: str) -> tuple[int, int, str]:
    """Sort key: addresses in numeric order (v4 first), anything else after them."""
    try:
        ip = ip_address(a)
    except ValueError:
        return (9, 0, a)
    return (ip.version, int(ip), "")


def _hops(hops: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({h for h in hops if h}, key=addr_key))


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _kids(el: Any, name: str) -> Iterator[Any]:
    return (c for c in el if isinstance(c.tag, str) and _local(c.tag) == name)


def _text(el: Any, name: str) -> str:
    for c in _kids(el, name):
        return (c.text or "").strip()
    return ""


def _descendants(el: Any, name: str) -> Iterator[Any]:
    """Every element named ``name`` at or under ``el`` (nothing for PyEZ's ``True``, the
    answer without content)."""
    if not hasattr(el, "iter"):
        return iter(())
    return (e for e in el.iter() if isinstance(e.tag, str) and _local(e.tag) == name)


_NXOS_PROTOCOLS = {"direct": "connected", "local": "local", "static": "static", "hmm": "hmm", "am": "am"}


def _nxos_protocol(client: str) -> str:
    client = client.strip().lower()
    if client.startswith("bgp"):
        return "bgp"
    if client.startswith("ospf"):
        return "ospf"
    return _NXOS_PROTOCOLS.get(client, client)


_JUNOS_PROTOCOLS = {"direct": "connected", "local": "local", "static": "static", "bgp": "bgp",
                    "evpn": "evpn", "ospf": "ospf", "access-internal": "access-internal"}


def _junos_protocol(name: str) -> str:
    name = name.strip().lower()
    return _JUNOS_PROTOCOLS.get(name, name)


# --- NX-OS -------------------------------------------------------------------------------------


def nxos_routes(body: Any, vrf: str = "default") -> list[Route]:
    """``show ip route vrf V`` or ``show ipv6 route vrf V`` (NX-API JSON): the best
    (``ubest``) paths of every prefix; a path without a next-hop address (attached) is
    named by its interface."""
    out = []
    for v in rows(body, "vrf"):
        name = str(v.get("vrf-name-out", vrf) or vrf)
        for af in rows(v, "addrf"):
            for p in rows(af, "prefix"):
                prefix = str(p.get("ipprefix", ""))
                if not prefix:
                    continue
                paths = rows(p, "path")
                best = [x for x in paths if str(x.get("ubest", "")).lower() == "true"] or paths
                if not best:
                    continue
                protocol = _nxos_protocol(str(best[0].get("clientname", "")))
                hops = []
                for path in best:
                    nh = str(path.get("ipnexthop") or path.get("ipv6nexthop") or "")
                    if protocol in ("connected", "local") or not nh:
                        nh = str(path.get("ifname") or nh)
                    hops.append(nh)
                out.append(Route(prefix=str(ip_interface(prefix).network) if protocol != "local" else prefix,
                                 vrf=name, protocol=protocol, next_hops=_hops(hops)))
    return out


_NX_TYPE = re.compile(r"\s*(L2|L3)\s*(?:\[\s*([^\]]*?)\s*\])?", re.IGNORECASE)


def nxos_vnis(nve_vni: Any, ingress: Any = None) -> list[Vni]:
    """``show nve vni`` (+ ``show nve vni ingress-replication`` for the remote VTEPs)."""
    remotes: dict[int, list[str]] = {}
    for r in rows(ingress, "nve_vni"):
        try:
            vni = int(str(r.get("vni", "")))
        except ValueError:
            continue
        peers = remotes.setdefault(vni, [])
        for peer in rows(r, "peer"):
            ip = str(peer.get("repl-ip", "") or "")
            if ip:
                peers.append(ip)
    out = []
    for r in rows(nve_vni, "nve_vni"):
        try:
            vni = int(str(r.get("vni", "")))
        except ValueError:
            continue
        m = _NX_TYPE.match(str(r.get("type", "")))
        kind: Literal["l2", "l3"] = "l3" if m and m.group(1).upper() == "L3" else "l2"
        ctx = (m.group(2) or "") if m else ""
        vlan = int(ctx) if kind == "l2" and ctx.isdigit() else None
        out.append(Vni(vni=vni, kind=kind, vlan=vlan, vrf=ctx if kind == "l3" else "",
                       remote_vteps=_hops(remotes.get(vni, ()))))
    return sorted(out, key=lambda v: v.vni)


# --- Junos -------------------------------------------------------------------------------------

#: the parts of the committed configuration that say which VNIs exist
JUNOS_VNI_CONFIG = (
    '<get-configuration database="committed" format="xml">'
    "<configuration><vlans/><routing-instances/></configuration></get-configuration>"
)


def junos_tables(vrf: str) -> tuple[str, str]:
    """The IPv4 and IPv6 unicast tables of ``vrf`` (``inet.0`` for the default one)."""
    prefix = "" if vrf in ("default", "master") else f"{vrf}."
    return (f"{prefix}inet.0", f"{prefix}inet6.0")



def junos_table_vrf(table: str) -> tuple[str, int] | None:
    """``inet.0`` -> ("default", 4); ``k8s.inet6.0`` -> ("k8s", 6); other tables -> None."""
    m = re.fullmatch(r"(?:(.+)\.)?inet(6?)\.0", table)
    if not m:
        return None
    return (m.group(1) or "default", 6 if m.group(2) else 4)


def junos_routes(root: Any, vrf: str = "default") -> list[Route]:
    """``<get-route-information>``'s answer: the active entry of every destination of the
    ``inet.0``/``inet6.0`` tables (``VRF.inet.0`` for a routing instance) with all its next
    hops (the ECMP set); a directly connected or local route is named by its interface."""
    out = []
    for table in _descendants(root, "route-table"):
        which = junos_table_vrf(_text(table, "table-name"))
        if which is None or which[0] != vrf:
            continue
        for rt in _kids(table, "rt"):
            dest = _text(rt, "rt-destination")
            plen = _text(rt, "rt-prefix-length")
            if dest and "/" not in dest and plen:
                dest = f"{dest}/{plen}"
            entries = list(_kids(rt, "rt-entry"))
            active = next((e for e in entries if any(True for _ in _kids(e, "current-active"))
                           or _text(e, "active-tag") == "*"), None)
            if not dest or active is None:
                continue
            protocol = _junos_protocol(_text(active, "protocol-name"))
            hops = []
            for nh in _kids(active, "nh"):
                to = _text(nh, "to")
                via = _text(nh, "via") or _text(nh, "nh-local-interface")
                hops.append(via if protocol in ("connected", "local") or not to else to)
            out.append(Route(prefix=dest if protocol == "local" else str(ip_interface(dest).network), vrf=vrf,
                             protocol=protocol, next_hops=_hops(hops)))
    return out


def junos_remote_vteps(root: Any) -> tuple[str, dict[int, list[str]]]:
    """``show ethernet-switching vxlan-tunnel-end-point remote``: (local VTEP, VNI -> remote VTEPs)."""
    local = ""
    by_vni: dict[int, list[str]] = {}
    for src in _descendants(root, "vxlan-source-vtep-information"):
        local = local or _text(src, "source-vtep-address")
        for rv in _kids(src, "vxlan-remote-vtep-information"):
            addr = _text(rv, "remote-vtep-address")
            for vn in _descendants(rv, "vn-id"):
                try:
                    by_vni.setdefault(int((vn.text or "").strip()), []).append(addr)
                except ValueError:
                    continue
    return local, by_vni


def junos_vnis(config: Any, rvtep: Any) -> list[Vni]:
    """The VNIs of the committed configuration (``vlans NAME vlan-id N vxlan vni V``; a
    routing instance's ``protocols evpn irb-symmetric-routing vni`` or ``ip-prefix-routes
    vni`` as an L3 VNI) with the remote VTEPs the switch learned for each (``rvtep``: the
    answer of ``get-ethernet-switching-vxlan-rvtep-info``). ``config`` is a
    ``<configuration>`` element (any namespace)."""
    local, remotes = junos_remote_vteps(rvtep)
    out: dict[int, Vni] = {}
    for cfg in _descendants(config, "configuration"):
        for vlans in _kids(cfg, "vlans"):
            for vlan in _kids(vlans, "vlan"):
                vni_text = next((_text(x, "vni") for x in _kids(vlan, "vxlan")), "")
                vid = _text(vlan, "vlan-id")
                if vni_text.isdigit():
                    v = int(vni_text)
                    out[v] = Vni(vni=v, kind="l2", vlan=int(vid) if vid.isdigit() else None, local_vtep=local,
                                 remote_vteps=_hops(remotes.get(v, ())))
        for ris in _kids(cfg, "routing-instances"):
            for ri in _kids(ris, "instance"):
                name = _text(ri, "name")
                for evpn in (e for p in _kids(ri, "protocols") for e in _kids(p, "evpn")):
                    found = [_text(x, "vni") for x in (*_kids(evpn, "irb-symmetric-routing"),
                                                       *_kids(evpn, "ip-prefix-routes"))]
                    for vni_text in found:
                        if vni_text.isdigit():
                            v = int(vni_text)
                            out[v] = Vni(vni=v, kind="l3", vrf=name, local_vtep=local,
                                         remote_vteps=_hops(remotes.get(v, ())))
        break
    return sorted(out.values(), key=lambda v: v.vni)
