"""NX-OS renderer: each feature's statements, dependency order, escaping and caching.

The example inventories give real intents: shownet2024 (NX-OS spines and leaves 3, 4 and
6 with Kubernetes nodes) and shownet2024-dci (an NX-OS site whose border leaves are
Multi-Site border gateways).
"""

from __future__ import annotations

import dataclasses
from functools import cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

import pytest

import fabric
from fabric.design import DeviceIntent, design
from fabric.design.intent import Bfd, PrefixFilter
from fabric.errors import RenderError
from fabric.render.base import get_renderer, render_device, render_main
from fabric.render.cli_text import cli_text, nxos_mac
from fabric.render.nxos.renderer import TEMPLATES, NxosRenderer, bfd_timers, prefix_modifiers

INVENTORIES = Path(__file__).resolve().parents[2] / "inventories"


@cache
def intents(name: str) -> dict[str, DeviceIntent]:
    fab = fabric.load(INVENTORIES / name)
    return design(fab.inventory, fab.allocations())


@cache
def cfg(inventory: str, device: str) -> str:
    return render_main(intents(inventory)[device])


def lines(text: str) -> list[str]:
    return text.splitlines()


def block(text: str, header: str, start: int = 0) -> list[str]:
    """Stripped lines nested under the first line equal to ``header`` (ignoring its
    indentation) at or after line ``start``."""
    ls = lines(text)
    for i in range(start, len(ls)):
        if ls[i].strip() == header:
            indent = len(ls[i]) - len(ls[i].lstrip())
            out = []
            for line in ls[i + 1:]:
                if line.strip() and len(line) - len(line.lstrip()) <= indent:
                    break
                out.append(line.strip())
            return out
    raise AssertionError(f"no line {header!r} in config")


def first(text: str, line: str) -> int:
    """Index of the first line equal to ``line`` (stripped)."""
    for i, ln in enumerate(lines(text)):
        if ln.strip() == line:
            return i
    raise AssertionError(f"no line {line!r} in config")


def nxos_leaves(inventory: str) -> list[DeviceIntent]:
    return [i for i in intents(inventory).values() if i.platform == "nxos" and i.device.is_leaf]


# --------------------------------------------------------------------------- registry


def test_registered_and_capability_checked() -> None:
    r = get_renderer("nxos")
    assert isinstance(r, NxosRenderer)
    assert r.formats == ("cfg",)
    out = render_device(intents("shownet2024")["leaf3"])
    assert out.main == "cfg" and out.text.startswith("!Command")


def test_capability_check_names_the_device(monkeypatch: pytest.MonkeyPatch) -> None:
    import fabric.render.base as base

    reduced = base.CAPABILITIES["nxos"] - {"dci_stitching"}
    monkeypatch.setitem(base.CAPABILITIES, "nxos", reduced)
    with pytest.raises(RenderError, match=r"^nxos does not support dci_stitching \(device dc2-border1\)$"):
        render_main(intents("shownet2024-dci")["dc2-border1"])
    with pytest.raises(RenderError, match="dci_stitching"):
        base.check_capabilities(NxosRenderer(), intents("shownet2024-dci")["dc2-border1"])
    render_main(intents("shownet2024-dci")["dc2-leaf1"])  # no DCI: still fine


def test_every_template_compiles() -> None:
    env = NxosRenderer()._env
    names = sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.j2"))
    assert "main.j2" in names and len(names) > 10
    for n in names:
        env.get_template(n)


def test_strict_undefined() -> None:
    with pytest.raises(Exception, match="undefined"):
        NxosRenderer()._env.from_string("{{ nope }}").render()


# --------------------------------------------------------------------------- features and order


