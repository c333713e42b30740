"""Issue 9 (vendor review): each test here fails on the configs rendered before the fix.

Nothing here runs Junos or NX-OS; the rules are the vendors' documented ones (see
docs/vendor-notes.md), checked on the rendered text and on the intent of every example.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from fabric.api import load
from fabric.design import DeviceIntent
from fabric.render.base import RenderedDevice

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ["shownet2024", "shownet2024-dci", "lab"]


@cache
def intents(example: str) -> dict[str, DeviceIntent]:
    return load(ROOT / "inventories" / example).design()


@cache
def rendered(example: str) -> dict[str, RenderedDevice]:
    return load(ROOT / "inventories" / example).render()


def _nxos_blocks(text: str) -> dict[str, list[str]]:
    """``interface NAME`` -> its indented lines, from NX-OS CLI text."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("interface "):
            current = out.setdefault(line.split(None, 1)[1], [])
        elif line.startswith("  ") and current is not None:
            current.append(line.strip())
        else:
            current = None
    return out


@pytest.mark.parametrize("example", ["shownet2024", "shownet2024-dci"])
def test_nxos_l2_ports_take_only_the_system_jumbo_mtu(example: str) -> None:
    """NX-OS refuses any MTU on a switchport but the default and ``system jumbomtu``
    ("MTU on L2 interfaces can only be set to default or system-jumboMTU")."""
    seen = 0
    for name, dev in rendered(example).items():
        if intents(example)[name].device.platform != "nxos":
            continue
        text = dev.text
        jumbo = re.search(r"^system jumbomtu (\d+)$", text, re.M)
        assert jumbo, f"{name}: no system jumbomtu"
        for ifname, lines in _nxos_blocks(text).items():
            if "switchport" in lines:
                mtus = [line.split()[1] for line in lines if line.startswith("mtu ")]
                assert mtus in ([], [jumbo.group(1)]), f"{name} {ifname}: L2 port mtu {mtus}"
                seen += 1
    if example == "shownet2024":
        assert seen > 0


@pytest.mark.parametrize("example", EXAMPLES)
def test_both_ends_of_a_fabric_link_agree_on_the_ip_mtu(example: str) -> None:
    ends: dict[str, list[tuple[str, int]]] = {}
    for name, intent in intents(example).items():
        for i in intent.interfaces:
            ends.setdefault(i.link, []).append((name, i.ip_mtu))
    assert ends
    for link, both in ends.items():
        assert len(both) == 2 and both[0][1] == both[1][1], f"{link}: {both}"


def test_junos_to_nxos_links_render_the_same_ip_mtu_on_both_sides() -> None:
    """Junos counts the Ethernet header in ``mtu 9216`` (IP MTU 9202); an NX-OS routed
    port's ``mtu`` is the IP MTU. The rendered texts must say the same number."""
    its = intents("shownet2024")
    texts = {n: d.text for n, d in rendered("shownet2024").items()}
    checked = 0
    for name, intent in its.items():
        if intent.device.platform != "junos":
            continue
        for i in intent.interfaces:
            if its[i.peer].device.platform != "nxos":
                continue
            junos = re.search(rf"{re.escape(i.name)} {{.*?family inet {{\s*mtu (\d+);", texts[name], re.S)
            nxos = _nxos_blocks(texts[i.peer])[i.peer_port]
            assert junos, f"{name} {i.name}: no family inet mtu"
            assert f"mtu {junos.group(1)}" in nxos, f"{name} {i.name} vs {i.peer} {i.peer_port}: {nxos}"
            checked += 1
    assert checked >= 8


@pytest.mark.parametrize("example", EXAMPLES)
def test_evpn_next_hop_is_the_vxlan_source_on_every_leaf(example: str) -> None:
    its = intents(example)
    for name, intent in its.items():
        if intent.evpn is None:
            continue
        assert intent.evpn.next_hop == intent.evpn.vtep, name
        # every overlay peer names this leaf by the address its sessions come from
        for n in intent.overlay.neighbors:
            peer = its[n.peer]
            mine = [x for x in peer.overlay.neighbors if x.peer == name]
            assert [x.address for x in mine] == [intent.overlay.local_address], (name, n.peer)


