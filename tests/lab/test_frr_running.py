"""Rendered frr.conf in running FRR (root + Debian frr; skipped with the reason elsewhere).

Every lab device's frr.conf applied to running zebra/bgpd/staticd/bfdd in a network
namespace with ``vtysh -f`` (any ``%`` complaint fails), and a small fabric (spine1, leaf1,
leaf2) whose BGP sessions, loopback routes, L2 VNI and EVPN type-3 routes (VTEP next hop
kept by the spine) are checked for real. This machine's kernel has no VRF support: zebra
and bgpd accept the ``vrf`` and ``router bgp ... vrf`` blocks (so the first test checks
that they are well formed), but no session in a tenant VRF can come up; the small fabric
therefore runs the ``tenant_vrfs=False`` rendering, as the lab does. The ``lab`` fixture
is the shared one of ``tests/lab/conftest.py``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import fabric
from fabric.design import DeviceIntent
from fabric.lab import Lab, Router, wait_until
from fabric.render.frr.renderer import FrrRenderer

INVENTORIES = Path(__file__).resolve().parents[2] / "inventories"


@cache
def intents(name: str) -> dict[str, DeviceIntent]:
    return fabric.load(INVENTORIES / name).design()


@cache
def conf(device: str, tenant_vrfs: bool = True) -> str:
    return FrrRenderer(tenant_vrfs=tenant_vrfs).render_main(intents("lab")[device])


LAB_DEVICES = sorted(intents("lab"))


@pytest.mark.lab
@pytest.mark.parametrize("tenant_vrfs", [True, False], ids=["vrfs", "no-vrfs"])
@pytest.mark.parametrize("device", LAB_DEVICES)
def test_running_frr_accepts_every_line(device: str, tenant_vrfs: bool, lab: Lab) -> None:
    """Applied to running zebra/bgpd/staticd/bfdd with ``vtysh -f`` (vtysh hands each line
    to the daemon that owns it), no line is refused (``Router.configure`` fails on any
    ``%`` reply) and every part shows up in the running config. With ``vrfs`` the VRF
    blocks are stored but stay inactive: this kernel has no VRF support."""
    it = intents("lab")[device]
    router = lab.add_router(device, bfd=True)
    router.start()
    router.configure(conf(device, tenant_vrfs))
    _assert_loaded(it, router.vtysh("show running-config"), tenant_vrfs)


def _assert_loaded(it: DeviceIntent, running: str, tenant_vrfs: bool) -> None:
    asn = it.underlay.asn
    assert f"router bgp {asn}\n bgp router-id {it.device.loopback}\n" in running
    assert f"interface lo\n ip address {it.device.loopback}/32\n" in running
    for n in it.underlay.neighbors:
        assert f" neighbor {n.address} peer-group UNDERLAY\n" in running
    for n in it.overlay.neighbors:
        assert f" neighbor {n.address} peer-group OVERLAY\n" in running
    for l2 in it.vnis:
        assert f"  vni {l2.vni}\n   rd {l2.rd}\n" in running
    assert " profile UNDERLAY\n  transmit-interval 1000\n" in running  # bfdd's part
    if it.kubernetes:
        assert "route-map K8S-LAB-IN4 permit 10\n match community GSHUT\n" in running
        assert "  neighbor K8S-LAB maximum-prefix 100\n" in running
        assert "ip prefix-list K8S-LAB-SVC4 seq 10 permit 198.51.100.0/24 ge 32 le 32\n" in running
        assert (f"router bgp {asn} vrf blue\n" in running) == tenant_vrfs
    if it.vrfs and tenant_vrfs:
        assert "vrf blue\n vni 50000\nexit-vrf\n" in running


def _json(router: Router, command: str) -> Any:
    out = router.vtysh(command)
    return json.loads(out) if out.strip() else {}


@pytest.mark.lab
def test_small_fabric_comes_up(lab: Lab) -> None:
    """spine1 + leaf1 + leaf2 cabled as the intent says, configured only by rendered
    frr.conf: underlay and overlay sessions establish, loopbacks are routed, and leaf2
    learns leaf1's EVPN type-3 route with leaf1's VTEP as next hop (the spine kept it)."""
    its = intents("lab")
    names = ("spine1", "leaf1", "leaf2")
    routers = {n: lab.add_router(n, bfd=True) for n in names}
    for leaf in ("leaf1", "leaf2"):
        for i in its[leaf].interfaces:
            if i.peer == "spine1":
                lab.link(routers[leaf], routers["spine1"], a_if=i.name, b_if=i.peer_port, mtu=i.mtu)
    vni = its["leaf1"].vnis[0].vni
    for leaf in ("leaf1", "leaf2"):
        vtep = its[leaf].device.vtep
        assert vtep is not None
        routers[leaf].add_bridge("br10")
        routers[leaf].add_vxlan("vx10", vni, str(vtep), bridge="br10")
    for n in names:
        # through vtysh, which routes each line to its daemon (as vtysh -b does at boot)
        routers[n].start()
        routers[n].configure(conf(n, tenant_vrfs=False))

    def sessions_up() -> bool | None:
        for leaf in ("leaf1", "leaf2"):
            peers = routers[leaf].bgp_neighbors()
            spine = its["spine1"]
            wanted = [str(spine.device.loopback)] + [
                str(i.peer_address) for i in its[leaf].interfaces if i.peer == "spine1"
            ]
            if not all(peers.get(a, {}).get("state") == "Established" for a in wanted):
                return None
        return True

    wait_until(sessions_up, 60, "underlay and overlay sessions of leaf1/leaf2 with spine1")
    leaf1 = its["leaf1"].device
    assert leaf1.vtep is not None
    routers["leaf2"].wait_route(f"{leaf1.loopback}/32", lambda r: r is not None, timeout=30)
    routers["leaf2"].wait_route(f"{leaf1.vtep}/32", lambda r: r is not None, timeout=30)

    def type3_from_leaf1() -> list[str] | None:
        data = _json(routers["leaf2"], "show bgp l2vpn evpn route type multicast json")
        hops = [
            nh.get("ip")
            for rd, routes in data.items() if isinstance(routes, dict)
            for prefix, paths in routes.items() if isinstance(paths, dict)
            for path_list in paths.get("paths", [])
            for path in (path_list if isinstance(path_list, list) else [path_list])
            for nh in path.get("nexthops", [])
            if rd.startswith(str(leaf1.loopback))
        ]
        return hops or None

    hops = wait_until(type3_from_leaf1, 60, "leaf1's type-3 route on leaf2")
    assert set(hops) == {str(leaf1.vtep)}, hops
    detail = _json(routers["leaf2"], f"show evpn vni {vni} json")
    assert detail["type"] == "L2" and detail["vtepIp"] == str(its["leaf2"].device.vtep)
    assert detail["numRemoteVteps"] == [str(leaf1.vtep)]  # FRR 8.4 lists the remote VTEPs here
