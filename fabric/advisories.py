"""Advisories: inventory values that are valid but probably wrong. They never stop a
command; ``fabric check`` and ``fabric build`` print each as ``warning: FILE:LINE: path:
message``.
"""

from __future__ import annotations

import re

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
    return out
