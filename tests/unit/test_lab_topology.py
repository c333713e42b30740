"""The one topology description (pure): what the lab builds and containerlab is asked for."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import pytest

import fabric
from fabric.export.view import build_view
from fabric.lab.topology import (
    LabTopology,
    TopoBridge,
    TopologyError,
    bridge_changes,
    lab_topology,
    twin_port,
)
from fabric.lab.twins import lab_configs, twin_intent

REPO = Path(__file__).resolve().parents[2]


def topo(name: str) -> LabTopology:
    return lab_topology(build_view(fabric.load(REPO / "inventories" / name).designed()))


def test_lab_inventory_laid_out() -> None:
    t = topo("lab")
    assert [r.name for r in t.routers] == ["spine1", "spine2", "leaf1", "leaf2", "leaf3", "leaf4"]
    assert [n.name for n in t.k8s_nodes] == ["node1", "node2", "node3", "node4"]
    # one host per (network, leaf), default route via the anycast gateway
    assert len(t.hosts) == 2 * 4
    h = next(h for h in t.hosts if h.name == "h-servers-leaf2")
    assert str(h.gateway4) == "10.1.10.1" and str(h.address4) == "10.1.10.253/24"
    assert len({x.address4 for x in t.hosts}) == len(t.hosts)
    leaf1 = t.router("leaf1")
    assert [(b.vlan, b.vni, b.members) for b in leaf1.bridges] == [(101, 10000, ("h1",)), (102, 10001, ("swp10", "h2"))]
    assert "link set vlan101 address 02:00:00:00:01:01" in leaf1.setup
    assert t.router("spine1").setup == ()
    assert t.k8s_nodes[0].dns_address == IPv4Address("198.51.100.53")


def test_every_interface_name_fits_linux_and_cables_are_unique() -> None:
    for name in ("lab", "shownet2024"):
        t = topo(name)
        ends = [(lk.a, lk.a_if) for lk in t.links] + [(lk.b, lk.b_if) for lk in t.links]
        assert len(ends) == len(set(ends)), name
        assert all(len(ifname) <= 15 and "/" not in ifname for _, ifname in ends)


def test_junos_and_nxos_devices_become_frr_twins() -> None:
    t = topo("shownet2024")
    twins = [r for r in t.routers if r.twin]
    assert twins and {r.platform for r in twins} == {"junos", "nxos"}
    leaf1 = t.router("leaf1")
    assert leaf1.ports["et-0/0/48"] == "et-0-0-48"
    assert twin_port("Ethernet1/49") == "Ethernet1-49"
    with pytest.raises(TopologyError):
        twin_port("GigabitEthernet1/0/48.100")


def test_twin_configs_keep_the_numbers_and_rename_the_ports() -> None:
    fab = fabric.load(REPO / "inventories" / "shownet2024")
    intents = fab.design()
    configs = lab_configs(intents, tenant_vrfs=False)
    leaf1 = intents["leaf1"]
    twin = twin_intent(leaf1)
    assert twin.platform == "frr" and twin.device.asn == leaf1.device.asn
    assert [i.address for i in twin.interfaces] == [i.address for i in leaf1.interfaces]
    text = configs["leaf1"]
    assert "interface et-0-0-48" in text and "et-0/0/48" not in text
    assert f"router bgp {leaf1.device.asn}" in text
    for v in leaf1.vnis:
        assert f"route-target import {v.route_target}" in text


def test_vlan_move_reuses_the_vni_device_and_removes_the_old_bridge_after() -> None:
    old = (TopoBridge(101, 10000, 9000, ("h1",)), TopoBridge(102, 10001, 9000, ("swp10", "h2")))
    new = (TopoBridge(150, 10000, 9000, ("h1",)), TopoBridge(102, 10001, 9000, ("swp10", "h2")))
    before, after = bridge_changes(old, new, IPv4Address("10.0.1.1"), "02:00:00:00:01:01")
    assert before == [
        "link add vlan150 type bridge",
        "link set vlan150 address 02:00:00:00:01:01",
        "link set vxlan10000 mtu 9000",
        "link set vxlan10000 master vlan150",
        "link set vxlan10000 up",
        "link set h1 master vlan150",
        "link set vlan150 up",
    ]
    assert after == ["link del vlan101"]
    assert bridge_changes(new, new, IPv4Address("10.0.1.1"), "02:00:00:00:01:01") == ([], [])
    gone_before, gone_after = bridge_changes(old, old[1:], IPv4Address("10.0.1.1"), "02:00:00:00:01:01")
    assert gone_before == [] and gone_after == ["link del vxlan10000", "link del vlan101"]


# ---------------------------------------------------------------- servers (issue 9 item 12)


def _shownet(bonds: bool) -> LabTopology:
    return lab_topology(build_view(fabric.load(Path(__file__).resolve().parents[2] / "inventories" / "shownet2024")
                                   .designed()), bonds=bonds)


def test_servers_laid_out_with_bonds() -> None:
    t = _shownet(bonds=True)
    srv = next(s for s in t.servers if s.server == "noc-db1")
    assert srv.name == "s-noc-db1" and srv.bond and srv.nics == ("eth1", "eth2")
    assert {(lk.a, lk.a_if, lk.b_if) for lk in t.links if lk.b == srv.name} == {
        ("leaf1", "xe-0-0-10", "eth1"), ("leaf2", "xe-0-0-10", "eth2")}
    for leaf in ("leaf1", "leaf2"):
        setup = t.router(leaf).setup
        assert ("link add bond10 type bond mode 802.3ad lacp_rate fast miimon 100 "
                "ad_actor_system 02:4c:53:00:00:01") in setup
        assert "link set xe-0-0-10 master bond10" in setup
        assert "bond10" in next(b for b in t.router(leaf).bridges if b.vlan == 100).members
    assert "link add bond0 type bond mode 802.3ad lacp_rate fast miimon 100" in srv.setup()
    assert srv.interface == "bond0" and srv.address4 is not None and str(srv.address4) == "10.10.0.2/24"
    # a trunk without a native network: tagged sub-interfaces on the leaf, the first VLAN on the server
    hv = next(s for s in t.servers if s.server == "exh-hv1")
    assert hv.interface == "bond0.106"
    assert any(c.startswith("link add link bond10 name p1v106 type vlan id 106") for c in t.router("leaf3").setup)


def test_servers_without_a_bonding_driver_stand_by() -> None:
    t = _shownet(bonds=False)
    srv = next(s for s in t.servers if s.server == "noc-db1")
    assert not srv.bond and srv.interface == "eth1"
    setup = srv.setup()
    assert "link set eth1 up" in setup and "link set eth2 up" not in setup  # eth2 stands by
    assert f"link set eth2 address {srv.mac}" in setup  # with the same MAC, as a bond's slave
    assert not any("bond" in c for c in t.router("leaf1").setup)
    assert "xe-0-0-10" in next(b for b in t.router("leaf1").bridges if b.vlan == 100).members


def test_servers_without_vlan_devices_carry_one_untagged_vlan() -> None:
    t = lab_topology(build_view(fabric.load(Path(__file__).resolve().parents[2] / "inventories" / "shownet2024")
                                .designed()), bonds=False, vlan_devices=False)
    assert not any(" type vlan " in c for r in t.routers for c in r.setup)
    hv = next(s for s in t.servers if s.server == "noc-hv1")  # trunk, native noc-servers: that one only
    assert hv.interface == "eth1" and not any("type vlan" in c for c in hv.setup())
    leaf1 = {b.vlan: b.members for b in t.router("leaf1").bridges}
    assert "xe-0-0-11" in leaf1[100] and not any(m.startswith("p") for m in leaf1[104])
    exh = next(s for s in t.servers if s.server == "exh-hv1")  # trunk without native: its first network, untagged
    assert exh.interface == "eth1" and exh.network == "exh-storage"
    assert "Ethernet1-10" in {b.vlan: b.members for b in t.router("leaf3").bridges}[106]