def test_features_come_first_in_order() -> None:
    for dev in ("leaf3", "spine1"):
        text = cfg("shownet2024", dev)
        feats = [ln for ln in lines(text) if ln.startswith("feature ") or ln == "nv overlay evpn"]
        last_feature = max(first(text, f) for f in feats)
        # nothing but comments, hostname and feature lines before the last feature
        before = [ln for ln in lines(text)[:last_feature] if ln and not ln.startswith("!")]
        assert all(ln.startswith(("feature ", "hostname ")) for ln in before), before
        assert first(text, "feature nv overlay") < first(text, "nv overlay evpn")
        assert first(text, "feature bfd") < min(i for i, ln in enumerate(lines(text)) if ln.strip().startswith("bfd"))


def test_leaf_and_spine_features() -> None:
    leaf = cfg("shownet2024", "leaf3")
    for f in ("feature bgp", "feature interface-vlan", "feature vn-segment-vlan-based", "feature nv overlay",
              "feature fabric forwarding", "feature bfd", "nv overlay evpn"):
        assert f in lines(leaf)
    spine = cfg("shownet2024", "spine1")
    assert "nv overlay evpn" in lines(spine) and "feature bgp" in lines(spine)
    assert "feature interface-vlan" not in lines(spine)
    assert "feature fabric forwarding" not in lines(spine)
    assert "interface nve1" not in lines(spine) and not any(ln.startswith("vlan ") for ln in lines(spine))


def test_dependency_order() -> None:
    it = intents("shownet2024")["leaf3"]
    text = cfg("shownet2024", "leaf3")
    for l2 in it.vnis:
        assert first(text, f"vn-segment {l2.vni}") < first(text, f"member vni {l2.vni}")
    for vi in it.vrfs:
        assert first(text, f"vn-segment {vi.l3vni}") < first(text, f"member vni {vi.l3vni} associate-vrf")
        assert first(text, f"vrf context {vi.name}") < first(text, f"vrf member {vi.name}")
        assert first(text, f"vrf context {vi.name}") < first(text, f"member vni {vi.l3vni} associate-vrf")
    assert first(text, "fabric forwarding anycast-gateway-mac 0200.0000.0101") < first(
        text, "fabric forwarding mode anycast-gateway"
    )
    router_bgp = first(text, f"router bgp {it.underlay.asn}")
    for ln in lines(text):
        if ln.startswith(("route-map ", "ip prefix-list ", "ipv6 prefix-list ", "ip community-list ")):
            assert first(text, ln) < router_bgp
    assert first(text, "interface loopback1") < first(text, "interface nve1") < router_bgp


# --------------------------------------------------------------------------- underlay and overlay


def test_underlay_ebgp_on_31s() -> None:
    it = intents("shownet2024")["leaf3"]
    text = cfg("shownet2024", "leaf3")
    for i in it.interfaces:
        body = block(text, f"interface {i.name}")
        assert "no switchport" in body and f"mtu {i.mtu}" in body
        assert f"ip address {i.address.with_prefixlen}" in body and i.address.network.prefixlen == 31
        assert i.address6 is not None and f"ipv6 address {i.address6.with_prefixlen}" in body
        assert "no ip redirects" in body  # BFD on NX-OS needs ICMP redirects off
        assert any(b.startswith("bfd interval ") for b in body)
    bgp = block(text, f"router bgp {it.underlay.asn}")
    assert f"router-id {it.device.loopback}" in bgp
    assert "bestpath as-path multipath-relax" in bgp
    af4 = block(text, "address-family ipv4 unicast", first(text, "router bgp 65103"))
    assert f"maximum-paths {it.underlay.maximum_paths}" in af4
    for n in (*it.underlay.neighbors, *it.underlay.neighbors6):
        nb = block(text, f"neighbor {n.address}")
        assert f"remote-as {n.peer_asn}" in nb and "bfd" in nb
        assert f"address-family ipv{n.address.version} unicast" in nb
    assert f"network {it.device.loopback}/32" in bgp and f"network {it.device.vtep}/32" in bgp


