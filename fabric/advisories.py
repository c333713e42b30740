"""Advisories: inventory values that are valid but probably wrong. They never stop a
command; ``fabric check`` and ``fabric build`` print each as ``warning: FILE:LINE: path:
message``.
"""

from __future__ import annotations

import re

from fabric.checks import site_rt_admins
from fabric.errors import Problem
from fabric.model import Inventory
from fabric.yamlsrc import SourceMap

_VRRP_MAC = re.compile(r"^00:00:5e:00:0[12]:[0-9a-f]{2}$")
"""IANA's VRRP virtual router MACs: 00:00:5e:00:01:VRID (IPv4, RFC 5798) and
00:00:5e:00:02:VRID (IPv6)."""


def is_vrrp_mac(mac: str) -> bool:
    """Whether ``mac`` (colon form) is an IANA VRRP virtual router MAC."""
    return bool(_VRRP_MAC.match(mac.lower()))


def advisories(inventory: Inventory, source: SourceMap) -> list[Problem]:
    """Every advisory for ``inventory``, each pointing at the value it is about."""
    out: list[Problem] = []
    mac = inventory.pools.gateway_mac()
    if is_vrrp_mac(mac):
        vrid = int(mac.rsplit(":", 1)[1], 16)
        out.append(source.problem(
            ("pools", "anycast_gateway_mac"),
            f"{mac} is the VRRP virtual router MAC of VRID {vrid}: it collides with any VRRP group {vrid} "
            "in these VLANs; use a locally administered MAC (e.g. the default 02:00:00:00:01:01)",
        ))
    if inventory.fabric.underlay_ipv6 and not any(lf.loopback6 for lf in inventory.leaves):
        out.append(source.problem(
            ("fabric", "underlay_ipv6"),
            "no leaf has an IPv6 loopback (loopback6) for the IPv6 underlay to carry: its sessions are not "
            "rendered (the /127s are still numbered); give the leaves loopback6 or set underlay_ipv6: false",
        ))
    out.extend(_shared_site_admins(inventory, source))
    return out


def _shared_site_admins(inventory: Inventory, source: SourceMap) -> list[Problem]:
    """Sites joined by DCI links should each have their own route-target admin: then a
    route that reaches the other site with its site RTs still on (a border whose export
    policy does not strip them) imports nowhere there. Both vendors' borders strip them
    today, so sharing is not broken, only unguarded."""
    site_of = {lf.name: lf.site for lf in inventory.leaves}
    admins = site_rt_admins(inventory.fabric.sites, inventory.spines, inventory.pools)
    index = {s.name: i for i, s in enumerate(inventory.fabric.sites)}
    pairs = sorted({tuple(sorted((a, b))) for d in inventory.dci_links
                    if (a := site_of.get(d.a)) is not None and (b := site_of.get(d.b)) is not None and a != b})
    out: list[Problem] = []
    for a, b in pairs:
        admin = admins.get(a)
        if admin is None or admin != admins.get(b) or b not in index:
            continue
        site = inventory.fabric.sites[index[b]]
        path = (("fabric", "sites", index[b], "route_target_admin") if site.route_target_admin
                else ("pools", "route_targets", "admin") if inventory.pools.route_targets.admin
                else ("fabric", "sites", index[b]))
        out.append(source.problem(
            path,
            f"sites {a} and {b} are joined by DCI links but share route-target admin {admin}: a route that crosses "
            f"with its site route targets still on would be imported directly, bypassing the interconnect; give "
            f"each site its own fabric.sites[].route_target_admin",
        ))
    return out
