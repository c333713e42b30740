"""The FRR configs a lab runs: every device rendered by the FRR renderer from its own
intent, Junos and NX-OS devices as *FRR twins* (same addresses, ASNs, VNIs, route
targets; hardware port names made Linux names with :func:`~fabric.lab.topology.twin_port`).

Where the kernel has no VRF support (CONFIG_NET_VRF, as on the lab machines) the configs
keep tenant networks in the default table (``FrrRenderer(tenant_vrfs=False)``):
:data:`NO_VRF_REASON` says so, once, wherever that matters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from fabric.design.intent import (
    AccessInterface,
    BgpNeighbor,
    DeviceIntent,
    ExternalPort,
    FabricInterface,
    K8sPeering,
)
from fabric.lab.topology import twin_port
from fabric.render.frr import FrrRenderer

NO_VRF_REASON = (
    "this kernel has no VRF support (CONFIG_NET_VRF): the lab keeps tenant networks in the default table"
)


def twin_intent(intent: DeviceIntent) -> DeviceIntent:
    """``intent`` as an FRR device: the same numbers, Linux port names."""
    if intent.platform == "frr":
        return intent

    def fi(i: FabricInterface) -> FabricInterface:
        return replace(i, name=twin_port(i.name))

    def ai(a: AccessInterface) -> AccessInterface:
        return replace(a, name=twin_port(a.name))

    def nb(n: BgpNeighbor) -> BgpNeighbor:
        return replace(n, interface=twin_port(n.interface)) if n.interface else n

    def kp(k: K8sPeering) -> K8sPeering:
        return replace(k, nodes=tuple(replace(n, port=twin_port(n.port)) for n in k.nodes))

    def ep(e: ExternalPort) -> ExternalPort:
        name = twin_port(e.name)
        return replace(e, name=name, sessions=tuple(replace(s, interface=name) for s in e.sessions))

    underlay = replace(intent.underlay, neighbors=tuple(map(nb, intent.underlay.neighbors)),
                       neighbors6=tuple(map(nb, intent.underlay.neighbors6)))
    dci = intent.dci
    if dci is not None:
        dci = replace(dci, interfaces=tuple(map(twin_port, dci.interfaces)),
                      fabric_interfaces=tuple(map(twin_port, dci.fabric_interfaces)),
                      underlay_neighbors=tuple(map(nb, dci.underlay_neighbors)),
                      underlay_neighbors6=tuple(map(nb, dci.underlay_neighbors6)))
    return replace(
        intent,
        device=replace(intent.device, platform="frr"),
        interfaces=tuple(map(fi, intent.interfaces)),
        access_ports=tuple(map(ai, intent.access_ports)),
        underlay=underlay,
        kubernetes=tuple(map(kp, intent.kubernetes)),
        dci=dci,
        external=tuple(map(ep, intent.external)),
    )


def lab_configs(intents: Mapping[str, DeviceIntent], tenant_vrfs: bool) -> dict[str, str]:
    """``{device: frr.conf text}`` for every device of the fabric, as the lab runs it."""
    renderer = FrrRenderer(tenant_vrfs=tenant_vrfs)
    return {name: renderer.render_main(twin_intent(i)) for name, i in intents.items()}
