"""The Junos renderer: intent -> curly-brace text, then ``set`` lines and XML from it.

Only the curly-brace text is printed by templates (one per top-level hierarchy, included
in Junos' own order by ``junos.conf.j2``). The ``set`` form and the XML are printed from
the parsed tree of that text (:mod:`fabric.render.junos.tree`), so the three formats say
exactly the same thing.

Speed: a 256-leaf fabric with 500 networks per leaf is mostly irb units, VLANs and
``vni-options`` entries that are identical on every leaf. Those blocks are rendered once
per shared intent object and the per-device templates receive the joined text.
"""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface, IPv6Network
from typing import Any

import jinja2

from fabric.design.intent import AnycastGateway, DeviceIntent, Network, RouteTarget, VrfInstance
from fabric.errors import RenderError
from fabric.render.junos.escape import junos_string, junos_word
from fabric.render.junos.tree import SLOT, SharedBlock, StatementMemo, fill_marks, parse, to_set
from fabric.render.junos.view import JunosNames, JunosView, LeafBlocks, build_view, route_target
from fabric.render.junos.xml import to_xml
from fabric.render.shared import template_environment
from fabric.speed import ADDRESS_TYPES, IdentityCache, address_text

__all__ = ["JunosRenderer", "make_environment"]

_SAFE_TYPES = (str, int, IPv4Address, IPv6Address, IPv4Interface, IPv6Interface, IPv4Network, IPv6Network)


def _finalize(value: Any) -> Any:
    """Every ``{{ }}`` goes through here: strings must already be safe words or quoted
    text (the ``w`` / ``q`` filters, or names the view built from checked words); typed
    values (numbers, addresses) print as themselves."""
    if type(value) in ADDRESS_TYPES:
        return address_text(value)  # str() of it, faster (fabric.speed)
    if isinstance(value, _SAFE_TYPES):
        return value
    raise RenderError(f"template printed a {type(value).__name__}; print a field, not an object")


SHARED_BLOCKS_MAX = 1024
"""Distinct shared blocks a renderer keeps (emptied past it: a long-lived process that
renders fabric after fabric does not keep every old one)."""


def make_environment() -> jinja2.Environment:
    """The Jinja2 environment of the Junos templates (strict: an unknown name is an error)."""
    env = template_environment(jinja2.PackageLoader("fabric.render.junos", "templates"), _finalize)
    env.filters["w"] = junos_word
    env.filters["q"] = junos_string
    env.filters["rt"] = _rt_filter
    return env


def _rt_filter(rt: RouteTarget) -> str:
    return route_target(rt)


