"""Issue 9 item 12 in the lab: a server dual-homed to a leaf pair keeps its connectivity when
one of its leaf links goes down.

A small FRR fabric (one spine, the pair leaf1/leaf2, leaf3) with one network on every leaf
and the server ``srv1`` on ``swp10`` of both pair leaves, brought up with ``fabric lab up``
and deployed with ``fabric deploy --lab`` from the same topology and renderings as every lab.
The server pings the test host on leaf3 through the fabric (EVPN type-2, VXLAN) and the
anycast gateway; then leaf1's port goes down and the server carries on over leaf2.

This kernel has no bonding driver (see ``fabric.lab.lab.NO_BOND_REASON``): the server's NICs
cannot form the LACP bond of an ESI-LAG, so the lab cables them straight into the leaves'
bridges and the test fails the server over the way an active-backup bond does (same MAC,
the address moves to the NIC towards leaf2). What that shows: the fabric moves the server's
MAC from leaf1's VTEP to leaf2's (EVPN MAC mobility) and traffic follows through the anycast
gateway. The Ethernet segment itself (type-1/type-4 routes between the pair) needs the bond;
its test runs only on a kernel that has one and skips here with that reason. Tenant networks
are in the default table (no VRF support here either; this test needs none).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import fabric
from fabric.api import Fabric
from fabric.lab import ops
from fabric.lab.fabriclab import FabricLab, lab_requirements
from fabric.lab.lab import NO_BOND_REASON, bond_supported
from fabric.lab.topology import LabTopology
from fabric.validate import wait_lab

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(lab_requirements() is not None, reason=str(lab_requirements())),
]

INVENTORY = """\
fabric: {name: mh, mtu: 9216, bfd: false, sites: [{name: lab}]}
pools:
  loopback: 10.0.0.0/24
  vtep: 10.0.1.0/24
  p2p: 10.0.2.0/24
  asn: {spine: 65000, leaf: 65001-65099}
  l2vni: 10000-19999
  l3vni: 50000-50999
  vlan: 100-3999
spines:
  - {name: spine1, platform: frr, model: frr, site: lab}
leaves:
  - {name: leaf1, platform: frr, model: frr, site: lab, rack: r1, pair: leaf2}
  - {name: leaf2, platform: frr, model: frr, site: lab, rack: r1, pair: leaf1}
  - {name: leaf3, platform: frr, model: frr, site: lab, rack: r2}
tenants:
  - name: t
    vrfs: [{name: red}]
    networks:
      - {name: servers, vrf: red, gateway4: 10.1.10.1/24}
servers:
  - name: srv1
    links:
      - {leaf: leaf1, port: swp10}
      - {leaf: leaf2, port: swp10}
    networks: [servers]
"""


class Env:
    def __init__(self, tmp: Path) -> None:
        self.inventory = tmp / "mh"
        self.inventory.mkdir()
        (self.inventory / "fabric.yaml").write_text(INVENTORY)
        fab = fabric.load(self.inventory)
        fab.write_plan(fab.plan())
        self.fab: Fabric = fabric.load(self.inventory)
        self.topo: LabTopology = ops.topology(self.fab)
        self.lab = FabricLab(f"m{os.getpid()}")

    def ping(self, node: str, address: str, tries: int = 1) -> bool:
        for _ in range(tries):
            if self.lab.exec(node, "ping", "-c", "1", "-W", "1", address, check=False, timeout=10).returncode == 0:
                return True
        return False

    def remote_vtep(self, leaf: str, vni: int, mac: str) -> str | None:
        """The VTEP ``leaf``'s EVPN says the MAC is behind (None: not known or local)."""
        data = self.lab.router(leaf).vtysh_json(f"show evpn mac vni {vni} mac {mac} json")
        entry = data.get(mac) if isinstance(data, dict) else None
        if not isinstance(entry, dict) or entry.get("type") != "remote":
            return None
        return str(entry.get("remoteVtep"))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    e = Env(tmp_path_factory.mktemp("multihoming"))
    try:
        ops.up(e.fab, e.lab.name)
        report = ops.deploy(e.fab, e.lab.name)
        assert report.ok, [d.error for d in report.devices]
        result = wait_lab(e.fab, e.lab.name, timeout=120)
        assert result.ok, [f"{c.device}: {c.area} {c.item}: {c.seen}" for c in result.failed]
        yield e
    finally:
        e.lab.down()


