"""Kubernetes clusters whose nodes announce service addresses to their leaves over eBGP."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from pydantic import Field

from fabric.model.base import Asn, AsnRange, Name, StrictModel


class K8sNode(StrictModel):
    """A node: the leaf port it is cabled to and its address on the cluster's network.
    ``asn`` pins a value otherwise allocated from the cluster's ``asn`` range."""

    name: Name
    leaf: Name
    port: str
    address: IPv4Address
    address6: IPv6Address | None = None
    asn: Asn | None = None


class Cluster(StrictModel):
    """A cluster. Its nodes live on ``network`` (a tenant network, so the leaves peer from
    the anycast gateway in that network's VRF); they may announce only /32 and /128
    inside ``service_ranges``, at most ``max_prefixes`` each.

    ``asn`` is one ASN for every node, or a range from which each node gets its own."""

    name: Name
    network: Name
    asn: AsnRange
    service_ranges: list[IPv4Network | IPv6Network] = Field(min_length=1)
    max_prefixes: int = Field(default=100, ge=1, le=1_000_000)
    bfd: bool = True
    hold_time: int = Field(default=9, ge=3, le=65535)
    keepalive: int = Field(default=3, ge=1, le=21845)
    nodes: list[K8sNode] = Field(default_factory=list)
    description: str = ""

    @property
    def shared_asn(self) -> bool:
        """Every node uses the same ASN."""
        return self.asn.first == self.asn.last


class Kubernetes(StrictModel):
    """All clusters attached to the fabric."""

    clusters: list[Cluster] = Field(default_factory=list)
