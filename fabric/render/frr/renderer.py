"""FRR renderer: one :class:`DeviceIntent` -> ``frr.conf`` for FRR 8.4 (``frr defaults
datacenter``), the lab's routers and SONiC-style boxes.

The same design as the switches: eBGP underlay on the /31s (and /127s), eBGP EVPN between
loopbacks (spines pass routes on with the VTEP as next hop), L2 VNIs with explicit RD/RT
(``vni`` blocks under ``advertise-all-vni``), one L3 VNI per VRF (``vrf NAME / vni``
and ``router bgp ASN vrf NAME`` advertising type-5), and eBGP to the Kubernetes nodes
with the service-route import policy.

Only ``frr.conf`` is written: the Linux side (bridges, VXLAN devices, SVIs named
:func:`svi_name`, VRF devices) is built by whoever runs FRR (the lab). Sections follow
``templates/main.j2``: zebra (VRFs, interfaces), bfdd profiles, policy, then bgpd, so
that every name a line refers to is defined above it.

``tenant_vrfs=False`` renders for a kernel without VRF support (the lab machine): tenant
interfaces and the Kubernetes sessions go into the default instance and the L3 VNIs are
left out, because FRR cannot bring up a VRF whose kernel device cannot exist.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path

import jinja2

from fabric.design.intent import Bfd, BgpNeighbor, DeviceIntent, K8sPeering, PrefixFilter, VrfInstance
from fabric.errors import RenderError
from fabric.render.cli_text import cli_text, cli_word
from fabric.render.external_policy import ExternalPolicy, external_policy
from fabric.render.k8s_policy import K8sPolicy, k8s_policy
from fabric.render.shared import dedupe_neighbors, template_environment

TEMPLATES = Path(__file__).parent / "templates"

#: FRR caps descriptions at 80 characters for BGP neighbors; interfaces take more, but
#: the Linux ifalias stops at 255 bytes.
NEIGHBOR_DESCRIPTION_MAX = 80
DESCRIPTION_MAX = 255
#: Longest Linux interface name (IFNAMSIZ - 1).
IFNAME_MAX = 15

GSHUT_LIST = "GSHUT"
DENY_ALL = "DENY-ALL"


def bond_name(lag: int) -> str:
    """Linux name of a server LAG (the bond the lab creates)."""
    return f"bond{lag}"


def svi_name(vlan: int) -> str:
    """Linux name of the SVI of ``vlan`` (the bridge VLAN interface the lab creates)."""
    return f"vlan{vlan}"


@dataclass(frozen=True, slots=True)
class K8sGroup:
    """Peer groups of one cluster on this leaf (IPv4 and IPv6 sessions) and its policy."""

    peering: K8sPeering
    policy: K8sPolicy
    group4: str
    group6: str
    bfd_profile: str | None
    has6: bool


@dataclass(frozen=True, slots=True)
class PeeringSource:
    """A leaf's own addresses toward Kubernetes nodes in one VRF (on the VRF device, or on
    ``lo`` without kernel VRFs)."""

    vrf: str
    address4: IPv4Address
    address6: IPv6Address | None


@dataclass(frozen=True, slots=True)
class BfdProfile:
    """A bfdd profile: timers shared by the sessions that name it."""

    name: str
    interval_ms: int
    multiplier: int


@dataclass(frozen=True, slots=True)
class ExternalBgp:
    """The external sessions of one BGP instance and what the instance originates for them."""

    policies: tuple[ExternalPolicy, ...]
    aggregates4: tuple[IPv4Network, ...]
    aggregates6: tuple[IPv6Network, ...]
    networks4: tuple[IPv4Network, ...]
    """Announced subnets originated with ``network`` (only in the default instance without
    kernel VRFs, where no ``redistribute connected`` puts them in BGP)."""
    networks6: tuple[IPv6Network, ...]


NO_EXTERNAL = ExternalBgp((), (), (), (), ())


def external_bgp(policies: tuple[ExternalPolicy, ...],
                 connected: tuple[IPv4Network | IPv6Network, ...] = ()) -> ExternalBgp:
    """Group ``policies`` into one instance's :class:`ExternalBgp` (each prefix once).
    ``connected``: subnets to originate with ``network`` (what ``redistribute connected``
    puts in a VRF's BGP table; given only for the default instance without kernel VRFs)."""
    if not policies:
        return NO_EXTERNAL
    aggs = list(dict.fromkeys(a for p in policies for a in p.session.aggregates))
    nets = list(dict.fromkeys(connected))
    return ExternalBgp(
        policies=policies,
        aggregates4=tuple(a for a in aggs if isinstance(a, IPv4Network)),
        aggregates6=tuple(a for a in aggs if isinstance(a, IPv6Network)),
        networks4=tuple(a for a in nets if isinstance(a, IPv4Network)),
        networks6=tuple(a for a in nets if isinstance(a, IPv6Network)),
    )


@dataclass(frozen=True, slots=True)
class BgpInstance:
    """``router bgp ASN [vrf NAME]``: the tenant side of one VRF (or, without kernel VRFs,
    of the default instance)."""

    vrf: VrfInstance | None
    groups: tuple[K8sGroup, ...]
    multipath_relax: bool
    maximum_paths: int
    external: ExternalBgp = NO_EXTERNAL


@dataclass(frozen=True, slots=True)
class FrrView:
    """FRR derivations of one device's intent that the templates print."""

    hostname: str
    tenant_vrfs: bool
    external_bfd: dict[Bfd, str]
    """BFD timers of external sessions -> their profile."""
    other_site_admins: tuple[int, ...]
    """Route-target admins of the fabric's other sites: FRR has no DCI stitching (its
    borders pass EVPN routes between sites unchanged), so it also imports their RTs."""
    bfd_profiles: tuple[BfdProfile, ...]
    underlay_profile: str | None
    overlay_profile: str | None
    underlay_neighbors: tuple[BgpNeighbor, ...]
    underlay_neighbors6: tuple[BgpNeighbor, ...]
    overlay_neighbors: tuple[BgpNeighbor, ...]
    networks4: tuple[IPv4Network, ...]
    networks6: tuple[IPv6Network, ...]
    policies: tuple[K8sPolicy, ...]
    tenant: tuple[BgpInstance, ...]
    """Per-VRF instances (``tenant_vrfs``), or one default-instance entry without a VRF."""
    default_groups: tuple[K8sGroup, ...]
    """Kubernetes groups that live in the default instance (``tenant_vrfs=False``)."""
    peering_sources: tuple[PeeringSource, ...]
    """The leaf's Kubernetes peering addresses, one entry per VRF."""
    external: tuple[ExternalPolicy, ...] = ()
    """Filters of every external session (border leaves)."""
    default_external: ExternalBgp = NO_EXTERNAL
    """External sessions in the default instance (``tenant_vrfs=False``)."""


def prefix_modifiers(f: PrefixFilter) -> str:
    """FRR ``ge``/``le`` for lengths ``min_length..max_length`` inside ``f.prefix``
    (FRR has no ``eq``: an exact length is ``ge N le N``)."""
    plen = f.prefix.prefixlen
    lo, hi = f.min_length, f.max_length
    if not plen <= lo <= hi <= f.prefix.max_prefixlen:
        raise RenderError(f"prefix filter {f.prefix} /{lo}-/{hi} is not inside the prefix")
    if lo == hi == plen:
        return ""
    if lo == plen:
        return f"le {hi}"
    return f"ge {lo} le {hi}"


class _Profiles:
    """Collects BFD profiles by timers, so equal timers share one profile."""

    def __init__(self) -> None:
        self.by_timers: dict[tuple[int, int], BfdProfile] = {}

    def name(self, bfd: Bfd | None, name: str) -> str | None:
        if bfd is None:
            return None
        key = (bfd.interval_ms, bfd.multiplier)
        prof = self.by_timers.get(key)
        if prof is None:
            prof = self.by_timers[key] = BfdProfile(name, bfd.interval_ms, bfd.multiplier)
        return prof.name


class FrrRenderer:
    """Renders ``<device>.frr.conf`` for FRR 8.4."""

    platform = "frr"
    formats: tuple[str, ...] = ("frr.conf",)

    def __init__(self, *, tenant_vrfs: bool = True) -> None:
        self.tenant_vrfs = tenant_vrfs
        self._env = template_environment(jinja2.FileSystemLoader(TEMPLATES))
        self._env.filters["desc"] = lambda v, what="description": cli_text(v, what, DESCRIPTION_MAX, nxos=False)
        self._env.filters["ndesc"] = lambda v, what="neighbor": cli_text(v, what, NEIGHBOR_DESCRIPTION_MAX, nxos=False)
        self._env.filters["ifname"] = _ifname
        self._env.globals.update(GSHUT=GSHUT_LIST, DENY_ALL=DENY_ALL, svi_name=svi_name, bond_name=bond_name)
        self._main = self._env.get_template("main.j2")

    def render(self, intent: DeviceIntent) -> dict[str, str]:
        """``{"frr.conf": text}``."""
        return {"frr.conf": self.render_main(intent)}

    def render_main(self, intent: DeviceIntent) -> str:
        """The ``frr.conf`` text; :class:`RenderError` naming the device if it cannot be rendered."""
        try:
            return self._main.render(d=intent, v=self._view(intent))
        except RenderError as e:
            raise RenderError(f"device {intent.device.name}: {e}") from None

    def _view(self, intent: DeviceIntent) -> FrrView:
        profiles = _Profiles()
        underlay_profile = profiles.name(intent.underlay.bfd, "UNDERLAY")
        overlay_profile = profiles.name(intent.overlay.bfd, "OVERLAY")
        dci = intent.dci
        policies: dict[str, K8sPolicy] = {}
        groups: list[K8sGroup] = []
        for p in intent.kubernetes:
            pol = policies.get(p.cluster) or policies.setdefault(p.cluster, k8s_policy(p, prefix_modifiers))
            base = "K8S-" + p.cluster.upper()
            groups.append(K8sGroup(
                peering=p,
                policy=pol,
                group4=base,
                group6=base + "-V6",
                bfd_profile=profiles.name(p.bfd, base),
                has6=p.local_address6 is not None and any(n.address6 is not None for n in p.nodes),
            ))
        sources: dict[str, PeeringSource] = {}
        for p in intent.kubernetes:
            src = PeeringSource(p.vrf, p.local_address, p.local_address6)
            if sources.setdefault(p.vrf, src) != src:
                raise RenderError(f"VRF {p.vrf}: clusters peer from different addresses ({sources[p.vrf].address4}, "
                                  f"{p.local_address})")
        for vi in intent.vrfs:
            cli_word(vi.name, "VRF name", IFNAME_MAX)
        tenant: tuple[BgpInstance, ...] = ()
        default_groups: tuple[K8sGroup, ...] = ()
        external = tuple(external_policy(s) for s in intent.external_sessions())
        default_external = NO_EXTERNAL
        if self.tenant_vrfs:
            tenant = tuple(
                replace(self._instance(intent, vi, tuple(g for g in groups if g.peering.vrf == vi.name)),
                        external=external_bgp(tuple(p for p in external if p.session.vrf == vi.name)))
                for vi in intent.vrfs
            )
        else:
            default_groups = tuple(groups)
            # the VRFs' connected subnets, as `redistribute connected` would put them in the
            # VRF's BGP table: exported as they are, and contributors of the aggregates
            ext_vrfs = {p.session.vrf for p in external}
            connected = tuple(a.network for g in intent.gateways if g.vrf in ext_vrfs
                              for a in (g.address4, g.address6) if a is not None)
            default_external = external_bgp(external, connected)
        net4 = [n for n in intent.underlay.advertise if isinstance(n, IPv4Network)]
        net6 = [n for n in intent.underlay.advertise if isinstance(n, IPv6Network)]
        external_bfd = {s.bfd: name for s in intent.external_sessions() if s.bfd is not None
                        for name in [profiles.name(s.bfd, "EXTERNAL")] if name is not None}
        return FrrView(
            hostname=cli_word(intent.device.name, "device name"),
            external_bfd=external_bfd,
            tenant_vrfs=self.tenant_vrfs,
            other_site_admins=tuple(sorted(
                {s.route_target_admin for s in intent.fabric.sites} - {intent.fabric.rt_admin(intent.device.site)})),
            bfd_profiles=tuple(profiles.by_timers.values()),
            underlay_profile=underlay_profile,
            overlay_profile=overlay_profile,
            underlay_neighbors=dedupe_neighbors(intent.underlay.neighbors, dci.underlay_neighbors if dci else ()),
            underlay_neighbors6=dedupe_neighbors(intent.underlay.neighbors6, dci.underlay_neighbors6 if dci else ()),
            overlay_neighbors=dedupe_neighbors(intent.overlay.neighbors, dci.overlay_neighbors if dci else ()),
            networks4=tuple(net4),
            networks6=tuple(net6),
            policies=tuple(policies.values()),
            tenant=tenant,
            default_groups=default_groups,
            peering_sources=tuple(sources.values()),
            external=external,
            default_external=default_external,
        )

    @staticmethod
    def _instance(intent: DeviceIntent, vi: VrfInstance, groups: tuple[K8sGroup, ...]) -> BgpInstance:
        paths = max([intent.underlay.maximum_paths, *(g.peering.maximum_paths for g in groups)])
        return BgpInstance(
            vrf=vi,
            groups=groups,
            multipath_relax=vi.multipath_multiple_as or any(g.peering.multipath_multiple_as for g in groups),
            maximum_paths=paths,
        )


def _ifname(value: object) -> str:
    return cli_word(value, "interface name", IFNAME_MAX)


