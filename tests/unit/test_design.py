"""The design stage, feature by feature, at the intent level (no renderer involved)."""

from __future__ import annotations

import json
import shutil
from functools import cache
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Network, ip_network
from pathlib import Path

import pytest

import fabric
from fabric.design import DeviceIntent, design
from fabric.design.intent import (
    GRACEFUL_SHUTDOWN_COMMUNITY,
    INTERCONNECT_RT_NUMBER,
    AnycastGateway,
    JsonCache,
    RouteTarget,
)
from fabric.errors import DesignError, RenderError
from fabric.platforms import MODELS
from fabric.render.base import RendererRegistry, check_capabilities, render_device

ROOT = Path(__file__).resolve().parents[2]
INVENTORIES = ROOT / "inventories"


@cache
def intents(name: str) -> dict[str, DeviceIntent]:
    return fabric.load(INVENTORIES / name).design()


def leaves(name: str) -> list[DeviceIntent]:
    return [i for i in intents(name).values() if i.device.role != "spine"]


def spines(name: str) -> list[DeviceIntent]:
    return [i for i in intents(name).values() if i.device.role == "spine"]


# --------------------------------------------------------------------------- devices


def test_one_intent_per_switch_in_inventory_order() -> None:
    fab = fabric.load(INVENTORIES / "shownet2024")
    assert list(intents("shownet2024")) == [s.name for s in fab.inventory.switches()]


@pytest.mark.parametrize("name", ["shownet2024", "shownet2024-dci", "lab"])
def test_spines_have_no_vtep_and_no_tenant_state(name: str) -> None:
    for s in spines(name):
        assert s.device.vtep is None
        assert s.evpn is None and s.vnis == ()
        assert s.vrfs == () and s.gateways == () and s.kubernetes == () and s.dci is None
        assert s.access_ports == ()
        assert [str(p) for p in s.underlay.advertise] == [f"{s.device.loopback}/32"]


@pytest.mark.parametrize("name", ["shownet2024", "shownet2024-dci", "lab"])
def test_leaves_have_vtep_and_advertise_it(name: str) -> None:
    for lf in leaves(name):
        assert lf.evpn is not None and lf.device.vtep is not None
        assert lf.evpn.vtep == lf.device.vtep
        assert IPv4Network(lf.device.vtep) in lf.underlay.advertise
        assert IPv4Network(lf.device.loopback) in lf.underlay.advertise


def test_roles_and_border() -> None:
    roles = {n: i.device.role for n, i in intents("shownet2024").items()}
    assert roles["spine1"] == "spine" and roles["leaf1"] == "leaf" and roles["border1"] == "border"


# --------------------------------------------------------------------------- cabling and underlay


def test_default_cabling_ports_come_from_ledger_numbers() -> None:
    fab = fabric.load(INVENTORIES / "lab")
    alloc = fab.allocations()
    hw = MODELS["frr"]
    for lf in leaves("lab"):
        for i in lf.interfaces:
            spine_id = alloc.spine_id(i.peer)
            assert i.name == hw.uplinks[spine_id - 1]
            assert i.peer_port == hw.downlinks[alloc.leaf_id(lf.name) - 1]
    # the spine sees the same cable from its side
    sp = intents("lab")["spine2"]
    assert {(i.peer, i.name) for i in sp.interfaces} == {
        (lf.name, hw.downlinks[alloc.leaf_id(lf.name) - 1]) for lf in fab.inventory.leaves
    }


def test_explicit_cabling_ports_come_from_inventory() -> None:
    lf = intents("shownet2024")["leaf3"]
    assert [(i.name, i.peer, i.peer_port) for i in lf.interfaces] == [
        ("Ethernet1/49", "spine1", "Ethernet1/3"),
        ("Ethernet1/50", "spine2", "Ethernet1/3"),
    ]


def test_p2p_addresses_and_underlay_sessions_agree_on_both_ends() -> None:
    all_intents = intents("shownet2024")
    for name, it in all_intents.items():
        for i in it.interfaces:
            peer = all_intents[i.peer]
            far = next(p for p in peer.interfaces if p.link == i.link)
            assert far.peer == name and far.peer_port == i.name
            assert far.address.ip == i.peer_address and i.address.ip == far.peer_address
            assert i.address.network == far.address.network and i.address.network.prefixlen == 31
            assert i.address6 is not None and far.address6 is not None
            assert i.address6.network == far.address6.network and i.address6.network.prefixlen == 127
            # the spine takes the lower address
            if it.device.role == "spine":
                assert i.address.ip < i.peer_address
        by_addr = {n.address: n for n in it.underlay.neighbors}
        assert len(by_addr) == len([i for i in it.interfaces if i.kind == "fabric"])
        for i in it.interfaces:
            if i.kind == "fabric":
                nb = by_addr[i.peer_address]
                assert nb.peer == i.peer and nb.peer_asn == all_intents[i.peer].device.asn and nb.interface == i.name
        assert len(it.underlay.neighbors6) == len(it.underlay.neighbors)
        assert it.underlay.multipath and it.underlay.multipath_multiple_as


