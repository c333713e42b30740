"""The one driver protocol every deploy target speaks (napalm, netconf, frr).

It is shaped like napalm's ``NetworkDriver`` (``napalm/base/base.py``) so that napalm's own
drivers fit behind it with a thin adapter, and so that a user who knows napalm knows this:

    open -> load_replace_candidate | load_merge_candidate -> compare_config
         -> commit_config(revert_in=N) -> [post-checks through the getters]
         -> confirm_commit | rollback
         -> close

A dry run is ``compare_config`` then ``discard_config``. ``rollback`` undoes the last commit
made through this driver (or, on a platform with rollback history, the device's last
commit). A driver never prints; every failure is a :class:`~fabric.errors.DeployError`
subclass from :mod:`fabric.deploy.errors` whose text never contains a credential.

The getters return the typed records below, not dict soup, so that ``fabric validate`` and
the rollout engine's post-checks compare like with like on every platform.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

LoadMode = Literal["replace", "merge"]
"""How a platform takes the rendered config: a full replace (pristine + rendered) or a merge."""

SessionState = Literal["established", "down"]


@dataclass(frozen=True)
class Connection:
    """How to reach one device. ``password`` is a secret: never log, print or persist it.

    ``timeout`` bounds every network call the driver makes (connect, RPC, read), in seconds.
    ``known_hosts`` is the SSH known_hosts file host keys are checked against; ``None``
    means host-key checking was turned off explicitly by the caller.
    ``options`` carries platform specifics (``port``, ``transport`` ...) as plain data.
    """

    host: str
    platform: str
    username: str = ""
    password: str = field(default="", repr=False)
    port: int | None = None
    timeout: float = 30.0
    known_hosts: str | None = None
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Facts:
    """What a device says it is."""

    hostname: str
    vendor: str
    model: str
    os_version: str
    serial: str = ""
    uptime_s: float = 0.0


@dataclass(frozen=True)
class BgpNeighbor:
    """One BGP session as the device sees it. ``vrf`` is ``"default"`` for the global table.

    ``prefixes_received`` maps an address family (``ipv4-unicast``, ``ipv6-unicast``,
    ``l2vpn-evpn``) to the number of prefixes accepted from this peer.
    """

    vrf: str
    address: str
    remote_as: int
    state: SessionState
    local_as: int = 0
    description: str = ""
    uptime_s: float = 0.0
    prefixes_received: dict[str, int] = field(default_factory=dict)

    @property
    def up(self) -> bool:
        return self.state == "established"


@dataclass(frozen=True)
class Interface:
    """One interface: admin and operational state, MTU, MAC."""

    name: str
    enabled: bool
    up: bool
    mtu: int = 0
    mac: str = ""
    description: str = ""


@dataclass(frozen=True)
class Vni:
    """One VXLAN network identifier on a VTEP.

    ``kind`` is ``l2`` (a VLAN / bridge domain) or ``l3`` (a VRF's symmetric-IRB VNI).
    ``remote_vteps`` are the flood-list / ingress-replication peers learned over EVPN.
    """

    vni: int
    kind: Literal["l2", "l3"]
    vlan: int | None = None
    vrf: str = ""
    local_vtep: str = ""
    remote_vteps: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    """One route in a routing table: the selected next hops (ECMP width = len(next_hops))."""

    prefix: str
    vrf: str = "default"
    protocol: str = ""
    next_hops: tuple[str, ...] = ()


@dataclass(frozen=True)
class EthernetSegment:
    """One EVPN Ethernet segment a VTEP knows (multihoming).

    ``local``: a port of this device is attached to it; ``vteps``: the other VTEPs attached
    to it, learned from their type-4 (Ethernet segment) routes."""

    esi: str
    local: bool
    vteps: tuple[str, ...] = ()
    port: str = ""


@runtime_checkable
class Driver(Protocol):
    """The candidate lifecycle of one device plus the getters the post-checks need.

    Implementations: ``fabric.deploy.drivers.napalm`` (junos, nxos),
    ``fabric.deploy.drivers.netconf`` (junos over ncclient), ``fabric.deploy.drivers.frr``
    (FRR routers, the lab). Found through :func:`fabric.deploy.registry.driver_for`.
    """

    name: str
    """The registry name of the driver (``napalm``, ``netconf``, ``frr``)."""

    def open(self) -> None:
        """Connect (and authenticate). Raises ``ConnectError`` on failure or host-key mismatch."""

    def close(self) -> None:
        """Disconnect; safe to call twice and after a failed ``open``."""

    def get_config(self) -> str:
        """The running configuration as text, in the form ``load_replace_candidate`` accepts."""

    def load_replace_candidate(self, config: str) -> None:
        """Stage ``config`` as the whole new configuration (not yet active)."""

    def load_merge_candidate(self, config: str) -> None:
        """Stage ``config`` merged onto the running configuration (not yet active)."""

    def compare_config(self) -> str:
        """The diff between the staged candidate and running, as text; ``""`` if none."""

    def discard_config(self) -> None:
        """Drop the staged candidate; running is untouched."""

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        """Make the candidate active. With ``revert_in`` (seconds) the device itself reverts
        to the previous configuration unless :meth:`confirm_commit` arrives in time."""

    def confirm_commit(self) -> None:
        """Confirm a pending ``commit_config(revert_in=...)``."""

    def has_pending_commit(self) -> bool:
        """Whether a confirmed commit is waiting for :meth:`confirm_commit`."""

    def rollback(self) -> None:
        """Return to the configuration before the last commit and make it active."""

    def get_facts(self) -> Facts: ...

    def get_bgp_neighbors(self) -> list[BgpNeighbor]: ...

    def get_interfaces(self) -> list[Interface]: ...

    def get_vnis(self) -> list[Vni]:
        """EVPN/VXLAN state; ``[]`` where the platform has none (a spine)."""

    def get_routes(self, vrf: str = "default") -> list[Route]: ...

    def get_ethernet_segments(self) -> list[EthernetSegment]:
        """The EVPN Ethernet segments; :class:`~fabric.deploy.errors.GetterUnsupported` where
        the platform's reply is not verified."""
