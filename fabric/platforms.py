"""Platform and hardware-model facts as data: port names and capabilities.

Renderers check :data:`CAPABILITIES` before rendering; the inventory model checks that a
device's ``model`` belongs to its ``platform``; the default cabling takes port names from
:class:`HardwareModel`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Platform = Literal["junos", "nxos", "frr"]
PLATFORMS: tuple[Platform, ...] = ("junos", "nxos", "frr")


@dataclass(frozen=True)
class HardwareModel:
    """A switch model: which platform runs it and how its ports are named.

    ``uplinks`` are the ports a leaf uses towards the spines (in order); ``downlinks``
    are the ports a spine uses towards leaves, or a leaf uses towards hosts.
    """

    name: str
    platform: Platform
    uplinks: tuple[str, ...]
    downlinks: tuple[str, ...]
    description: str = ""


def _ports(fmt: str, first: int, last: int) -> tuple[str, ...]:
    return tuple(fmt.format(i) for i in range(first, last + 1))


MODELS: dict[str, HardwareModel] = {
    m.name: m
    for m in (
        HardwareModel(
            "qfx5120-48y", "junos", _ports("et-0/0/{}", 48, 55), _ports("xe-0/0/{}", 0, 47),
            "Juniper QFX5120-48Y: 48x25G + 8x100G",
        ),
        HardwareModel(
            "qfx5120-32c", "junos", _ports("et-0/0/{}", 0, 31), _ports("et-0/0/{}", 0, 31),
            "Juniper QFX5120-32C: 32x100G",
        ),
        HardwareModel(
            "n9k-93180yc-fx", "nxos", _ports("Ethernet1/{}", 49, 54), _ports("Ethernet1/{}", 1, 48),
            "Cisco Nexus 93180YC-FX: 48x25G + 6x100G",
        ),
        HardwareModel(
            "n9k-9332c", "nxos", _ports("Ethernet1/{}", 1, 32), _ports("Ethernet1/{}", 1, 32),
            "Cisco Nexus 9332C: 32x100G",
        ),
        HardwareModel(
            # FRR boxes (the lab, SONiC-style whiteboxes): Linux interface names
            "frr", "frr", _ports("swp{}", 1, 64), _ports("swp{}", 1, 4096), "FRR on Linux",
        ),
    )
}

# Spines with more downlinks than the model has are allowed to overflow into generated
# names for scale tests only when the model is generic; real models are enforced.
GENERIC_MODELS = frozenset({"frr"})

Feature = Literal[
    "evpn_vxlan",
    "anycast_gateway",
    "anycast_gateway_v6",
    "l3vni",
    "ipv6_underlay",
    "k8s_peering",
    "bfd",
    "dci_stitching",
    "commit_confirmed",
    "graceful_shutdown",
    "external_bgp",
    "evpn_multihoming",
]


CAPABILITIES: dict[Platform, frozenset[str]] = {
    "junos": frozenset({
        "evpn_vxlan", "anycast_gateway", "anycast_gateway_v6", "l3vni", "ipv6_underlay",
        "k8s_peering", "bfd", "dci_stitching", "commit_confirmed", "graceful_shutdown", "external_bgp", "evpn_multihoming",
    }),
    "nxos": frozenset({
        "evpn_vxlan", "anycast_gateway", "anycast_gateway_v6", "l3vni", "ipv6_underlay",
        "k8s_peering", "bfd", "dci_stitching", "commit_confirmed", "graceful_shutdown", "external_bgp", "evpn_multihoming",
    }),
    # FRR has no Multi-Site / interconnect stitching and no commit-confirmed of its own
    "frr": frozenset({
        "evpn_vxlan", "anycast_gateway", "anycast_gateway_v6", "l3vni", "ipv6_underlay",
        "k8s_peering", "bfd", "graceful_shutdown", "external_bgp", "evpn_multihoming",
    }),
}


# Junos counts the Ethernet header (14 bytes, no FCS) in an interface's `mtu` (the media
# MTU); its IP MTU is at most `mtu - 14`. NX-OS routed ports and Linux take the IP MTU.
# The two ends of a fabric link must agree on the IP MTU, so the design computes it per link.
L2_HEADER = 14
MTU_INCLUDES_L2_HEADER: dict[Platform, bool] = {"junos": True, "nxos": False, "frr": False}

VXLAN_OVERHEAD = 50
"""Outer IPv4 (20) + UDP (8) + VXLAN (8) + the inner Ethernet header (14)."""


EVPN_NEXT_HOP: dict[Platform, Literal["session", "vtep"]] = {
    # Junos: the next hop of its EVPN routes is the overlay session's local address, so that
    # address must be the VTEP source (as in Juniper's validated designs: one lo0.0 address).
    "junos": "session",
    # NX-OS advertises the NVE source-interface address (loopback1), FRR the VXLAN device's
    # local address, whatever the session's source is.
    "nxos": "vtep",
    "frr": "vtep",
}
"""Which address a platform puts as the BGP next hop of the EVPN routes it originates.
Remote VTEPs build their tunnels to that next hop, so it must be the VXLAN source."""


def max_ip_mtu(platform: Platform, media_mtu: int) -> int:
    """The largest IP packet a port of ``platform`` with MTU setting ``media_mtu`` carries."""
    return media_mtu - L2_HEADER if MTU_INCLUDES_L2_HEADER[platform] else media_mtu


VLAN_TAG = 4
"""An 802.1Q tag: a platform whose media MTU counts the Ethernet header counts the tag too."""


def max_tagged_ip_mtu(platform: Platform, media_mtu: int) -> int:
    """The largest IP packet a tagged sub-interface (unit) of a ``platform`` port with MTU
    setting ``media_mtu`` carries: Junos counts the tag in the media MTU, NX-OS and Linux
    do not (an IP MTU there is the IP packet)."""
    return max_ip_mtu(platform, media_mtu) - (VLAN_TAG if MTU_INCLUDES_L2_HEADER[platform] else 0)


def supports(platform: Platform, feature: str) -> bool:
    """Whether ``platform`` can render ``feature``."""
    return feature in CAPABILITIES[platform]


@dataclass(frozen=True)
class DeployProfile:
    """How ``fabric deploy`` puts a platform's config on a device: data, not code.

    ``driver`` is the default driver (``fabric.deploy.registry``); ``load`` is ``replace``
    (pristine + rendered replaces the whole running config) or ``merge``; ``config_format``
    is the rendered file extension the driver is given; ``drivers`` lists the drivers that
    can deploy the platform (a ``deploy.yaml`` may pick another one of them).
    ``unmanaged`` names what ``fabric onboard`` keeps from the running config as pristine
    (top-level statements or blocks, matched by their first words; see
    :mod:`fabric.deploy.pristine`). ``revert_in`` is the commit-confirmed timer in seconds.
    """

    driver: str
    load: Literal["replace", "merge"]
    config_format: str
    drivers: tuple[str, ...]
    unmanaged: tuple[str, ...]
    revert_in: int = 300
    require_pristine: bool = True


DEPLOY: dict[Platform, DeployProfile] = {
    "junos": DeployProfile(
        driver="napalm", load="replace", config_format="conf", drivers=("napalm", "netconf"),
        # hierarchy paths (space separated) kept from the device; matched by prefix
        unmanaged=(
            "version", "system root-authentication", "system login", "system authentication-order",
            "system radius-server", "system tacplus-server", "system accounting", "system syslog",
            "system management-instance", "system license", "system time-zone", "system archival", "system commit",
            "snmp", "interfaces em0", "interfaces em1", "interfaces fxp0", "interfaces re0:mgmt-0",
            "interfaces vme", "routing-instances mgmt_junos",
        ),
    ),
    "nxos": DeployProfile(
        driver="napalm", load="replace", config_format="cfg", drivers=("napalm",),
        # top-level lines or blocks whose first words match one of these
        unmanaged=(
            "version", "username", "role", "aaa", "tacacs-server", "radius-server", "ip tacacs", "ip radius",
            "feature tacacs+", "feature scp-server", "feature nxapi", "feature ssh", "ssh", "snmp-server",
            "license", "interface mgmt0", "vrf context management", "nxapi", "boot",
            "copp", "line", "callhome", "logging",
        ),
    ),
    "frr": DeployProfile(
        driver="frr", load="replace", config_format="frr.conf", drivers=("frr",),
        unmanaged=("password", "enable password", "log", "line vty"),
        revert_in=60, require_pristine=False,
    ),
}