def test_default_cabling_beyond_the_model_is_a_design_error(tmp_path: Path) -> None:
    from tests.bench.gen_fabric import write

    write(tmp_path, spines=2, leaves=4, svis=2, vrfs=1, platforms=("junos", "nxos"))
    fab = fabric.load(tmp_path)
    fab.write_plan(fab.plan())
    ledger = tmp_path / "allocations.yaml"
    # a leaf numbered beyond the 32 ports of an n9k-9332c spine (e.g. after many removals)
    ledger.write_text(ledger.read_text().replace('"leaf4": 4\n', '"leaf4": 40\n'))
    fab = fabric.load(tmp_path)
    with pytest.raises(DesignError, match=r"spine1 \(n9k-9332c\) has no downlink number 40"):
        fab.design()


# --------------------------------------------------------------------------- overlay


def test_overlay_leaves_peer_with_every_spine_spines_with_every_leaf() -> None:
    its = intents("shownet2024")
    # the EVPN source is the loopback, except on Junos leaves (the VTEP: see test_vendor_review)
    spine_los = {i.device.evpn_source for i in spines("shownet2024")}
    leaf_los = {i.device.evpn_source for i in leaves("shownet2024")}
    for lf in leaves("shownet2024"):
        assert {n.address for n in lf.overlay.neighbors} == spine_los
        assert not lf.overlay.next_hop_unchanged and not lf.overlay.route_server
    for sp in spines("shownet2024"):
        assert {n.address for n in sp.overlay.neighbors} == leaf_los
        assert sp.overlay.next_hop_unchanged and sp.overlay.route_server and sp.overlay.retain_route_targets
    for it in its.values():
        for n in it.overlay.neighbors:
            assert n.local_address == it.device.evpn_source and n.multihop_ttl == it.overlay.multihop_ttl
            assert n.peer_asn == its[n.peer].device.asn


def test_overlay_stays_inside_a_site() -> None:
    its = intents("shownet2024-dci")
    for it in its.values():
        for n in it.overlay.neighbors:
            assert its[n.peer].device.site == it.device.site


# --------------------------------------------------------------------------- VNIs, RTs, RDs


def test_route_targets_are_explicit_admin_vni() -> None:
    its = intents("shownet2024")
    admin = its["spine1"].device.asn
    for lf in leaves("shownet2024"):
        assert lf.fabric.route_target_admin == admin
        for v in lf.vnis:
            assert v.route_target == RouteTarget(admin, v.vni)
            assert v.route_target.community == f"target:{admin}:{v.vni}"
        for vrf in lf.vrfs:
            assert vrf.route_target == RouteTarget(admin, vrf.l3vni)


def test_route_target_admin_from_pools(tmp_path: Path) -> None:
    inv = tmp_path / "lab"
    shutil.copytree(INVENTORIES / "lab", inv)
    text = (inv / "fabric.yaml").read_text()
    (inv / "fabric.yaml").write_text(text.replace("  vlan: 100-3999\n", "  vlan: 100-3999\n  route_targets: {admin: 64999}\n"))
    lf = fabric.load(inv).design()["leaf1"]
    assert lf.vnis[0].route_target.admin == 64999


def test_route_distinguishers_are_unique_per_device_and_per_instance() -> None:
    seen: set[str] = set()
    for lf in leaves("shownet2024"):
        assert lf.evpn is not None
        rds = [lf.evpn.rd, *(v.rd for v in lf.vnis), *(v.rd for v in lf.vrfs)]
        assert all(rd.startswith(f"{lf.device.loopback}:") for rd in rds)
        assert len(set(rds)) == len(rds)
        assert not seen & set(rds)
        seen.update(rds)
        for v in lf.vnis:
            assert v.rd == f"{lf.device.loopback}:{v.vlan}"


