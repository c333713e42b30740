"""NX-OS renderer: one :class:`DeviceIntent` -> the CLI config of a Nexus 9000 switch.

NX-OS applies a config line by line and refuses a line whose feature or parent object
does not exist yet, so the sections come in dependency order (``templates/main.j2``):
features, then the objects later lines refer to (policies, VLANs with their VN segment,
VRFs with their L3 VNI, the anycast gateway MAC, the Multi-Site BGW), then interfaces
(SVIs join VRFs, fabric ports track the BGW), then ``interface nve1`` (members need the
VLAN's VN segment and the VRF's VNI), then ``router bgp`` and the ``evpn`` block.

The templates only print; what they print is decided in the intent, plus a few
NX-OS-specific derivations made here (:class:`NxosView`): feature lines, the dotted
gateway MAC, names of the Kubernetes policies and NX-OS prefix-list ranges.

Speed: a large fabric puts the same networks on hundreds of leaves. The text of the
shared per-network blocks (VLAN, SVI, NVE member) depends only on shared intent
objects, so it is rendered once per object and reused by identity (:class:`fabric.speed.IdentityCache`).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Any

import jinja2

from fabric.design.intent import (
    AnycastGateway,
    Bfd,
    BgpNeighbor,
    DeviceIntent,
    K8sPeering,
    Network,
    PrefixFilter,
    VrfInstance,
)
from fabric.errors import RenderError
from fabric.render.cli_text import cli_text, cli_word, nxos_mac
from fabric.render.external_policy import ExternalPolicy, external_policy
from fabric.render.k8s_policy import K8sPolicy, k8s_policy
from fabric.render.shared import dedupe_neighbors, template_environment
from fabric.speed import SLOT, IdentityCache, fill_slots, split_slots

TEMPLATES = Path(__file__).parent / "templates"

#: Stands for a per-device value (the RD) in text rendered once and shared by many leaves.

#: NX-OS limits: interface description 254, BGP neighbor description 80, VLAN name 32,
#: VRF name 32 characters.
DESCRIPTION_MAX = 254
NEIGHBOR_DESCRIPTION_MAX = 80
VLAN_NAME_MAX = 32
VRF_NAME_MAX = 32

#: Interface names of the loopbacks the design's addresses live on.
LOOPBACK = "loopback0"
VTEP_LOOPBACK = "loopback1"
MULTISITE_LOOPBACK = "loopback100"
#: Seconds a restarting BGW keeps its Multi-Site VIP down while BGP converges.
MULTISITE_DELAY_RESTORE = 300

#: NX-OS accepts BFD intervals of 50..999 ms; the intent's value is brought into that range.
BFD_MIN_MS = 50
BFD_MAX_MS = 999

#: Parameters of the shared block templates where a leaf does not override them.
BLOCK_DEFAULTS: dict[str, Any] = {"multisite": False, "bfd": None, "suppress_arp": False}

#: Models that render ``suppress-arp`` on their L2 VNIs. Cisco's VXLAN guide (9.3(x),
#: "Guidelines and Limitations for VXLAN") needs the ARP-ETHER TCAM region carved on older
#: Nexus 9300s but not on 9300-EX/FX/FX2/FX3/GX; the 93180YC-FX is a 9300-FX. Whether the
#: 9332C needs the carving is not verified here, so it does not suppress ARP (docs/vendor-notes.md).
ARP_SUPPRESSION_MODELS = frozenset({"n9k-93180yc-fx"})

GSHUT_LIST = "GSHUT"
DENY_ALL = "DENY-ALL"
NH_UNCHANGED = "NH-UNCHANGED"
DCI_SITE_TARGETS = "DCI-SITE-TARGETS"
"""Extended-community list of a border's own site route targets."""
DCI_EVPN_OUT = "DCI-EVPN-OUT"
"""Route-map on the Multi-Site (DCI) sessions: deletes the site's RTs, so only the
interconnect RTs cross to the other sites."""
CONNECTED = "CONNECTED-SUBNETS"


