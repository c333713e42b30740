"""Server attachments: hosts cabled to leaf ports, single-homed or dual-homed to a leaf pair.

A server has one or more ``links`` (leaf + port). All links on one leaf: a plain access or
trunk port, or a LAG of them. Links on the two leaves of a pair: EVPN multihoming
(all-active ESI-LAG); the ledger allocates the Ethernet segment's number and the LACP
system id both members announce, so the server sees one LACP partner.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from fabric.model.base import Name, StrictModel


class ServerLink(StrictModel):
    """One cable: the leaf and its port."""

    leaf: Name
    port: str


class Lacp(StrictModel):
    """LACP on the LAG: ``active`` or ``passive`` (a passive end never starts LACP, so
    the server must be active), PDUs every second (``fast``) or every 30 s (``slow``)."""

    mode: Literal["active", "passive"] = "active"
    rate: Literal["fast", "slow"] = "fast"


class Server(StrictModel):
    """A host attachment.

    ``mode: access`` carries exactly one network, untagged. ``mode: trunk`` carries
    ``networks`` tagged; ``native`` (one of them) goes untagged. Several links make a LAG
    with LACP (``lacp``); links on two leaves must be on the two leaves of a ``pair`` of
    the same platform (EVPN multihoming, ESI-LAG). ``mtu`` is the media MTU of the ports
    (default: the fabric MTU; NX-OS L2 ports take only 1500 or the system jumbo MTU)."""

    name: Name
    links: list[ServerLink] = Field(min_length=1)
    mode: Literal["access", "trunk"] = "access"
    networks: list[Name] = Field(min_length=1)
    native: Name | None = Field(default=None, description="trunk: the network sent untagged")
    lacp: Lacp = Field(default_factory=Lacp)
    mtu: int | None = Field(default=None, ge=1500, le=9216, description="default: the fabric MTU")
    description: str = ""

    def leaves(self) -> list[str]:
        """The leaves of the links, first appearance order."""
        return list(dict.fromkeys(link.leaf for link in self.links))

    @property
    def lag(self) -> bool:
        """More than one link: the ports form a LAG (one per leaf)."""
        return len(self.links) > 1

    @property
    def multihomed(self) -> bool:
        """Links on two leaves: an EVPN Ethernet segment."""
        return len(self.leaves()) > 1