def test_network_membership_all_list_and_racks() -> None:
    its = intents("shownet2024")
    on = {n: {v.name for v in its[n].vnis} for n in its if its[n].device.role != "spine"}
    assert all("noc-servers" in s for s in on.values())                     # leaves: all
    assert {n for n, s in on.items() if "exh-storage" in s} == {"leaf3", "leaf4"}      # a list
    assert {n for n, s in on.items() if "noc-monitoring" in s} == {"leaf1", "leaf2"}   # racks: [r1]
    assert {n for n, s in on.items() if "exh-dmz" in s} == {"leaf3", "leaf4", "leaf5", "leaf6"}


def test_shared_network_objects_are_not_copied() -> None:
    its = intents("shownet2024")
    a = next(v for v in its["leaf1"].vnis if v.name == "noc-servers")
    b = next(v for v in its["leaf6"].vnis if v.name == "noc-servers")
    assert a.network is b.network and a.rd != b.rd


# --------------------------------------------------------------------------- anycast gateways and VRFs


def test_every_leaf_has_the_anycast_gateway_of_each_of_its_networks() -> None:
    fab = fabric.load(INVENTORIES / "shownet2024")
    nets = {n.name: n for n in fab.inventory.networks()}
    seen: dict[str, AnycastGateway] = {}
    for lf in leaves("shownet2024"):
        gws = {g.network: g for g in lf.gateways}
        assert set(gws) == {v.name for v in lf.vnis if not v.stitched and (nets[v.name].gateway4 or nets[v.name].gateway6)}
        for name, g in gws.items():
            assert g.mac == "02:00:00:00:01:01" == lf.fabric.gateway_mac
            assert g.address4 == nets[name].gateway4 and g.address6 == nets[name].gateway6
            assert g.vlan == next(v.vlan for v in lf.vnis if v.name == name)
            assert g.vrf == nets[name].vrf and g.mtu == nets[name].mtu
            if name in seen:  # the same object, so the same IP and MAC, on every leaf
                assert g is seen[name]
            seen[name] = g
    assert seen["exh-dmz"].address6 is None and seen["exh-dmz"].address4 == IPv4Interface("10.20.16.1/24")


def test_vrfs_on_leaves_follow_their_gateways_borders_carry_all() -> None:
    its = intents("shownet2024")
    assert [v.name for v in its["leaf1"].vrfs] == ["noc", "exhibitors", "k8s"]
    for lf in leaves("shownet2024"):
        for v in lf.vrfs:
            assert set(v.networks) <= {g.network for g in lf.gateways}
            assert all(g.vrf == v.name for g in lf.gateways if g.network in v.networks)
            assert v.ip_prefix_routes and v.rd == f"{lf.device.loopback}:{v.vlan}"
    assert [v.name for v in its["border1"].vrfs] == ["noc", "exhibitors", "k8s"]
    k8s = next(v for v in its["leaf1"].vrfs if v.name == "k8s")
    assert k8s.export_kubernetes
    assert not next(v for v in its["leaf1"].vrfs if v.name == "noc").export_kubernetes


# --------------------------------------------------------------------------- Kubernetes


def test_k8s_peering_policy_ranges() -> None:
    its = intents("shownet2024")
    leaf1 = its["leaf1"]
    ocp = next(p for p in leaf1.kubernetes if p.cluster == "ocp")
    assert ocp.vrf == "k8s" and ocp.network == "k8s-ocp"
    assert [n.name for n in ocp.nodes] == ["ocp-master1", "ocp-worker2"]
    assert ocp.allow4 == (IPv4Network("10.30.1.11/32"), IPv4Network("10.30.1.22/32"))
    assert ocp.allow6 == (IPv6Network("2001:db8:30:1::11/128"), IPv6Network("2001:db8:30:1::22/128"))
    assert [(str(f.prefix), f.min_length, f.max_length) for f in ocp.accept] == [
        ("172.16.101.0/24", 32, 32), ("2001:db8:5e01::/64", 128, 128),
    ]
    assert [f.family for f in ocp.accept4] == ["ipv4"] and [f.family for f in ocp.accept6] == ["ipv6"]
    # the leaf's own address in the VRF (ledger k8s_peering, a loopback), not the anycast gateway 10.30.1.1
    assert ocp.local_address == IPv4Address("10.0.3.1") and ocp.local_address6 == IPv6Address("fd00:5e:0:3::1")
    assert ocp.source_loopback == 200 and ocp.multihop_ttl == 2
    assert ocp.local_asn == leaf1.device.asn
    assert ocp.shared_asn and ocp.peer_asns == (64601,) and not ocp.multipath_multiple_as
    assert ocp.max_prefixes == 200 and ocp.bfd is None and ocp.multipath  # bgp-agent: no BFD
    assert ocp.graceful_shutdown.community == GRACEFUL_SHUTDOWN_COMMUNITY == "65535:0"
    assert ocp.graceful_shutdown.local_preference == 0
    assert {a.name: a.vlan for a in leaf1.access_ports} == {
        "xe-0/0/0": ocp.vlan, "xe-0/0/1": ocp.vlan,
    }