class JunosRenderer:
    """Juniper QFX5120 (Junos OS), ERB EVPN/VXLAN: ``.conf`` (curly-brace, the main
    text), ``.set`` and ``.xml`` (NETCONF, Juniper's YANG namespaces)."""

    platform = "junos"
    formats = ("conf", "set", "xml")

    def __init__(self) -> None:
        self._env = make_environment()
        self._main = self._env.get_template("junos.conf.j2")
        self._irb = self._env.get_template("irb_unit.j2")
        self._vlan = self._env.get_template("vlan.j2")
        self._vni = self._env.get_template("vni_option.j2")
        self._ra = self._env.get_template("router_advertisement.j2")
        self._cache: IdentityCache[str] = IdentityCache()
        # a leaf's blocks by its networks and gateway tuple (few distinct ones: a small limit)
        self._leaf: IdentityCache[LeafBlocks] = IdentityCache(limit=SHARED_BLOCKS_MAX)
        self._leaf_text: IdentityCache[str] = IdentityCache(limit=SHARED_BLOCKS_MAX)
        self._blocks_by_text: dict[str, SharedBlock] = {}
        self._serials = 0
        self._memo = StatementMemo()

    # ------------------------------------------------------------------ shared text

    def blocks(self, d: DeviceIntent) -> LeafBlocks:
        """What ``d``'s networks and gateways give the view (irb units, VLANs,
        vni-options, RA interfaces, the extended VNI list, the VLAN names): made once per
        distinct pair of network tuple and gateway tuple (the design shares the objects,
        and the gateway tuple itself, among the leaves that carry the same networks), each
        network's text once per shared object."""
        gateways = d.gateways
        nets = tuple([v.network for v in d.vnis])  # a list comprehension: faster than map(attrgetter)
        return self._leaf.get((*nets, gateways), "leaf", lambda: self._leaf_blocks(nets, gateways))

    def _leaf_blocks(self, nets: tuple[Network, ...], gateways: tuple[AnycastGateway, ...]) -> LeafBlocks:
        cache = self._cache
        irb_render = self._irb.render
        ra_render = self._ra.render
        irb = "".join([cache.get_one(g, "irb", lambda g=g: irb_render(g=g)) for g in gateways])  # type: ignore[misc]
        ra = "".join([
            cache.get_one(g, "ra", lambda g=g: ra_render(g=g))  # type: ignore[misc]
            for g in gateways if g.address6 is not None
        ])
        gw_networks = {g.network for g in gateways}
        vlan_render = self._vlan.render
        vni_render = self._vni.render
        vlans = "".join([
            cache.get_one(net, net.name in gw_networks,
                          lambda net=net: vlan_render(net=net, has_gateway=net.name in gw_networks))  # type: ignore[misc]
            for net in nets
        ])
        vnis = "".join([cache.get_one(net, "vni", lambda net=net: vni_render(net=net)) for net in nets])  # type: ignore[misc]
        vni_list = "        extended-vni-list [ " + " ".join([str(n.vni) for n in nets]) + " ];\n" if nets else ""
        return LeafBlocks(irb_units=irb, vlan_blocks=vlans, vni_options=vnis, router_advertisement=ra,
                          vni_list=vni_list, vlan_names={n.vlan: n.name for n in nets})

    def vrf_interfaces(self, d: DeviceIntent, vrf: VrfInstance) -> str:
        """The ``interface irb.N;`` lines of ``vrf`` on ``d`` (once per pair of the shared
        gateway tuple and the VRF's network tuple)."""
        gateways = d.gateways

        def make() -> str:
            gw_vlan = {g.network: g.vlan for g in gateways}
            lines = []
            for net in vrf.networks:
                unit = gw_vlan.get(net)
                if unit is None:
                    raise RenderError(f"{d.name}: VRF {vrf.name} lists network {net}, which has no gateway on this leaf")
                lines.append(f"        interface irb.{unit};\n")
            return "".join(lines)

        return self._leaf_text.get((gateways, vrf.networks), "vrf", make)

    def view(self, intent: DeviceIntent) -> JunosView:
        """The renderer-side view of ``intent`` (what the templates read besides it)."""
        return build_view(intent, self)

    # ------------------------------------------------------------------ Renderer protocol

    def render_main(self, intent: DeviceIntent) -> str:
        """The curly-brace configuration text (``.conf``)."""
        return self._main.render(d=intent, v=self.view(intent), n=JunosNames)

    def render(self, intent: DeviceIntent) -> dict[str, str]:
        """``conf``, ``set`` and ``xml`` of one device, all from the same text.

        The text is rendered with a placeholder statement ``__slot__ N;`` where each
        shared text goes (irb units, VLANs, vni-options, RA interfaces, each VRF's irb
        interfaces, the extended VNI list: the bulk of a leaf, the same on many leaves; N
        is the block's serial); the ``.conf`` is that text with the shared texts put in,
        and the ``set`` and XML forms print each distinct one once
        (:class:`~fabric.render.junos.tree.SharedBlock`). The rest, the skeleton (~520
        lines on a leaf, most of them the same on every leaf), is parsed through
        :class:`~fabric.render.junos.tree.StatementMemo`, which tokenizes each distinct
        line once and keeps the XML of each block by its text."""
        skeleton, blocks, marked = self.skeleton(intent)
        conf = fill_marks(skeleton, blocks, marked)
        memo = self._memo.parse(skeleton)
        # not one statement per line: the plain parser (and its errors)
        tree = memo.stmts if memo is not None else parse(skeleton)
        return {"conf": conf, "set": to_set(tree, blocks), "xml": to_xml(tree, slots=blocks, memo=memo)}

    def skeleton(self, intent: DeviceIntent) -> tuple[str, dict[int, SharedBlock], list[int]]:
        """The text of ``intent`` with a placeholder where each shared block goes, the
        blocks by serial, and the serials in the order they were placed."""
        view = self.view(intent)
        blocks: dict[int, SharedBlock] = {}
        marked: list[int] = []

        def mark(text: str) -> str:
            # a placeholder statement only where the text is not empty (the templates test it)
            if not text:
                return ""
            block = self._shared(text)
            blocks[block.serial] = block
            marked.append(block.serial)
            return f"{SLOT} {block.serial};\n"

        with_marks = dataclasses.replace(
            view, irb_units=mark(view.irb_units), vlan_blocks=mark(view.vlan_blocks),
            vni_options=mark(view.vni_options), router_advertisement=mark(view.router_advertisement),
            vni_list=mark(view.vni_list), vrf_interfaces={k: mark(t) for k, t in view.vrf_interfaces.items()},
        )
        return self._main.render(d=intent, n=JunosNames, v=with_marks), blocks, marked

    def _shared(self, text: str) -> SharedBlock:
        """The parsed block of ``text`` (by content: equal text, one block)."""
        hit = self._blocks_by_text.get(text)
        if hit is None:
            if len(self._blocks_by_text) >= SHARED_BLOCKS_MAX:
                self._blocks_by_text.clear()
            self._serials += 1  # never reused: a placeholder's number always means one text
            hit = self._blocks_by_text[text] = SharedBlock(text, self._serials)
        return hit
