"""The whole inventory: what the YAML files of one folder describe together."""

from __future__ import annotations

from pydantic import Field

from fabric.model.base import StrictModel
from fabric.model.deploy import DeploySettings
from fabric.model.external import ExternalRouter
from fabric.model.fabric import DciLink, FabricSettings, Leaf, Link, Spine
from fabric.model.kubernetes import Kubernetes
from fabric.model.pools import Pools
from fabric.model.tenants import Network, Tenant, Vrf


class Inventory(StrictModel):
    """A validated fabric inventory. Names of devices, networks, VRFs and clusters are
    the stable keys the allocation ledger uses."""

    fabric: FabricSettings
    pools: Pools
    spines: list[Spine] = Field(min_length=1)
    leaves: list[Leaf] = Field(min_length=1)
    cabling: list[Link] | None = Field(
        default=None, description="leaf-to-spine cables; default: every leaf to every spine"
    )
    dci_links: list[DciLink] = Field(default_factory=list)
    tenants: list[Tenant] = Field(default_factory=list)
    kubernetes: Kubernetes = Field(default_factory=Kubernetes)
    external_routers: list[ExternalRouter] = Field(
        default_factory=list, description="routers outside the fabric that border leaves hand tenant VRFs to"
    )
    deploy: DeploySettings = Field(default_factory=DeploySettings, description="how fabric deploy reaches devices")

    def switches(self) -> list[Spine | Leaf]:
        """Spines then leaves, in inventory order."""
        return [*self.spines, *self.leaves]

    def networks(self) -> list[Network]:
        """Every network of every tenant, in inventory order."""
        return [n for t in self.tenants for n in t.networks]

    def vrfs(self) -> list[Vrf]:
        """Every VRF of every tenant, in inventory order."""
        return [v for t in self.tenants for v in t.vrfs]