def test_junos_leaves_peer_from_their_vtep_address() -> None:
    """Junos puts the session's local address as the EVPN next hop: it must be the VTEP."""
    its = intents("shownet2024")
    texts = {n: d.text for n, d in rendered("shownet2024").items()}
    junos_leaves = [n for n, i in its.items() if i.device.platform == "junos" and i.evpn is not None]
    assert junos_leaves
    for name in junos_leaves:
        vtep = its[name].evpn.vtep  # type: ignore[union-attr]
        group = re.search(r"group overlay {.*?local-address ([0-9.]+);", texts[name], re.S)
        assert group and group.group(1) == str(vtep), name


@pytest.mark.parametrize("example", ["shownet2024", "shownet2024-dci"])
def test_junos_routes_between_subnets_symmetrically_like_nxos(example: str) -> None:
    """Junos defaults to asymmetric IRB for type-2 routes; NX-OS and FRR are symmetric (L3
    VNI). In a mixed fabric both must use one model: every Junos VRF enables symmetric
    type-2 routing over its L3 VNI."""
    its = intents(example)
    sets = {n: set(d.files["set"].splitlines()) for n, d in rendered(example).items() if "set" in d.files}
    checked = 0
    for name, lines in sets.items():
        for vi in its[name].vrfs:
            assert f"set routing-instances {vi.name} protocols evpn irb-symmetric-routing vni {vi.l3vni}" in lines, (
                name, vi.name)
            assert f"set routing-instances {vi.name} protocols evpn ip-prefix-routes vni {vi.l3vni}" in lines
            checked += 1
    assert checked > 0


def _border_sets() -> dict[str, set[str]]:
    its = intents("shownet2024-dci")
    return {
        n: set(d.files["set"].splitlines())
        for n, d in rendered("shownet2024-dci").items()
        if "set" in d.files and its[n].dci is not None
    }


def test_dci_borders_apply_their_export_policies_to_evpn_routes() -> None:
    """Without vpn-apply-export Junos ignores a BGP group's export policy for EVPN routes,
    so a border leaked its site's routes to the other site and back."""
    borders = _border_sets()
    assert borders
    for name, lines in borders.items():
        for group in ("overlay", "dci-overlay"):
            assert f"set protocols bgp group {group} vpn-apply-export" in lines, (name, group)


def test_dci_routes_from_one_gateway_never_reach_another() -> None:
    """Juniper's DCI design: tag on import, reject tagged on export (and never advertise on)."""
    for name, lines in _border_sets().items():
        assert "set policy-options policy-statement DCI-EVPN-IN term interconnect then community add DCI-FROM-GATEWAY" in lines
        assert "set policy-options policy-statement DCI-EVPN-IN term interconnect then community add DCI-NO-ADVERTISE" in lines
        assert "set policy-options policy-statement DCI-EVPN-OUT term from-gateway from community DCI-FROM-GATEWAY" in lines
        assert "set policy-options policy-statement DCI-EVPN-OUT term from-gateway then reject" in lines
        # the tag test comes before the accepting term (policy terms run in order)
        text = rendered("shownet2024-dci")[name].text
        out = text[text.index("policy-statement DCI-EVPN-OUT {"):]
        assert out.index("term from-gateway") < out.index("term interconnect"), name


def test_dci_sends_no_site_route_targets_and_only_loopbacks_in_the_underlay() -> None:
    its = intents("shownet2024-dci")
    for name, lines in _border_sets().items():
        dci = its[name].dci
        assert dci is not None
        strip = "set policy-options policy-statement DCI-EVPN-OUT term interconnect then community delete DCI-SITE-TARGETS"
        assert strip in lines
        for vi in its[name].vrfs:
            assert any(x.startswith("set policy-options community DCI-SITE-TARGETS members")
                       and f"target:{vi.route_target.admin}:{vi.route_target.number}" in x for x in lines), vi.name
        # the fabric /31s of the site never cross the DCI: only its loopbacks and VTEPs
        assert "set policy-options policy-statement DCI-UNDERLAY-EXPORT term fabric from protocol bgp" not in lines
        site = {str(p) for p in dci.site_prefixes}
        for d in its.values():
            if d.device.site == dci.site:
                assert f"{d.device.loopback}/32" in site
                if d.device.vtep is not None:
                    assert f"{d.device.vtep}/32" in site
            else:
                assert f"{d.device.loopback}/32" not in site


