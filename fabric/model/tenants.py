"""Tenants: VRFs (L3 VNI) and networks (VLAN + L2 VNI + anycast gateway)."""

from __future__ import annotations

from ipaddress import IPv4Interface, IPv6Interface
from typing import Annotated, Literal

from pydantic import Field

from fabric.model.base import Name, StrictModel, WithPrefix, WithPrefix6


class Vrf(StrictModel):
    """A tenant routing table, stretched over the fabric with an L3 VNI (EVPN type-5).
    ``l3vni`` and ``vlan`` (the VLAN NX-OS and FRR bind the L3 VNI to) pin allocated values."""

    name: Name
    l3vni: int | None = None
    vlan: int | None = None
    description: str = ""


class Network(StrictModel):
    """A stretched layer-2 segment with a distributed anycast gateway.

    ``leaves`` is ``all`` or a list of leaf names; ``racks`` adds every leaf of those
    racks. ``vlan`` and ``vni`` pin values that are otherwise allocated."""

    name: Name
    vrf: Name
    vlan: int | None = None
    vni: int | None = None
    gateway4: Annotated[IPv4Interface, WithPrefix] | None = Field(
        default=None, description="anycast gateway with the subnet's prefix length, e.g. 10.1.1.1/24")
    gateway6: Annotated[IPv6Interface, WithPrefix6] | None = Field(
        default=None, description="anycast gateway with the subnet's prefix length, e.g. 2001:db8::1/64")
    leaves: Literal["all"] | list[Name] = "all"
    racks: list[Name] = Field(default_factory=list)
    mtu: int = Field(default=9000, ge=1280, le=9216)
    description: str = ""


class Tenant(StrictModel):
    """A tenant owns VRFs and the networks in them."""

    name: Name
    vrfs: list[Vrf] = Field(default_factory=list)
    networks: list[Network] = Field(default_factory=list)
    description: str = ""