def test_k8s_node_asns_per_node_clusters_and_no_bfd() -> None:
    its = intents("shownet2024")
    nke = next(p for p in its["leaf5"].kubernetes if p.cluster == "nke")
    assert {n.name: n.asn for n in nke.nodes} == {"nke-1": 64630, "nke-3": 64632}
    assert nke.peer_asns == (64630, 64632) and not nke.shared_asn and nke.multipath_multiple_as
    assert nke.bfd is None
    assert nke.allow6 == (IPv6Network("2001:db8:30:4::11/128"),)  # nke-3 has no IPv6 address
    assert [str(n.address6) for n in nke.nodes] == ["2001:db8:30:4::11", "None"]
    tanzu = next(p for p in its["leaf5"].kubernetes if p.cluster == "tanzu")
    assert (tanzu.hold_time, tanzu.keepalive) == (30, 10)


def test_k8s_peerings_only_where_nodes_are() -> None:
    fab = fabric.load(INVENTORIES / "shownet2024")
    where = {(c.name, n.leaf) for c in fab.inventory.kubernetes.clusters for n in c.nodes}
    got = {(p.cluster, lf.name) for lf in leaves("shownet2024") for p in lf.kubernetes}
    assert got == where
    for sp in spines("shownet2024"):
        assert sp.kubernetes == ()


def test_k8s_allow_ranges_cover_every_service_range_only() -> None:
    fab = fabric.load(INVENTORIES / "shownet2024")
    ranges = {c.name: set(c.service_ranges) for c in fab.inventory.kubernetes.clusters}
    for lf in leaves("shownet2024"):
        for p in lf.kubernetes:
            assert {f.prefix for f in p.accept} == ranges[p.cluster]
            for f in p.accept:
                assert f.min_length == f.max_length == f.prefix.max_prefixlen
            assert all(ip_network(a).prefixlen == 32 for a in p.allow4)


# --------------------------------------------------------------------------- DCI


def test_dci_only_on_border_leaves_with_dci_links() -> None:
    its = intents("shownet2024-dci")
    with_dci = {n for n, i in its.items() if i.dci is not None}
    assert with_dci == {"dc1-border1", "dc1-border2", "dc2-border1", "dc2-border2"}
    assert all(its[n].device.role == "border" for n in with_dci)
    # shownet2024 has border leaves but no DCI links: no DCI
    assert all(i.dci is None for i in intents("shownet2024").values())


def test_dci_sessions_stitching_and_ids() -> None:
    its = intents("shownet2024-dci")
    b = its["dc1-border1"]
    assert b.dci is not None
    d = b.dci
    assert d.site == "dc1" and d.site_id == 1 and d.interfaces == ("et-0/0/30",)
    assert d.fabric_interfaces == ("et-0/0/0", "et-0/0/1")
    dci_if = next(i for i in b.interfaces if i.kind == "dci")
    assert dci_if.peer == "dc2-border1" and dci_if.address.network.prefixlen == 31
    assert [(n.peer, n.address, n.peer_asn) for n in d.underlay_neighbors] == [
        ("dc2-border1", dci_if.peer_address, its["dc2-border1"].device.asn),
    ]
    assert [n.peer for n in d.overlay_neighbors] == ["dc2-border1", "dc2-border2"]
    assert all(n.multihop_ttl == d.multihop_ttl and n.local_address == b.device.evpn_source for n in d.overlay_neighbors)
    assert d.peer_gateways == (its["dc1-border2"].device.loopback,)
    # the interconnect RT is the same in both sites; the ESI and VIP differ per site, not per border
    other = its["dc2-border1"].dci
    pair = its["dc1-border2"].dci
    assert other is not None and pair is not None
    assert d.route_target == other.route_target == RouteTarget(65000, INTERCONNECT_RT_NUMBER)
    assert d.esi != other.esi and d.esi == pair.esi and len(d.esi.split(":")) == 10
    assert d.multisite_vip != other.multisite_vip and d.multisite_vip == pair.multisite_vip
    assert other.site_id == 2


