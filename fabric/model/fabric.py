"""Sites, switches and the cabling between them."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv6Address
from typing import Annotated, Literal

from pydantic import Field

from fabric.model.base import ASN_MAX, Asn, Name, StrictModel, WithPrefix
from fabric.platforms import Platform


class Site(StrictModel):
    """A data center. Pods are optional groupings of racks inside it."""

    name: Name
    pods: list[Name] = Field(default_factory=list)
    description: str = ""
    route_target_admin: int = Field(
        default=0, ge=0, le=ASN_MAX,
        description="admin field of this site's route targets (L2 VNIs, L3 VNIs, the EVPN instance); "
        "0 = pools.route_targets.admin if set, else the ASN of the site's first spine. Sites joined by "
        "DCI links should have different admins (fabric check warns); the DCI interconnect RTs use "
        "pools.route_targets.admin (or the first spine's ASN) in every site",
    )


class Switch(StrictModel):
    """Fields common to spines and leaves. ``loopback``, ``asn`` (and ``vtep`` on leaves)
    pin a value that would otherwise be allocated from the pools."""

    name: Name
    platform: Platform
    model: str = Field(description="hardware model, e.g. qfx5120-48y, n9k-93180yc-fx, n9k-9332c, frr")
    mgmt: Annotated[IPv4Interface, WithPrefix] | None = Field(
        default=None, description="management address with its prefix length, e.g. 192.168.0.11/24")
    site: Name | None = None
    pod: Name | None = None
    loopback: IPv4Address | None = None
    asn: Asn | None = None
    description: str = ""


class Spine(Switch):
    """A spine: underlay transit and EVPN route server (next hop unchanged)."""


class Leaf(Switch):
    """A leaf: VTEP with the anycast gateway; ``border`` leaves also stitch sites together."""

    role: Literal["server", "border"] = "server"
    rack: Name | None = None
    pair: Name | None = Field(default=None, description="the other leaf of a redundant pair")
    vtep: IPv4Address | None = None
    loopback6: IPv6Address | None = None


class Link(StrictModel):
    """One leaf-to-spine cable."""

    leaf: Name
    leaf_port: str
    spine: Name
    spine_port: str


class DciLink(StrictModel):
    """A cable between border leaves of two sites, carrying the DCI underlay and overlay."""

    a: Name
    a_port: str
    b: Name
    b_port: str


class FabricSettings(StrictModel):
    """Fabric-wide settings."""

    name: Name
    sites: list[Site] = Field(default_factory=list)
    mtu: int = Field(default=9216, ge=1500, le=9216, description="fabric link MTU")
    underlay_ipv6: bool = Field(default=False, description="also number fabric links from pools.p2p_v6")
    bfd: bool = Field(default=True, description="BFD on underlay sessions")
    ntp: list[IPv4Address] = Field(default_factory=list)
    dns: list[IPv4Address] = Field(default_factory=list)
    description: str = ""
