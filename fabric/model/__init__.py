"""Typed inventory model (pydantic v2), one file per concept."""

from fabric.model.base import IntRange, StrictModel
from fabric.model.external import ExternalLink, ExternalRouter, ExternalVrf
from fabric.model.fabric import DciLink, FabricSettings, Leaf, Link, Site, Spine, Switch
from fabric.model.inventory import Inventory
from fabric.model.kubernetes import Cluster, K8sNode, Kubernetes
from fabric.model.pools import AsnPools, Pools, RouteTargets
from fabric.model.tenants import Network, Tenant, Vrf

__all__ = [
    "AsnPools", "Cluster", "DciLink", "ExternalLink", "ExternalRouter", "ExternalVrf", "FabricSettings", "IntRange",
    "Inventory", "K8sNode",
    "Kubernetes", "Leaf", "Link", "Network", "Pools", "RouteTargets", "Site", "Spine",
    "StrictModel", "Switch", "Tenant", "Vrf",
]