def wait_for(probe: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():  # type: ignore[operator]
            return True
        time.sleep(0.5)
    return False


def test_dual_homed_server_keeps_connectivity_when_a_leaf_link_goes_down(env: Env) -> None:
    srv = next(s for s in env.topo.servers if s.server == "srv1")
    far = next(h for h in env.topo.hosts if h.leaf == "leaf3")
    assert srv.address4 is not None and far.address4 is not None and srv.gateway4 is not None
    target, me, gw = str(far.address4.ip), str(srv.address4.ip), str(srv.gateway4)
    vni = next(s.vni for s in env.fab.summary().networks if s.name == "servers")
    vteps = {r.name: str(r.vtep) for r in env.topo.routers if r.vtep is not None}
    wire = {(lk.a, lk.b_if): lk.a_if for lk in env.topo.links if lk.b == srv.name}

    assert env.ping(srv.name, target, tries=10), "srv1 reaches leaf3's host over the fabric"
    assert env.ping(srv.name, gw, tries=3), "srv1 reaches the anycast gateway"
    assert wait_for(lambda: env.remote_vtep("leaf3", vni, srv.mac) == vteps["leaf1"], 30)

    # leaf1's link to the server goes down; the server fails over to its NIC towards leaf2
    env.lab.exec("leaf1", "ip", "link", "set", wire[("leaf1", "eth1")], "down")
    if srv.bond:
        pass  # the bond notices by itself (LACP / miimon)
    else:  # what an active-backup bond does: the same MAC and address on the other slave
        for cmd in (["link", "set", "eth1", "down"], ["link", "set", "eth2", "up"],
                    ["addr", "add", str(srv.address4), "dev", "eth2"], ["route", "replace", "default", "via", gw]):
            env.lab.exec(srv.name, "ip", *cmd)
    assert wait_for(lambda: env.ping(srv.name, target), 30), "srv1 reaches leaf3's host again, over leaf2"
    assert env.ping(srv.name, gw, tries=3)
    assert env.ping(far.name, me, tries=3), "leaf3's host reaches srv1"
    # the fabric moved the server's MAC to leaf2's VTEP (EVPN MAC mobility)
    assert wait_for(lambda: env.remote_vtep("leaf3", vni, srv.mac) == vteps["leaf2"], 30)


@pytest.mark.skipif(not bond_supported(), reason=NO_BOND_REASON)
def test_the_pair_shares_one_ethernet_segment(env: Env) -> None:  # pragma: no cover - needs a bonding kernel
    esi = next(a.segment.esi for a in env.fab.design()["leaf1"].servers if a.segment is not None)
    for leaf, peer in (("leaf1", "leaf2"), ("leaf2", "leaf1")):
        def seen(leaf: str = leaf, peer: str = peer) -> bool:
            data = env.lab.router(leaf).vtysh_json("show evpn es detail json")
            entries = data if isinstance(data, list) else []
            return any(e.get("esi") == esi and e.get("vteps") for e in entries)
        assert wait_for(seen, 60), f"{leaf} sees the segment {esi} with {peer} (type-4 routes)"


def test_frr_accepts_the_segment_config(env: Env) -> None:
    """What runs here of the segment: FRR took its rendered statements."""
    text = env.lab.router("leaf1").vtysh("show running-config")
    assert "evpn mh es-id 1" in text and "evpn mh es-sys-mac 02:4c:53:00:00:01" in text
    assert "evpn mh uplink" in text
    assert shutil.which("ip") is not None


def test_validate_reads_the_segment_and_skips_its_check_without_a_bond(env: Env) -> None:
    """The frr driver's getter reads the real FRR's segment (local, the ESI the intent
    says); without a bond FRR never sends its type-4 route, so validate skips the check
    with the reason instead of failing it."""
    from fabric.deploy.registry import driver_for
    from fabric.lab.ops import lab_connections
    from fabric.validate import validate_lab

    esi = next(a.segment.esi for a in env.fab.design()["leaf1"].servers if a.segment is not None)
    drv = driver_for("frr", lab_connections(env.lab)["leaf1"])
    drv.open()
    try:
        segments = drv.get_ethernet_segments()
    finally:
        drv.close()
    assert [(s.esi, s.local) for s in segments] == [(esi, True)]
    report = validate_lab(env.fab, env.lab.name)
    checks = [c for c in report.checks if c.area == "es"]
    assert {c.device for c in checks} == {"leaf1", "leaf2"}
    if bond_supported():  # pragma: no cover - needs a bonding kernel
        assert all(c.status == "pass" for c in checks), checks
    else:
        assert all(c.status == "skipped" and "no bonding driver" in c.seen for c in checks)
        assert NO_BOND_REASON in report.notes