def test_bfd_timers_clamped_to_nxos_range() -> None:
    assert bfd_timers(Bfd(300, 3)) == "interval 300 min_rx 300 multiplier 3"
    assert bfd_timers(Bfd(1000, 3)) == "interval 999 min_rx 999 multiplier 3"
    assert bfd_timers(Bfd(10, 5)) == "interval 50 min_rx 50 multiplier 5"
    assert bfd_timers(None) is None


def test_overlay_leaf_sessions() -> None:
    it = intents("shownet2024")["leaf3"]
    text = cfg("shownet2024", "leaf3")
    assert it.overlay.neighbors
    for n in it.overlay.neighbors:
        nb = block(text, f"neighbor {n.address}")
        assert f"remote-as {n.peer_asn}" in nb
        assert "update-source loopback0" in nb and f"ebgp-multihop {it.overlay.multihop_ttl}" in nb
        assert "address-family l2vpn evpn" in nb and "send-community extended" in nb
        assert "route-map NH-UNCHANGED out" not in nb


def test_spine_retains_route_targets_and_keeps_next_hop() -> None:
    it = intents("shownet2024")["spine1"]
    text = cfg("shownet2024", "spine1")
    assert block(text, "route-map NH-UNCHANGED permit 10") == ["set ip next-hop unchanged"]
    assert first(text, "route-map NH-UNCHANGED permit 10") < first(text, "router bgp 65000")
    assert "retain route-target all" in block(text, "address-family l2vpn evpn")
    assert len(it.overlay.neighbors) == 8
    for n in it.overlay.neighbors:
        nb = block(text, f"neighbor {n.address}")
        assert "route-map NH-UNCHANGED out" in nb and "send-community extended" in nb
        assert "update-source loopback0" in nb


# --------------------------------------------------------------------------- VXLAN, VRFs, gateways


def test_l2_vnis() -> None:
    it = intents("shownet2024")["leaf3"]
    text = cfg("shownet2024", "leaf3")
    nve = block(text, "interface nve1")
    assert nve[:3] == ["no shutdown", "host-reachability protocol bgp", "source-interface loopback1"]
    assert f"ip address {it.device.vtep}/32" in block(text, "interface loopback1")
    for l2 in it.vnis:
        assert block(text, f"vlan {l2.vlan}") == [f"name {l2.name}", f"vn-segment {l2.vni}"]
        # leaf3 is a 93180YC-FX: ARP suppression (docs/vendor-notes.md)
        assert block(text, f"member vni {l2.vni}") == ["suppress-arp", "ingress-replication protocol bgp"]
        assert block(text, f"vni {l2.vni} l2") == [
            f"rd {l2.rd}",
            f"route-target import {l2.route_target}",
            f"route-target export {l2.route_target}",
        ]


def test_route_targets_explicit_and_equal_across_asns() -> None:
    a, b = intents("shownet2024")["leaf3"], intents("shownet2024")["leaf4"]
    assert a.device.asn != b.device.asn
    ta, tb = cfg("shownet2024", "leaf3"), cfg("shownet2024", "leaf4")
    rts_a = {ln for ln in lines(ta) if "route-target" in ln}
    rts_b = {ln for ln in lines(tb) if "route-target" in ln}
    assert rts_a == rts_b and rts_a
    assert not any("auto" in ln for ln in rts_a)
    assert all(f" {a.fabric.route_target_admin}:" in ln for ln in rts_a)
    # explicit RTs: no need for rewrite-evpn-rt-asn
    assert "rewrite-evpn-rt-asn" not in ta


