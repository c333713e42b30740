"""Kubernetes clusters whose nodes announce service addresses to their leaves over eBGP."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Literal

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


Speaker = Literal["bgp-agent", "frr", "bird"]
"""What speaks BGP on a cluster's nodes: ``bgp-agent`` (this project's agent, driving
ExaBGP), ``frr`` (e.g. MetalLB in FRR mode) or ``bird`` (e.g. Calico)."""

BFD_SPEAKERS: frozenset[str] = frozenset({"frr", "bird"})
"""Speakers that run BFD. ExaBGP (so bgp-agent) has no BFD: a leaf configuring BFD toward
it would wait for a BFD session that never comes up."""


class Cluster(StrictModel):
    """A cluster. Its nodes live on ``network`` (a tenant network; each leaf peers with its
    nodes in that network's VRF from an address of its own, ``pools.k8s_peering``, never
    from the anycast gateway every leaf shares); they may announce only /32 and /128 inside
    ``service_ranges``, at most ``max_prefixes`` each.

    ``asn`` is one ASN for every node, or a range from which each node gets its own.

    ``speaker`` says what speaks BGP on the nodes; ``fabric build`` writes agent configs
    for ``bgp-agent`` clusters only. ``bfd`` (BFD on the leaves' sessions to the nodes)
    defaults to what the speaker can do: on for ``frr`` and ``bird``, off for ``bgp-agent``,
    where asking for it is an error. Without BFD a node that dies silently is noticed when
    the hold time (``hold_time``, 9 s by default) expires."""

    name: Name
    network: Name
    asn: AsnRange
    service_ranges: list[IPv4Network | IPv6Network] = Field(min_length=1)
    max_prefixes: int = Field(default=100, ge=1, le=1_000_000)
    speaker: Speaker = "bgp-agent"
    bfd: bool | None = Field(default=None, description="default: on when the speaker runs BFD (frr, bird)")
    hold_time: int = Field(default=9, ge=3, le=65535)
    keepalive: int = Field(default=3, ge=1, le=21845)
    nodes: list[K8sNode] = Field(default_factory=list)
    description: str = ""

    @property
    def bfd_enabled(self) -> bool:
        """BFD on the leaves' sessions to the nodes: ``bfd`` or the speaker's default."""
        return self.bfd if self.bfd is not None else self.speaker in BFD_SPEAKERS

    @property
    def shared_asn(self) -> bool:
        """Every node uses the same ASN."""
        return self.asn.first == self.asn.last


class Kubernetes(StrictModel):
    """All clusters attached to the fabric."""

    clusters: list[Cluster] = Field(default_factory=list)
