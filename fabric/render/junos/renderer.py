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

from fabric.design.intent import DeviceIntent, RouteTarget
from fabric.errors import RenderError
from fabric.render.junos.escape import junos_string, junos_word
from fabric.render.junos.tree import SLOT, SharedBlock, StatementMemo, fill_marks, parse, to_set
from fabric.render.junos.view import JunosNames, JunosView, build_view, route_target
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
        self._texts: dict[tuple[str, tuple[int, ...]], str] = {}
        self._blocks_by_text: dict[str, SharedBlock] = {}
        self._serials = 0
        self._memo = StatementMemo()

    # ------------------------------------------------------------------ shared text

    def blocks(self, d: DeviceIntent) -> tuple[str, str, str, str]:
        """Irb units, VLANs, vni-options and RA interfaces of ``d``: each network's text
        rendered once per shared object, each leaf's joined text once per tuple of them."""
        cache = self._cache
        gateways = d.gateways
        irb_render = self._irb.render
        ra_render = self._ra.render
        irb = cache.get(gateways, "irb", lambda: "".join([
            cache.get_one(g, "irb", lambda g=g: irb_render(g=g)) for g in gateways  # type: ignore[misc]
        ]))
        ra = cache.get(gateways, "ra", lambda: "".join([
            cache.get_one(g, "ra", lambda g=g: ra_render(g=g))  # type: ignore[misc]
            for g in gateways if g.address6 is not None
        ]))
        nets = tuple(v.network for v in d.vnis)
        gw_networks = {g.network for g in gateways}
        has_gw = tuple(net.name in gw_networks for net in nets)
        vlan_render = self._vlan.render
        vni_render = self._vni.render
        vlans = cache.get(nets, ("vlan", has_gw), lambda: "".join([
            cache.get_one(net, gw, lambda net=net, gw=gw: vlan_render(net=net, has_gateway=gw))  # type: ignore[misc]
            for net, gw in zip(nets, has_gw, strict=True)
        ]))
        vnis = cache.get(nets, "vni", lambda: "".join([
            cache.get_one(net, "vni", lambda net=net: vni_render(net=net)) for net in nets  # type: ignore[misc]
        ]))
        return irb, vlans, vnis, ra

    def vrf_interfaces(self, units: tuple[int, ...]) -> str:
        """The ``interface irb.N;`` lines of a VRF (by value: equal units, one text)."""
        hit = self._texts.get(("vrf", units))
        if hit is None:
            hit = "".join([f"        interface irb.{u};\n" for u in units])
            self._texts[("vrf", units)] = hit
        return hit

    def vni_list(self, vnis: tuple[int, ...]) -> str:
        """The ``extended-vni-list [ ... ];`` line (by value)."""
        hit = self._texts.get(("vni", vnis))
        if hit is None:
            hit = "        extended-vni-list [ " + " ".join(map(str, vnis)) + " ];\n"
            self._texts[("vni", vnis)] = hit
        return hit

    def view(self, intent: DeviceIntent) -> JunosView:
        """The renderer-side view of ``intent`` (what the templates read besides it)."""
        if len(self._texts) >= SHARED_BLOCKS_MAX:
            self._texts.clear()
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