@dataclass(frozen=True, slots=True)
class VrfBgp:
    """``router bgp / vrf NAME``: the VRF instance and the Kubernetes peerings in it."""

    vrf: VrfInstance
    peerings: tuple[K8sPeering, ...]
    multipath_relax: bool
    maximum_paths: int
    external: tuple[ExternalPolicy, ...] = ()
    """External sessions in this VRF (border leaves)."""

    @property
    def aggregates(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """Aggregates the external sessions of this VRF announce (each once)."""
        return tuple(dict.fromkeys(a for p in self.external for a in p.session.aggregates))


@dataclass(frozen=True, slots=True)
class NxosView:
    """NX-OS derivations of one device's intent that the templates print."""

    hostname: str
    features: tuple[str, ...]
    gateway_mac: str
    policies: tuple[K8sPolicy, ...]
    vrf_bgp: tuple[VrfBgp, ...]
    underlay_neighbors: tuple[BgpNeighbor, ...]
    """IPv4 underlay sessions, fabric then DCI links (deduplicated)."""
    underlay_neighbors6: tuple[BgpNeighbor, ...]
    networks4: tuple[IPv4Network, ...]
    """Prefixes originated in the default VRF's ipv4 unicast (loopbacks, VTEP, BGW VIP)."""
    networks6: tuple[IPv6Network, ...]
    stitched_rts: dict[int, str]
    """L2 VNI -> DCI interconnect RT a border leaf also imports and exports."""
    bfd: str | None
    """Single-hop BFD timers (``interval X min_rx X multiplier M``) of the fabric ports."""
    bfd_multihop: str | None
    """Multihop BFD timers of the overlay sessions (global ``bfd multihop``)."""
    vlan_blocks: str
    svi_blocks: str
    nve_blocks: str
    evpn_blocks: str
    external: tuple[ExternalPolicy, ...] = ()
    """Filters of every external session (border leaves)."""


def prefix_modifiers(f: PrefixFilter) -> str:
    """NX-OS ``eq``/``ge``/``le`` for lengths ``min_length..max_length`` inside ``f.prefix``."""
    plen = f.prefix.prefixlen
    lo, hi = f.min_length, f.max_length
    if not plen <= lo <= hi <= f.prefix.max_prefixlen:
        raise RenderError(f"prefix filter {f.prefix} /{lo}-/{hi} is not inside the prefix")
    if lo == hi:
        return "" if lo == plen else f"eq {lo}"
    if lo == plen:
        return f"le {hi}"
    return f"ge {lo} le {hi}"


def bfd_timers(b: Bfd | None) -> str | None:
    """``interval X min_rx X multiplier M`` with X clamped to what NX-OS accepts
    (a 1000 ms intent becomes 999 ms; detection time stays within 0.1 %)."""
    if b is None:
        return None
    ms = min(max(b.interval_ms, BFD_MIN_MS), BFD_MAX_MS)
    return f"interval {ms} min_rx {ms} multiplier {b.multiplier}"


def _features(intent: DeviceIntent) -> tuple[str, ...]:
    """Feature lines, in the order NX-OS needs them (``nv overlay evpn`` after
    ``feature nv overlay``; spines need it too to carry the l2vpn evpn family)."""
    lines = ["feature bgp"]
    if intent.device.is_leaf:
        lines += ["feature interface-vlan", "feature vn-segment-vlan-based"]
    lines.append("feature nv overlay")
    if intent.device.is_leaf:
        lines.append("feature fabric forwarding")
    if "bfd" in intent.features():
        lines.append("feature bfd")
    if any(a.lag is not None for a in intent.servers):
        lines.append("feature lacp")
    # LLDP is off until enabled (Cisco NX-OS System Management Configuration Guide,
    # "Configuring LLDP"); Junos runs it on every port (protocols lldp)
    lines.append("feature lldp")
    lines.append("nv overlay evpn")
    return tuple(lines)




class NxosRenderer:
    """Renders NX-OS CLI (``<device>.cfg``) for Nexus 93180YC-FX / 9332C switches."""

    platform = "nxos"
    formats: tuple[str, ...] = ("cfg",)

    def __init__(self) -> None:
        self._env = template_environment(jinja2.FileSystemLoader(TEMPLATES))
        self._env.filters["desc"] = _desc_filter
        self._env.filters["ndesc"] = _neighbor_desc_filter
        self._env.filters["nxmac"] = nxos_mac
        self._env.filters["bfdtimers"] = bfd_timers
        self._env.globals.update(
            LOOPBACK=LOOPBACK, VTEP_LOOPBACK=VTEP_LOOPBACK, MULTISITE_LOOPBACK=MULTISITE_LOOPBACK,
            MULTISITE_DELAY_RESTORE=MULTISITE_DELAY_RESTORE, GSHUT=GSHUT_LIST, DENY_ALL=DENY_ALL,
            NH_UNCHANGED=NH_UNCHANGED, CONNECTED=CONNECTED, VLAN_NAME_MAX=VLAN_NAME_MAX,
            DCI_SITE_TARGETS=DCI_SITE_TARGETS, DCI_EVPN_OUT=DCI_EVPN_OUT,
        )
        self._main = self._env.get_template("main.j2")
        self._vlan = self._env.get_template("blocks/vlan.j2")
        self._svi = self._env.get_template("blocks/svi.j2")
        self._nve = self._env.get_template("blocks/nve_member.j2")
        self._evpn_vni = self._env.get_template("blocks/evpn_vni.j2")
        self._cache: IdentityCache[str] = IdentityCache(limit=100_000)
        self._parts: IdentityCache[tuple[str, ...]] = IdentityCache(limit=100_000)

    def render(self, intent: DeviceIntent) -> dict[str, str]:
        """``{"cfg": text}``."""
        return {"cfg": self.render_main(intent)}

    def render_main(self, intent: DeviceIntent) -> str:
        """The NX-OS CLI text; :class:`RenderError` naming the device if it cannot be rendered."""
        try:
            view = self._view(intent)
            return self._main.render(d=intent, v=view)
        except RenderError as e:
            raise RenderError(f"device {intent.device.name}: {e}") from None

    # ----------------------------------------------------------------- view

    def _view(self, intent: DeviceIntent) -> NxosView:
        dev = intent.device
        for vi in intent.vrfs:
            cli_word(vi.name, "VRF name", VRF_NAME_MAX)
        policies: dict[str, K8sPolicy] = {}
        for p in intent.kubernetes:
            if p.cluster not in policies:
                policies[p.cluster] = k8s_policy(p, prefix_modifiers)
        external = tuple(external_policy(s) for s in intent.external_sessions())
        vrf_bgp = tuple(self._vrf_bgp(intent, vi, external) for vi in intent.vrfs)
        dci = intent.dci
        net4: list[IPv4Network] = [n for n in intent.underlay.advertise if isinstance(n, IPv4Network)]
        net6: list[IPv6Network] = [n for n in intent.underlay.advertise if isinstance(n, IPv6Network)]
        if dci is not None:
            vip = IPv4Network(f"{dci.multisite_vip}/32")
            if vip not in net4:
                net4.append(vip)
        stitched_rts: dict[int, str] = {}
        if dci is not None:
            stitched_rts = {vni: str(dci.route_target) for vni in dci.vnis}
        l2 = tuple(v.network for v in intent.vnis)
        # Kubernetes SVIs carry the cluster's BFD timers; a border leaf's stretched VNIs
        # replicate to the other sites: the only per-leaf differences in shared blocks
        k8s_bfd = {p.vlan: bfd_timers(p.bfd) for p in intent.kubernetes if p.bfd is not None}
        multisite = {vni: True for vni in dci.vnis} if dci is not None else {}
        return NxosView(
            hostname=cli_word(dev.name, "device name"),
            features=_features(intent),
            gateway_mac=nxos_mac(intent.fabric.gateway_mac),
            policies=tuple(policies.values()),
            vrf_bgp=vrf_bgp,
            underlay_neighbors=dedupe_neighbors(intent.underlay.neighbors, dci.underlay_neighbors if dci else ()),
            underlay_neighbors6=dedupe_neighbors(intent.underlay.neighbors6, dci.underlay_neighbors6 if dci else ()),
            networks4=tuple(net4),
            networks6=tuple(net6),
            stitched_rts=stitched_rts,
            bfd=bfd_timers(intent.underlay.bfd),
            bfd_multihop=bfd_timers(intent.overlay.bfd),
            vlan_blocks=self._section(self._vlan, "n", l2),
            svi_blocks=self._section(self._svi, "g", intent.gateways, "bfd", k8s_bfd),
            nve_blocks=self._section(
                self._nve, "n", l2, "multisite", multisite,
                common={"suppress_arp": dev.model in ARP_SUPPRESSION_MODELS},
            ),
            evpn_blocks=self._evpn(intent, stitched_rts),
            external=external,
        )

    def _section(
        self,
        tpl: jinja2.Template,
        name: str,
        objs: tuple[Network, ...] | tuple[AnycastGateway, ...],
        param: str = "",
        values: dict[int, Any] | None = None,
        common: dict[str, Any] | None = None,
    ) -> str:
        """The blocks of ``objs`` (each rendered once, then reused) joined. ``values``
        maps an object's VLAN (gateways) or VNI (networks) to the template parameter
        ``param`` where it differs from the default; ``common`` holds parameters the same
        for every block of this device (part of the cache key)."""
        values = values or {}
        shared = tuple(sorted((common or {}).items()))
        extra = (tuple(sorted(values.items())), shared)

        def one(o: Network | AnycastGateway) -> str:
            value = values.get(o.vni if isinstance(o, Network) else o.vlan) if values else None
            params = {**BLOCK_DEFAULTS, **(common or {}), name: o}
            if param:
                params[param] = value
            return self._cache.get((tpl, o), (value, shared), lambda: tpl.render(params))

        return self._cache.get((tpl, *objs), extra, lambda: "".join(map(one, objs)))

    def _evpn(self, intent: DeviceIntent, stitched_rts: dict[int, str]) -> str:
        """``evpn`` VNI blocks: the shared text is rendered once per network set with a
        slot for the RD, then each leaf's RDs are filled in."""
        vnis = intent.vnis
        if not vnis:
            return ""
        nets = tuple(v.network for v in vnis)
        extra = tuple(sorted(stitched_rts.items()))

        def make() -> tuple[str, ...]:
            text = "".join(self._evpn_vni.render(n=n, rd=SLOT, stitched_rt=stitched_rts.get(n.vni)) for n in nets)
            try:
                return split_slots(text, len(nets))
            except ValueError:
                raise RenderError("evpn block template must print the RD exactly once per VNI") from None

        parts = self._parts.get((self._evpn_vni, *nets), extra, make)
        return fill_slots(parts, [v.rd for v in vnis])

    @staticmethod
    def _vrf_bgp(intent: DeviceIntent, vi: VrfInstance, external: tuple[ExternalPolicy, ...] = ()) -> VrfBgp:
        peerings = tuple(p for p in intent.kubernetes if p.vrf == vi.name)
        paths = max([intent.underlay.maximum_paths, *(p.maximum_paths for p in peerings)])
        return VrfBgp(
            vrf=vi,
            peerings=peerings,
            multipath_relax=vi.multipath_multiple_as or any(p.multipath_multiple_as for p in peerings),
            maximum_paths=paths,
            external=tuple(p for p in external if p.session.vrf == vi.name),
        )


def _desc_filter(value: object, what: str = "description") -> str:
    return cli_text(value, what, DESCRIPTION_MAX, nxos=True)


def _neighbor_desc_filter(value: object, what: str = "neighbor description") -> str:
    return cli_text(value, what, NEIGHBOR_DESCRIPTION_MAX, nxos=True)