def test_l3_vni_per_vrf() -> None:
    it = intents("shownet2024")["leaf3"]
    text = cfg("shownet2024", "leaf3")
    assert it.vrfs
    for vi in it.vrfs:
        ctx = block(text, f"vrf context {vi.name}")
        assert f"vni {vi.l3vni}" in ctx and f"rd {vi.rd}" in ctx
        assert f"route-target import {vi.route_target} evpn" in ctx
        assert f"route-target export {vi.route_target} evpn" in ctx
        assert block(text, f"vlan {vi.vlan}")[-1] == f"vn-segment {vi.l3vni}"
        svi = block(text, f"interface Vlan{vi.vlan}")
        assert f"vrf member {vi.name}" in svi and "ip forward" in svi
        assert not any(ln.startswith("ip address") for ln in svi)
        assert f"member vni {vi.l3vni} associate-vrf" in lines(text) or f"  member vni {vi.l3vni} associate-vrf" in lines(text)
        vb = block(text, f"vrf {vi.name}", first(text, "router bgp 65103"))
        assert vb.count("advertise l2vpn evpn") == 2  # ipv4 and ipv6


def test_anycast_gateway_identical_on_two_leaves() -> None:
    t3, t4 = cfg("shownet2024", "leaf3"), cfg("shownet2024", "leaf4")
    assert "fabric forwarding anycast-gateway-mac 0200.0000.0101" in lines(t3)
    assert "fabric forwarding anycast-gateway-mac 0200.0000.0101" in lines(t4)
    shared = {g.vlan for g in intents("shownet2024")["leaf3"].gateways} & {
        g.vlan for g in intents("shownet2024")["leaf4"].gateways
    }
    assert shared
    for vlan in shared:
        s3, s4 = block(t3, f"interface Vlan{vlan}"), block(t4, f"interface Vlan{vlan}")
        s3 = [ln for ln in s3 if not ln.startswith("bfd ")]  # k8s SVIs add the cluster's BFD timers
        s4 = [ln for ln in s4 if not ln.startswith("bfd ")]
        assert s3 == s4
        assert "fabric forwarding mode anycast-gateway" in s3
        assert any(ln.startswith("ip address ") for ln in s3)


def test_gateway_v6_and_mtu() -> None:
    it = intents("shownet2024")["leaf3"]
    text = cfg("shownet2024", "leaf3")
    for g in it.gateways:
        svi = block(text, f"interface Vlan{g.vlan}")
        assert f"mtu {g.mtu}" in svi and f"vrf member {g.vrf}" in svi
        if g.address6 is not None:
            assert f"ipv6 address {g.address6.with_prefixlen}" in svi
        else:
            assert not any(ln.startswith("ipv6 address") for ln in svi)


def test_access_ports() -> None:
    it = intents("shownet2024")["leaf3"]
    text = cfg("shownet2024", "leaf3")
    assert it.access_ports
    for a in it.access_ports:
        body = block(text, f"interface {a.name}")
        assert "switchport mode access" in body and f"switchport access vlan {a.vlan}" in body
        assert "no shutdown" in body


# --------------------------------------------------------------------------- Kubernetes


def test_prefix_modifiers() -> None:
    v4 = ip_network("10.96.0.0/12")
    assert isinstance(v4, IPv4Network)
    v6 = ip_network("fd00::/108")
    assert isinstance(v6, IPv6Network)
    assert prefix_modifiers(PrefixFilter(v4, 32, 32)) == "eq 32"
    assert prefix_modifiers(PrefixFilter(v6, 128, 128)) == "eq 128"
    assert prefix_modifiers(PrefixFilter(v4, 12, 12)) == ""
    assert prefix_modifiers(PrefixFilter(v4, 12, 24)) == "le 24"
    assert prefix_modifiers(PrefixFilter(v4, 24, 32)) == "ge 24 le 32"
    with pytest.raises(RenderError):
        prefix_modifiers(PrefixFilter(v4, 8, 32))


