"""Resource pools the ledger allocates from."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from typing import Annotated

from netaddr import EUI, mac_unix_expanded
from pydantic import BeforeValidator, Field, field_validator

from fabric.model.base import ASN_MAX, AsnRange, IntRange, RangeIn, StrictModel

MAC_RE = r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$"


def _mac_text(v: object) -> object:
    if isinstance(v, int) and not isinstance(v, bool):
        # YAML 1.1 reads an unquoted 12:34:56:12:34:56 as a base-60 number
        raise ValueError("YAML read this unquoted MAC as a number: write it in quotes, e.g. \"00:00:5e:00:01:01\"")
    return v


class AsnPools(StrictModel):
    """ASN ranges per role. ``spines_share`` gives every spine the range's first ASN
    (the usual eBGP-everywhere design, which stops spine-to-spine paths)."""

    spine: AsnRange
    leaf: AsnRange
    border: AsnRange | None = Field(default=None, description="border leaves; default: the leaf range")
    spines_share: bool = True


class RouteTargets(StrictModel):
    """Route-target scheme: ``target:<admin>:<vni>`` on every device of a site, so that eBGP
    (different ASNs per leaf) imports what the other leaves export. A site may set its own
    admin (``fabric.sites[].route_target_admin``). Route distinguishers are
    ``<loopback>:<number>``, unique per device."""

    admin: int = Field(
        default=0, ge=0, le=ASN_MAX,
        description="RT admin field of sites without their own route_target_admin, and of the DCI interconnect "
        "route targets; 0 = the first spine's ASN (for a site: its first spine's ASN)",
    )


class Pools(StrictModel):
    """Every pool the ledger takes values from."""

    loopback: IPv4Network = Field(description="router id and EVPN peering, one /32 per switch")
    vtep: IPv4Network = Field(description="VXLAN source address, one /32 per leaf")
    p2p: IPv4Network = Field(description="fabric links, one /31 per link")
    p2p_v6: IPv6Network | None = Field(default=None, description="fabric links, one /127 per link")
    k8s_peering: IPv4Network | None = Field(
        default=None,
        description="the address a leaf peers with Kubernetes nodes from, one /32 per (VRF, leaf) with nodes, "
        "on a loopback in the VRF (never the anycast gateway, which every leaf shares); "
        "required when a cluster has nodes",
    )
    k8s_peering_v6: IPv6Network | None = Field(
        default=None,
        description="the same for the IPv6 sessions, one /128 per (VRF, leaf); required when a node has address6",
    )
    asn: AsnPools
    l2vni: RangeIn
    l3vni: RangeIn
    vlan: RangeIn
    anycast_gateway_mac: Annotated[str, BeforeValidator(_mac_text), Field(pattern=MAC_RE)] = Field(
        default="02:00:00:00:01:01",
        description="the anycast gateway MAC of every leaf; the default is locally administered (02:...), "
        "so it never collides with a VRRP group (00:00:5e:00:01:xx warns)",
    )
    route_targets: RouteTargets = Field(default_factory=RouteTargets)
    ethernet_segment: RangeIn = Field(
        default=IntRange(first=1, last=65535),
        description="Ethernet segment numbers of dual-homed servers (NX-OS ethernet-segment, FRR es-id, the last "
        "bytes of the Junos ESI), within 1-65535",
    )
    lacp_system_mac: Annotated[str, BeforeValidator(_mac_text), Field(pattern=MAC_RE)] = Field(
        default="02:4c:53:00:00:00",
        description="dual-homed servers' LACP system ids are allocated after this MAC (base + 1 .. base + 65535); "
        "locally administered unicast",
    )
    dci_vni_offset: int = Field(default=0, ge=0, description="reserved for translated DCI VNIs")

    @field_validator("l2vni", "l3vni")
    @classmethod
    def _vni_bounds(cls, v: object) -> object:
        first, last = getattr(v, "first", 1), getattr(v, "last", 1)
        if not (1 <= first <= last <= 16777214):
            raise ValueError("VNI range must lie in 1..16777214 with first <= last")
        return v

    @field_validator("vlan")
    @classmethod
    def _vlan_bounds(cls, v: object) -> object:
        first, last = getattr(v, "first", 1), getattr(v, "last", 1)
        if not (2 <= first <= last <= 4094):
            raise ValueError("VLAN range must lie in 2..4094 with first <= last")
        return v

    @field_validator("ethernet_segment")
    @classmethod
    def _es_bounds(cls, v: object) -> object:
        first, last = getattr(v, "first", 1), getattr(v, "last", 1)
        if not (1 <= first <= last <= 65535):
            raise ValueError("Ethernet segment range must lie in 1..65535 with first <= last")
        return v

    def gateway_mac(self) -> str:
        """The anycast gateway MAC in lower-case colon form (what Junos and FRR print:
        netaddr's ``mac_unix_expanded`` dialect; NX-OS's dotted form is
        :func:`fabric.render.cli_text.nxos_mac`)."""
        return str(EUI(self.anycast_gateway_mac, dialect=mac_unix_expanded))

