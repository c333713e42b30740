"""Issue 9 item 11: the border hand-off to external routers (``external_routers``).

Every assertion here fails on the output before the feature: the border leaves rendered
like server leaves (no sub-interface, no eBGP session, no policy). The lab side (an
external-router namespace, routes both ways) is in ``tests/lab/test_lab_external.py``.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path

import pytest

import fabric
from fabric.design import DeviceIntent, design
from fabric.lab.twins import twin_intent
from fabric.render.frr.renderer import FrrRenderer
from fabric.render.junos import JunosRenderer
from fabric.render.nxos.renderer import NxosRenderer

INVENTORIES = Path(__file__).resolve().parents[2] / "inventories"
VTYSH = shutil.which("vtysh")


@cache
def intents(name: str) -> dict[str, DeviceIntent]:
    fab = fabric.load(INVENTORIES / name)
    return design(fab.inventory, fab.allocations())


@cache
def junos(device: str) -> str:
    return JunosRenderer().render_main(intents("shownet2024")[device])


@cache
def nxos(device: str) -> str:
    return NxosRenderer().render_main(intents("shownet2024-dci")[device])


def block(text: str, start: str, indent: str = "") -> list[str]:
    """Stripped lines from the line ``start`` (exact, after ``indent``) to its closing brace
    or the next line at the same indent."""
    ls = text.splitlines()
    i = ls.index(indent + start)
    out = []
    for line in ls[i + 1:]:
        if line.startswith(indent) and not line.startswith(indent + " "):
            break
        out.append(line.strip())
    return out


# --------------------------------------------------------------------------- intent


def test_intent_carries_one_session_per_vrf_on_each_border() -> None:
    i = intents("shownet2024")
    b1 = i["border1"]
    assert [p.name for p in b1.external] == ["et-0/0/30"]
    sessions = b1.external_sessions()
    assert [(s.vrf, s.vlan, str(s.address), str(s.peer_address)) for s in sessions] == [
        ("noc", 11, "192.0.2.0/31", "192.0.2.1"),
        ("exhibitors", 12, "192.0.2.2/31", "192.0.2.3"),
        ("k8s", 13, "192.0.2.4/31", "192.0.2.5"),
    ]
    noc = sessions[0]
    assert noc.peer_asn == 64900 and noc.local_asn == b1.device.asn
    # import: default -> only the default routes; export: the VRF's subnets (nothing originated)
    assert noc.import_default and noc.accept == (IPv4Network("0.0.0.0/0"), IPv6Network("::/0"))
    assert IPv4Network("10.10.0.0/24") in noc.announce and IPv4Network("10.10.1.0/24") in noc.announce
    assert noc.aggregates == ()
    # a given export that is not a subnet is originated as an aggregate
    assert sessions[1].aggregates == (IPv4Network("10.20.0.0/16"), IPv6Network("2001:db8:20::/48"))
    assert "external_bgp" in b1.features()
    assert all(not x.external for n, x in i.items() if n not in ("border1", "border2"))


def test_prefix_import_without_ipv6_session() -> None:
    s = intents("shownet2024-dci")["dc2-border1"].external_sessions()[0]
    assert not s.import_default and s.accept == (IPv4Network("198.18.0.0/24"), IPv4Network("198.18.1.0/24"))
    assert s.peer_address6 is None and all(p.version == 4 for p in s.announce)


# --------------------------------------------------------------------------- Junos


def test_junos_sub_interface_in_the_vrf() -> None:
    text = junos("border1")
    port = block(text, "et-0/0/30 {", "    ")
    assert "flexible-vlan-tagging;" in port
    assert "unit 11 {" in port and "vlan-id 11;" in port and "address 192.0.2.0/31;" in port
    noc = block(text, "noc {", "    ")
    assert "interface et-0/0/30.11;" in noc


def test_junos_ebgp_group_with_policies_per_vrf() -> None:
    noc = block(junos("border1"), "noc {", "    ")
    i = noc.index("group ext-backbone1 {")
    group = noc[i:noc.index("neighbor 192.0.2.1;", i) + 1]
    for line in ("type external;", "import EXT-IN-backbone1-noc;", "export EXT-OUT-backbone1-noc;",
                 "peer-as 64900;", "neighbor 192.0.2.1;"):
        assert line in group, line
    assert "group ext-backbone1-v6 {" in noc and "neighbor 2001:db8:ff:1::1;" in noc


def test_junos_policies_prefix_lists_and_type5_export() -> None:
    text = junos("border1")
    assert block(text, "prefix-list EXT-IN-backbone1-noc {", "    ") == ["0.0.0.0/0;"]
    assert block(text, "prefix-list EXT-OUT-backbone1-noc {", "    ") == ["10.10.0.0/24;", "10.10.1.0/24;"]
    out = block(text, "policy-statement EXT-OUT-backbone1-noc {", "    ")
    assert out[:6] == ["term accept {", "from {", "prefix-list EXT-OUT-backbone1-noc;",
                       "prefix-list EXT-OUT-backbone1-noc-V6;", "}", "then accept;"]
    assert out[-3:-1] == ["term reject {", "then reject;"]
    # what the backbone sends is advertised to every leaf as type-5
    t5 = block(text, "policy-statement T5-EXPORT-noc {", "    ")
    i = t5.index("term external-backbone1 {")
    assert t5[i + 1:i + 7] == ["from {", "protocol bgp;", "prefix-list EXT-IN-backbone1-noc;",
                               "prefix-list EXT-IN-backbone1-noc-V6;", "}", "then accept;"]
    # aggregates originated in the VRF
    exh = block(text, "exhibitors {", "    ")
    assert "route 10.20.0.0/16;" in exh and "route 2001:db8:20::/48;" in exh


def test_server_leaf_unchanged() -> None:
    assert "EXT-" not in junos("leaf1") and "vlan-tagging" not in junos("leaf1")


# --------------------------------------------------------------------------- NX-OS


def test_nxos_sub_interface_and_session() -> None:
    text = nxos("dc2-border1")
    assert block(text, "interface Ethernet1/48") == ["description external: backbone-dc2", "no switchport",
                                                     "mtu 9216", "no shutdown"]
    sub = block(text, "interface Ethernet1/48.11")
    assert sub[1:] == ["encapsulation dot1q 11", "mtu 1500", "vrf member noc", "no ip redirects",
                       "ip address 192.0.2.8/31", "bfd interval 500 min_rx 500 multiplier 3", "no shutdown"]
    assert text.index("vrf context noc") < text.index("interface Ethernet1/48.11")
    vrf = block(text, "  vrf noc")
    i = vrf.index("neighbor 192.0.2.9")
    assert vrf[i + 1:i + 7] == ["remote-as 64910", "description external backbone-dc2 remote site upstream", "bfd",
                                "address-family ipv4 unicast", "route-map EXT-BACKBONE-DC2-NOC-IN4 in",
                                "route-map EXT-BACKBONE-DC2-NOC-OUT4 out"]
    assert "advertise l2vpn evpn" in vrf  # learned routes go to every leaf as type-5


def test_nxos_filters_before_use() -> None:
    text = nxos("dc2-border1")
    lines = text.splitlines()
    assert "ip prefix-list EXT-BACKBONE-DC2-NOC-IN4 seq 10 permit 198.18.0.0/24" in lines
    assert "ip prefix-list EXT-BACKBONE-DC2-NOC-IN4 seq 20 permit 198.18.1.0/24" in lines
    assert "ip prefix-list EXT-BACKBONE-DC2-NOC-OUT4 seq 10 permit 10.10.0.0/24" in lines
    assert "route-map EXT-BACKBONE-DC2-NOC-IN4 permit 10" in lines
    assert "IN6" not in text  # no IPv6 session, no IPv6 filters
    assert text.index("route-map EXT-BACKBONE-DC2-NOC-OUT4 permit 10") < text.index("router bgp")


# --------------------------------------------------------------------------- FRR


@cache
def frr(inventory: str, device: str, tenant_vrfs: bool) -> str:
    return FrrRenderer(tenant_vrfs=tenant_vrfs).render_main(twin_intent(intents(inventory)[device]))


def test_frr_session_in_the_vrf_instance() -> None:
    text = frr("shownet2024", "border1", True)
    assert "interface et-0-0-30.11 vrf noc" in text.splitlines()
    vrf = text[text.index("router bgp 65201 vrf noc"):]
    vrf = vrf[:vrf.index("\n!\n")]
    assert " neighbor 192.0.2.1 remote-as 64900" in vrf
    assert "  neighbor 192.0.2.1 route-map EXT-BACKBONE1-NOC-IN4 in" in vrf
    assert "  neighbor 2001:db8:ff:1::1 route-map EXT-BACKBONE1-NOC-OUT6 out" in vrf
    assert "  advertise ipv4 unicast" in vrf
    exh = text[text.index("router bgp 65201 vrf exhibitors"):]
    assert "  aggregate-address 10.20.0.0/16" in exh[:exh.index("\n!\n")]


def test_frr_without_kernel_vrfs_originates_the_subnets() -> None:
    text = frr("shownet2024", "border1", False)
    assert "interface et-0-0-30.11" in text.splitlines() and " vrf noc" not in text
    default = text[text.index("router bgp 65201\n"):]
    assert "  network 10.10.0.0/24" in default and "  neighbor 192.0.2.1 activate" in default


@pytest.mark.skipif(VTYSH is None, reason="vtysh is not installed (Debian package frr)")
@pytest.mark.parametrize("inventory,device", [("shownet2024", "border1"), ("shownet2024-dci", "dc2-border1")])
@pytest.mark.parametrize("tenant_vrfs", [True, False])
def test_frr_dryrun_accepts(inventory: str, device: str, tenant_vrfs: bool, tmp_path: Path) -> None:
    path = tmp_path / "frr.conf"
    path.write_text(frr(inventory, device, tenant_vrfs))
    assert VTYSH is not None
    out = subprocess.run([VTYSH, "--dryrun", "-f", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


# --------------------------------------------------------------------------- lab topology


def test_lab_topology_has_the_external_router() -> None:
    from fabric.lab import ops

    topo = ops.topology(fabric.load(INVENTORIES / "lab"))
    (x,) = topo.externals
    assert x.name == "x-backbone" and x.name in topo.node_names
    # no 802.1Q devices on this kernel: one veth pair per sub-interface, named like it
    assert x.cables() == (("leaf4", "swp20.11", "eth1.11"),)
    conf = x.frr_config()
    assert " neighbor 192.0.2.0 remote-as 65004" in conf and "  network 203.0.113.0/24" in conf
    assert "default-originate" not in conf  # leaf4 imports prefixes, not the default route
    (s,) = x.sessions
    assert s.expect == (IPv4Network("10.1.10.0/24"), IPv4Network("10.1.20.0/24"),
                        IPv6Network("2001:db8:1:10::/64"), IPv6Network("2001:db8:1:20::/64"))


def test_lab_external_router_sends_a_default_route_where_imported() -> None:
    from fabric.lab import ops

    topo = ops.topology(fabric.load(INVENTORIES / "shownet2024"))
    assert [x.name for x in topo.externals] == ["x-backbone1", "x-backbone2"]
    x = topo.externals[0]
    assert [c[1] for c in x.cables()] == ["et-0-0-30.11", "et-0-0-30.12", "et-0-0-30.13"]  # the twin's names
    conf = x.frr_config()
    assert "  neighbor 192.0.2.0 default-originate" in conf and " ip address 203.0.113.1/24" in conf


@pytest.mark.skipif(VTYSH is None, reason="vtysh is not installed (Debian package frr)")
@pytest.mark.parametrize("inventory", ["lab", "shownet2024", "shownet2024-dci"])
def test_lab_external_router_config_dryrun(inventory: str, tmp_path: Path) -> None:
    from fabric.lab import ops

    assert VTYSH is not None
    for x in ops.topology(fabric.load(INVENTORIES / inventory)).externals:
        path = tmp_path / f"{x.name}.conf"
        path.write_text(x.frr_config())
        out = subprocess.run([VTYSH, "--dryrun", "-f", str(path)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