def test_k8s_service_policy() -> None:
    it = intents("shownet2024")["leaf3"]
    text = cfg("shownet2024", "leaf3")
    assert "ip community-list standard GSHUT seq 10 permit 65535:0" in lines(text)
    assert it.kubernetes
    for p in it.kubernetes:
        name = "K8S-" + p.cluster.upper()
        for f in p.accept4:
            assert f"ip prefix-list {name}-SVC4 seq 10 permit {f.prefix} eq 32" in lines(text)
        for f in p.accept6:
            assert f"ipv6 prefix-list {name}-SVC6 seq 10 permit {f.prefix} eq 128" in lines(text)
        # graceful shutdown first: the lowest local preference, then the plain accept
        assert block(text, f"route-map {name}-IN4 permit 10") == [
            f"match ip address prefix-list {name}-SVC4",
            "match community GSHUT",
            f"set local-preference {p.graceful_shutdown.local_preference}",
        ]
        assert p.graceful_shutdown.local_preference == 0
        assert block(text, f"route-map {name}-IN4 permit 20") == [f"match ip address prefix-list {name}-SVC4"]
        assert block(text, f"route-map {name}-IN6 permit 20") == [f"match ipv6 address prefix-list {name}-SVC6"]
        vrf = block(text, f"vrf {p.vrf}", first(text, "router bgp 65103"))
        for node in p.nodes:
            for addr, fam, rm in ((node.address, "ipv4", "IN4"), (node.address6, "ipv6", "IN6")):
                if addr is None:
                    continue
                nb = block(text, f"neighbor {addr}")
                assert f"remote-as {node.asn}" in nb and ("bfd" in nb) == (p.bfd is not None)
                assert f"timers {p.keepalive} {p.hold_time}" in nb
                assert nb[nb.index(f"address-family {fam} unicast") + 1:] == [
                    f"route-map {name}-{rm} in", "route-map DENY-ALL out", f"maximum-prefix {p.max_prefixes}",
                ]
                assert f"neighbor {addr}" in vrf
        assert f"maximum-paths {p.maximum_paths}" in vrf


def test_k8s_multipath_relax_for_per_node_asns() -> None:
    for it in nxos_leaves("shownet2024"):
        text = cfg("shownet2024", it.name)
        for p in it.kubernetes:
            vrf = block(text, f"vrf {p.vrf}", first(text, f"router bgp {it.underlay.asn}"))
            # every tenant VRF relaxes (issue 9); per-node ASNs would need it on their own
            assert "bestpath as-path multipath-relax" in vrf
    assert any(p.multipath_multiple_as for it in nxos_leaves("shownet2024") for p in it.kubernetes)


def test_k8s_svi_carries_cluster_bfd_timers() -> None:
    it = intents("shownet2024")["leaf3"]
    text = cfg("shownet2024", "leaf3")
    k8s_vlans = {p.vlan: p.bfd for p in it.kubernetes}
    for g in it.gateways:
        svi = block(text, f"interface Vlan{g.vlan}")
        bfd = k8s_vlans.get(g.vlan)
        assert (f"bfd {bfd_timers(bfd)}" in svi) if bfd else not any(ln.startswith("bfd") for ln in svi)


# --------------------------------------------------------------------------- DCI


def test_multisite_on_border_leaves_only() -> None:
    its = intents("shownet2024-dci")
    for it in nxos_leaves("shownet2024-dci"):
        text = cfg("shownet2024-dci", it.name)
        if it.dci is None:
            assert "multisite" not in text
            continue
        dci = it.dci
        assert block(text, f"evpn multisite border-gateway {dci.site_id}") == ["delay-restore time 300"]
        assert f"ip address {dci.multisite_vip}/32" in block(text, "interface loopback100")
        assert f"network {dci.multisite_vip}/32" in lines(text) or f"    network {dci.multisite_vip}/32" in lines(text)
        nve = block(text, "interface nve1")
        assert "multisite border-gateway interface loopback100" in nve
        for vni in dci.vnis:
            assert block(text, f"member vni {vni}") == [
                "suppress-arp", "multisite ingress-replication", "ingress-replication protocol bgp",
            ]
        for port in dci.interfaces:
            assert "evpn multisite dci-tracking" in block(text, f"interface {port}")
        for port in dci.fabric_interfaces:
            assert "evpn multisite fabric-tracking" in block(text, f"interface {port}")
        # the BGW exists before any port tracks it
        assert first(text, f"evpn multisite border-gateway {dci.site_id}") < first(text, "evpn multisite fabric-tracking")
        for n in dci.overlay_neighbors:
            nb = block(text, f"neighbor {n.address}")
            assert "peer-type fabric-external" in nb and "send-community extended" in nb
            assert "update-source loopback0" in nb
        for n in dci.underlay_neighbors:
            assert f"remote-as {n.peer_asn}" in block(text, f"neighbor {n.address}")
        for vni in dci.vnis:
            assert f"route-target import {dci.route_target}" in block(text, f"vni {vni} l2")
    borders = [it for it in nxos_leaves("shownet2024-dci") if it.dci is not None]
    assert len(borders) == 2 and len(its) > 2