def test_dci_stretched_networks_are_carried_by_the_borders() -> None:
    its = intents("shownet2024-dci")
    b = its["dc1-border1"]
    assert b.dci is not None
    nets = {v.name: v for v in b.vnis}
    # noc-servers is on every leaf (both sites), noc-dns on server leaves of both sites,
    # dc2-backup only in dc2
    assert nets["noc-servers"].network.stretched and not nets["noc-servers"].stitched
    assert nets["noc-dns"].network.stretched and nets["noc-dns"].stitched
    assert "dc2-backup" not in nets
    assert set(b.dci.vnis) == {nets["noc-servers"].vni, nets["noc-dns"].vni}
    assert "noc-dns" not in {g.network for g in b.gateways}  # stitched only: no gateway here
    assert [v.vrf for v in b.dci.vrfs] == ["noc"]
    assert its["dc2-leaf1"].dci is None


# --------------------------------------------------------------------------- JSON and capabilities


@pytest.mark.parametrize("name", ["shownet2024", "shownet2024-dci", "lab"])
def test_json_is_valid_sorted_and_stable(name: str) -> None:
    fab1, fab2 = fabric.load(INVENTORIES / name), fabric.load(INVENTORIES / name)
    a, b = fab1.design(), fab2.design()
    cache = JsonCache()
    for dev in a:
        text = a[dev].to_json(cache)
        assert text == b[dev].to_json() and text.endswith("}\n")
        doc = json.loads(text)
        assert doc["intent_version"] == 1 and doc["device"]["name"] == dev
        assert list(doc) == sorted(doc)


def test_features_and_capability_check() -> None:
    its = intents("shownet2024-dci")
    border = its["dc1-border1"]
    assert {"evpn_vxlan", "anycast_gateway", "anycast_gateway_v6", "l3vni", "ipv6_underlay",
            "bfd", "dci_stitching"} <= border.features()
    assert "dci_stitching" not in its["dc1-leaf1"].features()
    assert "k8s_peering" in its["dc1-leaf1"].features()

    class FrrLike:
        platform = "frr"
        formats = ("frr.conf",)

        def render(self, intent: DeviceIntent) -> dict[str, str]:
            return {"frr.conf": ""}

        def render_main(self, intent: DeviceIntent) -> str:
            return ""

    with pytest.raises(RenderError, match=r"^frr does not support dci_stitching \(device dc1-border1\)$"):
        check_capabilities(FrrLike(), border)
    check_capabilities(FrrLike(), its["dc1-leaf1"])
    reg = RendererRegistry(builtin={}, group=None)
    reg.register(FrrLike())
    with pytest.raises(RenderError, match="no renderer for platform junos"):
        render_device(border, reg)
    with pytest.raises(RenderError, match="already registered"):
        reg.register(FrrLike())


def test_summary_links_have_both_ends() -> None:
    fab = fabric.load(INVENTORIES / "shownet2024-dci")
    s = fab.summary()
    assert [d.name for d in s.devices] == [x.name for x in fab.inventory.switches()]
    assert len(s.links) == len(fab.inventory.cabling or []) + len(fab.inventory.dci_links)
    assert [lk.kind for lk in s.links].count("dci") == 2
    assert {n.name for n in s.nodes} == {n.name for c in fab.inventory.kubernetes.clusters for n in c.nodes}
    node = next(n for n in s.nodes if n.name == "dns-dc1-a")
    assert str(node.address) == "10.10.53.11/24" and str(node.gateway4) == "10.10.53.1"
    assert json.loads(s.to_json())["fabric"]["name"] == "shownet2024-dci"
    (dns,) = s.clusters
    assert (dns.name, dns.vrf, dns.asn_first, dns.asn_last, dns.max_prefixes, dns.speaker, dns.bfd) == (
        "anycast-dns", "noc", 64653, 64660, 16, "bgp-agent", False)
    assert dns.leaves == ("dc1-leaf1", "dc1-leaf2", "dc2-leaf1", "dc2-leaf2") and len(dns.nodes) == 4


def test_design_function_is_pure_and_repeatable() -> None:
    fab = fabric.load(INVENTORIES / "shownet2024")
    alloc = fab.allocations()
    a, b = design(fab.inventory, alloc), design(fab.inventory, alloc)
    assert a == b and a is not b
