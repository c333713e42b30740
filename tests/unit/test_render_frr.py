"""FRR renderer: each feature's statements, and the rendered frr.conf loaded into real FRR.

Three levels of checking, each stricter than the last:

1. statements per feature, from the example intents (always run);
2. ``vtysh --dryrun`` on every lab device's frr.conf: FRR 8.4's own parser, no daemons
   (needs only the ``vtysh`` binary);
3. lab tests (root + Debian frr), in ``tests/lab/test_frr_running.py``: every lab
   device's frr.conf applied to running FRR daemons, and a small fabric brought up.

This machine's kernel has no VRF support: zebra and bgpd accept the ``vrf`` and ``router
bgp ... vrf`` blocks (so level 3 checks that they are well formed), but no session in a
tenant VRF can come up; the small fabric therefore runs the ``tenant_vrfs=False``
rendering, as the lab does.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from functools import cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

import pytest

import fabric
from fabric.design import DeviceIntent, design
from fabric.design.intent import PrefixFilter
from fabric.errors import RenderError
from fabric.render.base import check_capabilities, get_renderer, render_device, render_main
from fabric.render.frr.renderer import TEMPLATES, FrrRenderer, prefix_modifiers, svi_name

INVENTORIES = Path(__file__).resolve().parents[2] / "inventories"
VTYSH = shutil.which("vtysh")


@cache
def intents(name: str) -> dict[str, DeviceIntent]:
    fab = fabric.load(INVENTORIES / name)
    return design(fab.inventory, fab.allocations())


@cache
def conf(device: str, tenant_vrfs: bool = True) -> str:
    return FrrRenderer(tenant_vrfs=tenant_vrfs).render_main(intents("lab")[device])


def lines(text: str) -> list[str]:
    return text.splitlines()


def stanza(text: str, header: str) -> list[str]:
    """Stripped lines of the stanza opened by ``header`` (a line at column 0) up to the
    next line at column 0 (``!``, ``exit-vrf`` or the next statement)."""
    ls = lines(text)
    i = ls.index(header)
    out = []
    for line in ls[i + 1:]:
        if not line.startswith(" "):
            break
        out.append(line.strip())
    return out


def af(text: str, header: str, family: str) -> list[str]:
    """Lines of ``address-family FAMILY`` inside the stanza ``header``."""
    body = stanza(text, header)
    i = body.index(f"address-family {family}")
    return body[i + 1:body.index("exit-address-family", i)]


LAB_DEVICES = sorted(intents("lab"))


# --------------------------------------------------------------------------- registry


def test_registered_and_writes_frr_conf() -> None:
    r = get_renderer("frr")
    assert isinstance(r, FrrRenderer) and r.formats == ("frr.conf",)
    out = render_device(intents("lab")["leaf1"])
    assert set(out.files) == {"frr.conf"} and out.text == conf("leaf1")


def test_every_template_compiles() -> None:
    env = FrrRenderer()._env
    names = [str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.j2")]
    assert "main.j2" in names
    for n in names:
        env.get_template(n)


def test_capability_check_refuses_dci_stitching() -> None:
    border = intents("shownet2024-dci")["dc2-border1"]
    assert border.dci is not None
    with pytest.raises(RenderError, match=r"frr does not support dci_stitching \(device dc2-border1\)"):
        check_capabilities(FrrRenderer(), border)


# --------------------------------------------------------------------------- features


def test_header_datacenter_defaults() -> None:
    text = conf("leaf1")
    assert lines(text)[2:5] == ["frr version 8.4", "frr defaults datacenter", "hostname leaf1"]
    assert text.endswith("end\n")


def test_underlay_ebgp_on_31s() -> None:
    it = intents("lab")["leaf1"]
    text = conf("leaf1")
    for i in it.interfaces:
        body = stanza(text, f"interface {i.name}")
        assert f"ip address {i.address.with_prefixlen}" in body
        assert i.address6 is not None and f"ipv6 address {i.address6.with_prefixlen}" in body
    bgp = stanza(text, f"router bgp {it.underlay.asn}")
    assert f"bgp router-id {it.device.loopback}" in bgp
    assert "bgp bestpath as-path multipath-relax" in bgp
    assert "neighbor UNDERLAY bfd" in bgp and "neighbor UNDERLAY bfd profile UNDERLAY" in bgp
    for n in it.underlay.neighbors:
        assert f"neighbor {n.address} remote-as {n.peer_asn}" in bgp
        assert f"neighbor {n.address} peer-group UNDERLAY" in bgp
    for n in it.underlay.neighbors6:
        assert f"neighbor {n.address} peer-group UNDERLAY6" in bgp
    v4 = af(text, f"router bgp {it.underlay.asn}", "ipv4 unicast")
    assert "neighbor UNDERLAY activate" in v4 and f"maximum-paths {it.underlay.maximum_paths}" in v4
    assert f"network {it.device.loopback}/32" in v4 and f"network {it.device.vtep}/32" in v4
    assert "neighbor UNDERLAY6 activate" in af(text, f"router bgp {it.underlay.asn}", "ipv6 unicast")
    assert stanza(text, "interface lo") == [
        f"ip address {it.device.loopback}/32", f"ip address {it.device.vtep}/32", f"ipv6 address {it.device.loopback6}/128",
    ]
    bfd = stanza(text, "bfd")
    assert "profile UNDERLAY" in bfd and "transmit-interval 1000" in bfd


def test_overlay_evpn_leaf() -> None:
    it = intents("lab")["leaf1"]
    text = conf("leaf1")
    bgp = stanza(text, "router bgp 65001")
    assert f"neighbor OVERLAY update-source {it.device.loopback}" in bgp
    assert f"neighbor OVERLAY ebgp-multihop {it.overlay.multihop_ttl}" in bgp
    for n in it.overlay.neighbors:
        assert f"neighbor {n.address} peer-group OVERLAY" in bgp
    evpn = af(text, "router bgp 65001", "l2vpn evpn")
    assert evpn[:2] == ["neighbor OVERLAY activate", "advertise-all-vni"]
    assert "neighbor OVERLAY activate" not in af(text, "router bgp 65001", "ipv4 unicast")
    for l2 in it.vnis:
        i = evpn.index(f"vni {l2.vni}")
        assert evpn[i + 1:i + 5] == [
            f"rd {l2.rd}", f"route-target import {l2.route_target}", f"route-target export {l2.route_target}", "exit-vni",
        ]


def test_spine_keeps_next_hop_and_has_no_vnis() -> None:
    text = conf("spine1")
    evpn = af(text, "router bgp 65000", "l2vpn evpn")
    assert evpn == ["neighbor OVERLAY activate", "neighbor OVERLAY attribute-unchanged next-hop"]
    assert "vrf blue" not in lines(text) and not any(ln.startswith("interface vlan") for ln in lines(text))


def test_route_targets_same_on_every_leaf() -> None:
    rts = [
        {ln.strip() for ln in lines(conf(d)) if "route-target" in ln}
        for d in LAB_DEVICES if intents("lab")[d].device.is_leaf
    ]
    assert len(rts) == 4 and all(r == rts[0] for r in rts) and rts[0]
    assert {intents("lab")[d].device.asn for d in LAB_DEVICES if d.startswith("leaf")} == {65001, 65002, 65003, 65004}


def test_l3_vni_and_type5() -> None:
    it = intents("lab")["leaf1"]
    text = conf("leaf1")
    (vi,) = it.vrfs
    assert stanza(text, f"vrf {vi.name}") == [f"vni {vi.l3vni}"]
    assert stanza(text, f"interface {svi_name(vi.vlan)} vrf {vi.name}")[0].startswith("description L3 VNI")
    header = f"router bgp {it.underlay.asn} vrf {vi.name}"
    evpn = af(text, header, "l2vpn evpn")
    assert evpn == [
        "advertise ipv4 unicast", "advertise ipv6 unicast", f"rd {vi.rd}",
        f"route-target import {vi.route_target}", f"route-target export {vi.route_target}",
    ]
    assert "redistribute connected" in af(text, header, "ipv4 unicast")


def test_anycast_gateway_identical_on_every_leaf() -> None:
    leaves = [d for d in LAB_DEVICES if d.startswith("leaf")]
    for g in intents("lab")["leaf1"].gateways:
        header = f"interface {svi_name(g.vlan)} vrf {g.vrf}"
        bodies = [stanza(conf(d), header) for d in leaves]
        assert all(b == bodies[0] for b in bodies)
        assert g.address4 is not None and g.address6 is not None
        assert f"ip address {g.address4.with_prefixlen}" in bodies[0]
        assert f"ipv6 address {g.address6.with_prefixlen}" in bodies[0]


def test_prefix_modifiers() -> None:
    v4 = ip_network("198.51.100.0/24")
    v6 = ip_network("2001:db8:5e::/64")
    assert isinstance(v4, IPv4Network) and isinstance(v6, IPv6Network)
    assert prefix_modifiers(PrefixFilter(v4, 32, 32)) == "ge 32 le 32"  # FRR has no "eq"
    assert prefix_modifiers(PrefixFilter(v6, 128, 128)) == "ge 128 le 128"
    assert prefix_modifiers(PrefixFilter(v4, 24, 24)) == ""
    assert prefix_modifiers(PrefixFilter(v4, 24, 28)) == "le 28"
    with pytest.raises(RenderError):
        prefix_modifiers(PrefixFilter(v4, 16, 32))


def test_k8s_peering_and_service_policy() -> None:
    it = intents("lab")["leaf1"]
    (p,) = it.kubernetes
    text = conf("leaf1")
    assert "bgp community-list standard GSHUT seq 10 permit graceful-shutdown" in lines(text)
    (f4,) = p.accept4
    (f6,) = p.accept6
    assert f"ip prefix-list K8S-LAB-SVC4 seq 10 permit {f4.prefix} ge 32 le 32" in lines(text)
    assert f"ipv6 prefix-list K8S-LAB-SVC6 seq 10 permit {f6.prefix} ge 128 le 128" in lines(text)
    assert stanza(text, "route-map K8S-LAB-IN4 permit 10") == [
        "match ip address prefix-list K8S-LAB-SVC4", "match community GSHUT", "set local-preference 0",
    ]
    assert stanza(text, "route-map K8S-LAB-IN4 permit 20") == ["match ip address prefix-list K8S-LAB-SVC4"]
    assert stanza(text, "route-map K8S-LAB-IN6 permit 10")[-1] == "set local-preference 0"
    assert "route-map DENY-ALL deny 10" in lines(text)
    header = f"router bgp {it.underlay.asn} vrf {p.vrf}"
    bgp = stanza(text, header)
    (node,) = p.nodes
    assert f"neighbor {node.address} remote-as {node.asn}" in bgp
    assert f"neighbor {node.address} peer-group K8S-LAB" in bgp
    assert f"neighbor {node.address6} peer-group K8S-LAB-V6" in bgp
    assert f"neighbor K8S-LAB timers {p.keepalive} {p.hold_time}" in bgp
    # the lab's nodes run bgp-agent (ExaBGP has no BFD): no BFD toward them
    assert p.bfd is None and not any(ln.startswith("neighbor K8S-LAB bfd") for ln in bgp)
    assert af(text, header, "ipv4 unicast")[1:] == [
        "neighbor K8S-LAB activate", "neighbor K8S-LAB route-map K8S-LAB-IN4 in", "neighbor K8S-LAB route-map DENY-ALL out",
        f"neighbor K8S-LAB maximum-prefix {p.max_prefixes}", f"maximum-paths {p.maximum_paths}",
    ]
    assert "neighbor K8S-LAB-V6 route-map K8S-LAB-IN6 in" in af(text, header, "ipv6 unicast")
    assert "profile K8S-LAB" not in stanza(text, "bfd")


def test_k8s_multipath_relax_with_per_node_asns() -> None:
    """A cluster whose nodes have their own ASNs needs multipath-relax for ECMP; every
    tenant VRF has it anyway (type-5 routes of several leaves differ in AS path, issue 9)."""
    it = intents("lab")["leaf1"]
    (p,) = it.kubernetes
    assert not p.multipath_multiple_as
    assert "bgp bestpath as-path multipath-relax" in stanza(conf("leaf1"), "router bgp 65001 vrf blue")
    (vi,) = it.vrfs
    neither = dataclasses.replace(it, vrfs=(dataclasses.replace(vi, multipath_multiple_as=False),))
    assert "bgp bestpath as-path multipath-relax" not in stanza(FrrRenderer().render_main(neither), "router bgp 65001 vrf blue")
    relaxed = dataclasses.replace(neither, kubernetes=(dataclasses.replace(p, multipath_multiple_as=True),))
    assert "bgp bestpath as-path multipath-relax" in stanza(FrrRenderer().render_main(relaxed), "router bgp 65001 vrf blue")


def test_without_kernel_vrfs_tenants_live_in_the_default_instance() -> None:
    text = conf("leaf1", tenant_vrfs=False)
    assert not any(ln.startswith(("vrf ", "router bgp 65001 vrf")) or " vrf " in ln for ln in lines(text))
    assert "interface vlan101" in lines(text)
    v4 = af(text, "router bgp 65001", "ipv4 unicast")
    assert "neighbor K8S-LAB route-map K8S-LAB-IN4 in" in v4 and "neighbor UNDERLAY activate" in v4
    assert "neighbor 10.1.20.11 peer-group K8S-LAB" in stanza(text, "router bgp 65001")


# --------------------------------------------------------------------------- text safety


def test_description_with_newline_is_refused() -> None:
    it = intents("lab")["leaf1"]
    port = dataclasses.replace(it.interfaces[0], description="uplink\nrouter bgp 1")
    with pytest.raises(RenderError, match=r"device leaf1: interface swp1: .*'\\n'"):
        render_main(dataclasses.replace(it, interfaces=(port, *it.interfaces[1:])))


def test_quotes_are_literal_text_in_frr() -> None:
    it = intents("lab")["leaf1"]
    gw = dataclasses.replace(it.gateways[0], description='rack "r1" ! # it\'s fine')
    text = FrrRenderer().render_main(dataclasses.replace(it, gateways=(gw, *it.gateways[1:])))
    assert " description rack \"r1\" ! # it's fine" in lines(text)


def test_interface_name_must_be_a_linux_name() -> None:
    it = intents("lab")["leaf1"]
    port = dataclasses.replace(it.interfaces[0], name="swp1 shutdown")
    with pytest.raises(RenderError, match="interface name"):
        FrrRenderer().render_main(dataclasses.replace(it, interfaces=(port, *it.interfaces[1:])))


# --------------------------------------------------------------------------- FRR's own parser


def _dryrun(text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    assert VTYSH is not None
    path = tmp_path / "frr.conf"
    path.write_text(text)
    return subprocess.run([VTYSH, "--dryrun", "-f", str(path)], capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(VTYSH is None, reason="vtysh (Debian package frr) is not installed")
@pytest.mark.parametrize("tenant_vrfs", [True, False], ids=["vrfs", "no-vrfs"])
@pytest.mark.parametrize("device", LAB_DEVICES)
def test_vtysh_dryrun_accepts(device: str, tenant_vrfs: bool, tmp_path: Path) -> None:
    out = _dryrun(conf(device, tenant_vrfs), tmp_path)
    assert out.returncode == 0 and "%" not in out.stdout + out.stderr, out.stdout + out.stderr


@pytest.mark.skipif(VTYSH is None, reason="vtysh (Debian package frr) is not installed")
def test_vtysh_dryrun_catches_a_bad_line(tmp_path: Path) -> None:
    """The check above can fail: a misspelt statement is reported with its line."""
    out = _dryrun(conf("leaf1").replace("advertise-all-vni", "advertise-all-vnis"), tmp_path)
    assert out.returncode != 0 and "advertise-all-vnis" in out.stdout + out.stderr
