"""External routers: what the border leaves hand the tenant VRFs to (a backbone, the
Internet edge). One eBGP session per VRF on a tagged sub-interface of a border port.

```yaml
external_routers:
  - name: backbone1
    asn: 64700
    bfd: {interval_ms: 300, multiplier: 3}   # optional: only if the router runs BFD too
    links:
      - leaf: border1
        port: et-0/0/10
        ip_mtu: 1500                    # both ends configure this IP MTU (default 1500)
        vrfs:
          - vrf: noc
            vlan: 4001                  # sub-interface / 802.1Q tag
            address: 192.0.2.0/31       # the leaf's end, with the subnet's length
            peer: 192.0.2.1             # the external router's end
            address6: 2001:db8:ff::/127
            peer6: 2001:db8:ff::1
            import: default             # or a list of prefixes
            export: [10.10.0.0/16]      # default: the VRF's network subnets
```
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface, IPv6Network
from typing import Annotated, Literal

from pydantic import Field

from fabric.model.base import Asn, Name, StrictModel, WithPrefix


class ExternalVrf(StrictModel):
    """One VRF handed to the external router: a sub-interface of the link's port in the
    VRF, and an eBGP session over it.

    ``import`` is ``default`` (accept only the default route) or a list of prefixes
    accepted exactly as written; what is accepted is also advertised into the fabric as
    EVPN type-5 routes. ``export`` lists the prefixes sent to the router, exactly; left
    out, they are the subnets of the VRF's networks. An exported prefix that is not one
    of those subnets is originated on the border as an aggregate (it is announced while a
    more specific route of the VRF exists)."""

    vrf: Name
    vlan: int = Field(ge=1, le=4094, description="802.1Q tag of the sub-interface (also its unit number)")
    address: Annotated[IPv4Interface, WithPrefix] = Field(
        description="the leaf's address with the subnet's length (/31 or /30), e.g. 192.0.2.0/31")
    peer: IPv4Address = Field(description="the external router's address in the same subnet")
    address6: Annotated[IPv6Interface, WithPrefix] | None = Field(
        default=None, description="the leaf's IPv6 address with its length (/127 or /126), optional")
    peer6: IPv6Address | None = Field(default=None, description="the external router's IPv6 address (with address6)")
    import_: Literal["default"] | list[IPv4Network | IPv6Network] = Field(
        default="default", alias="import",
        description="what the fabric accepts: `default` (the default route) or a list of prefixes (exact)")
    export: list[IPv4Network | IPv6Network] | None = Field(
        default=None, description="what the fabric announces (exact prefixes); default: the VRF's network subnets")
    description: str = ""


class ExternalLink(StrictModel):
    """A cable from a border leaf's port to the external router, carrying one tagged
    sub-interface per VRF. ``ip_mtu`` is the IP MTU of every sub-interface of the link:
    the external router must configure the same (a mismatch drops the larger packets
    one way, and stalls BGP updates that fill a packet)."""

    leaf: Name
    port: str
    ip_mtu: int = Field(
        default=1500, ge=1500, le=9216,
        description="IP MTU of the link's sub-interfaces, the same on the external router; 1500 (the Ethernet "
        "default every router takes) unless agreed otherwise; 1500-9216 (what NX-OS sub-interfaces take), and "
        "fabric check refuses more than the border's port carries",
    )
    vrfs: list[ExternalVrf] = Field(min_length=1)
    description: str = ""


class ExternalBfd(StrictModel):
    """BFD on the border leaves' eBGP sessions to one external router (single hop, both
    address families)."""

    interval_ms: int = Field(default=300, ge=50, le=999,
                             description="transmit and receive interval, 50-999 ms (the range NX-OS takes)")
    multiplier: int = Field(default=3, ge=2, le=50, description="detection multiplier, 2-50")


class ExternalRouter(StrictModel):
    """A router outside the fabric (not configured by it) that border leaves peer with."""

    name: Name
    asn: Asn
    bfd: ExternalBfd | None = Field(
        default=None,
        description="BFD on the sessions to this router, e.g. `{}` (300 ms x 3); default: none, since a "
        "router that does not run BFD would leave the BFD session down (only its operator knows)",
    )
    links: list[ExternalLink] = Field(min_length=1)
    description: str = ""