# --------------------------------------------------------------------------- text safety


def test_description_with_newline_is_refused() -> None:
    it = intents("shownet2024")["leaf3"]
    port = dataclasses.replace(it.interfaces[0], description="uplink\n  shutdown")
    evil = dataclasses.replace(it, interfaces=(port, *it.interfaces[1:]))
    with pytest.raises(RenderError, match=r"device leaf3: interface Ethernet1/49: .*'\\n'"):
        render_main(evil)


@pytest.mark.parametrize("text", ['say "hi"', "what?", "caf\u00e9", "tab\there", "nul\x00"])
def test_description_with_unsafe_characters_is_refused(text: str) -> None:
    it = intents("shownet2024")["leaf3"]
    gw = dataclasses.replace(it.gateways[0], description=text)
    evil = dataclasses.replace(it, gateways=(gw, *it.gateways[1:]))
    with pytest.raises(RenderError, match="device leaf3"):
        render_main(evil)


def test_long_description_is_cut_and_plain_text_kept() -> None:
    assert cli_text("x" * 300, "d", 254, nxos=True) == "x" * 254
    assert cli_text("rack r1, it's fine (25G)", "d", 254, nxos=True) == "rack r1, it's fine (25G)"
    it = intents("shownet2024")["leaf3"]
    gw = dataclasses.replace(it.gateways[0], description="y" * 400)
    text = NxosRenderer().render_main(dataclasses.replace(it, gateways=(gw, *it.gateways[1:])))
    assert f"  description {'y' * 254}" in lines(text)


def test_nxos_mac() -> None:
    assert nxos_mac("00:00:5E:00:01:01") == "0000.5e00.0101"
    with pytest.raises(RenderError):
        nxos_mac("00:00:5e:00:01")


# --------------------------------------------------------------------------- caching


def test_shared_block_cache_gives_the_same_text_in_any_order() -> None:
    devs = [it for it in intents("shownet2024").values() if it.platform == "nxos"]
    forward = {it.name: NxosRenderer().render_main(it) for it in devs}
    r = NxosRenderer()
    backward = {it.name: r.render_main(it) for it in reversed(devs)}
    again = {it.name: r.render_main(it) for it in devs}
    assert forward == backward == again


def test_changed_network_changes_cached_text() -> None:
    it = intents("shownet2024")["leaf3"]
    r = NxosRenderer()
    before = r.render_main(it)
    gw = dataclasses.replace(it.gateways[0], mtu=1500)
    net = dataclasses.replace(it.vnis[0].network, vlan=3999)
    l2 = dataclasses.replace(it.vnis[0], network=net)
    assert it.evpn is not None
    changed = dataclasses.replace(
        it, gateways=(gw, *it.gateways[1:]), evpn=dataclasses.replace(it.evpn, vnis=(l2, *it.vnis[1:]))
    )
    after = r.render_main(changed)
    assert "mtu 1500" in block(after, f"interface Vlan{gw.vlan}")
    assert block(after, "vlan 3999") == [f"name {net.name}", f"vn-segment {net.vni}"]
    assert "mtu 1500" not in block(before, f"interface Vlan{gw.vlan}")
    assert r.render_main(it) == before