def test_junos_leaves_carry_the_production_settings_of_juniper_validated_leaf() -> None:
    """Adopted from Juniper's validated QFX5120 server leaf (../shared/reference/juniper-jvd):
    graceful restart (with BFD-down not helped), duplicate-MAC detection, shared tunnels and
    the VXLAN-routing table sizes of the model."""
    its = intents("shownet2024")
    for name, dev in rendered("shownet2024").items():
        if its[name].device.platform != "junos":
            continue
        lines = set(dev.files["set"].splitlines())
        assert "set routing-options graceful-restart" in lines, name
        assert "set protocols bgp graceful-restart dont-help-shared-fate-bfd-down" in lines, name
        for vi in its[name].vrfs:
            assert f"set routing-instances {vi.name} routing-options graceful-restart" in lines
        if its[name].evpn is not None:
            assert "set protocols evpn duplicate-mac-detection auto-recovery-time 9" in lines, name
            assert "set forwarding-options evpn-vxlan shared-tunnels" in lines, name
            assert "set forwarding-options vxlan-routing next-hop 45056" in lines, name
            assert "set forwarding-options vxlan-routing interface-num 8192" in lines, name


def _nxos_nve_members(text: str) -> dict[str, list[str]]:
    """``member vni N`` under ``interface nve1`` -> its lines."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    in_nve = False
    for line in text.splitlines():
        if not line.startswith(" "):
            in_nve = line == "interface nve1"
            current = None
        elif in_nve and line.startswith("  member vni "):
            current = out.setdefault(line.strip(), [])
        elif in_nve and line.startswith("    ") and current is not None:
            current.append(line.strip())
    return out


@pytest.mark.parametrize("example", ["shownet2024", "shownet2024-dci"])
def test_nxos_devices_enable_lldp(example: str) -> None:
    """Cisco's production review (docs/vendor-notes.md): LLDP runs only after
    ``feature lldp``; the Junos devices run ``protocols lldp`` already."""
    its = intents(example)
    nxos = [n for n, i in its.items() if i.device.platform == "nxos"]
    assert nxos
    for name in nxos:
        assert "feature lldp" in rendered(example)[name].text.splitlines(), name


@pytest.mark.parametrize("example", ["shownet2024", "shownet2024-dci"])
def test_nxos_93180yc_fx_leaves_suppress_arp_on_every_l2_vni(example: str) -> None:
    """ARP suppression on every L2 VNI of a 93180YC-FX (a 9300-FX: no ARP-ETHER TCAM
    carving needed, Cisco VXLAN guide 9.3(x)); L3 VNIs (``associate-vrf``) take none."""
    its = intents(example)
    seen = 0
    for name, intent in its.items():
        if intent.device.platform != "nxos" or not intent.device.is_leaf:
            continue
        members = _nxos_nve_members(rendered(example)[name].text)
        l2 = {vni: lines for vni, lines in members.items() if not vni.endswith("associate-vrf")}
        assert len(l2) == len(intent.vnis), name
        for vni, lines in members.items():
            want = intent.device.model == "n9k-93180yc-fx" and not vni.endswith("associate-vrf")
            assert ("suppress-arp" in lines) == want, f"{name} {vni}"
            seen += want
    assert seen > 0


def test_nxos_arp_suppression_left_out_where_the_tcam_need_is_not_verified() -> None:
    """A 9332C leaf renders no ``suppress-arp``: whether it needs the ARP-ETHER TCAM
    region carved is not verified (docs/vendor-notes.md)."""
    from dataclasses import replace

    from fabric.render.nxos.renderer import NxosRenderer

    intent = intents("shownet2024")["leaf3"]
    other = replace(intent, device=replace(intent.device, model="n9k-9332c"))
    text = NxosRenderer().render_main(other)
    assert "suppress-arp" not in text
    assert "suppress-arp" in NxosRenderer().render_main(intent)
