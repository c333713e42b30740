"""A network of test devices derives sessions, remote VTEPs and routes from the configurations
(``tests.devices.network``): a change on one device is seen on the other, nothing is staged."""

from __future__ import annotations

from tests.devices import JunosDevice, NxosDevice
from tests.devices.network import Network, junos_view, nxos_view, rib
from tests.devices.nxos_config import parse

JUNOS = """\
interfaces {
    et-0/0/48 { unit 0 { family inet { address 10.0.2.1/31; } } }
    lo0 { unit 0 { family inet { address 10.0.0.3/32; address 10.0.1.1/32 { primary; } } } }
}
routing-options { router-id 10.0.0.3; autonomous-system 65101; static { route 192.0.2.0/24 next-hop 10.0.2.0; } }
protocols {
    bgp {
        group underlay { type external; family inet { unicast; } neighbor 10.0.2.0 { peer-as 65000; } }
        group overlay { type external; local-address 10.0.0.3; family evpn { signaling; } neighbor 10.0.0.1 { peer-as 65000; } }
    }
}
switch-options { vtep-source-interface lo0.0; }
vlans { servers { vlan-id 100; vxlan { vni 10100; } } }
"""

NXOS = """\
hostname spine1
interface Ethernet1/1
  no switchport
  ip address 10.0.2.0/31
interface loopback0
  ip address 10.0.0.1/32
interface loopback1
  ip address 10.0.1.2/32
interface nve1
  source-interface loopback1
  member vni 10100
    ingress-replication protocol bgp
vlan 100
  vn-segment 10100
router bgp 65000
  address-family ipv4 unicast
    network 10.0.0.1/32
    network 10.0.1.2/32
  neighbor 10.0.2.1
    remote-as 65101
    address-family ipv4 unicast
  neighbor 10.0.0.3
    remote-as 65101
    address-family l2vpn evpn
"""


def test_views_read_both_platforms() -> None:
    from tests.devices.junos import _load_any

    j = junos_view(_load_any(JUNOS))
    assert (j.local_as, j.vtep, j.l2vnis, j.originated) == ("65101", "10.0.1.1", {10100: 100},
                                                            ("10.0.0.3/32", "10.0.1.1/32"))
    assert {(n.address, n.peer_as, tuple(sorted(n.families))) for n in j.neighbors} == {
        ("10.0.2.0", "65000", ("inet",)), ("10.0.0.1", "65000", ("evpn",))}
    assert [(e.prefix, e.protocol, e.hops) for e in rib(j, "default", 4)] == [
        ("10.0.0.3/32", "direct", (("", "lo0.0"),)), ("10.0.1.1/32", "direct", (("", "lo0.0"),)),
        ("10.0.2.0/31", "direct", (("", "et-0/0/48.0"),)), ("10.0.2.1/32", "local", (("", "et-0/0/48.0"),)),
        ("192.0.2.0/24", "static", (("10.0.2.0", "et-0/0/48.0"),))]
    n = nxos_view(parse(NXOS))
    assert (n.local_as, n.vtep, n.l2vnis, n.originated) == ("65000", "10.0.1.2", {10100: 100},
                                                            ("10.0.0.1/32", "10.0.1.2/32"))


def test_two_devices_see_each_other() -> None:
    net = Network()
    with JunosDevice(JUNOS, hostname="leaf1", network=net) as leaf, \
            NxosDevice(NXOS, hostname="spine1", network=net) as spine:
        assert {p.address: p.state for p in leaf.bgp_peers()} == {"10.0.2.0": "Established", "10.0.0.1": "Established"}
        assert net.remote_vteps(leaf) == {10100: ["10.0.1.2"]} and net.remote_vteps(spine) == {10100: ["10.0.1.1"]}
        assert net.bgp_routes(leaf, "inet") == {"10.0.0.1/32": ["10.0.2.0"], "10.0.1.2/32": ["10.0.2.0"]}
        assert net.bgp_routes(spine, "inet") == {"10.0.0.3/32": ["10.0.2.1"], "10.0.1.1/32": ["10.0.2.1"]}
        # the spine's end of the EVPN session goes away: the leaf's session is down, the VTEPs gone
        spine.run(["router bgp 65000", "no neighbor 10.0.0.3"])
        assert {p.address: p.state for p in leaf.bgp_peers()} == {"10.0.2.0": "Established", "10.0.0.1": "Active"}
        assert net.remote_vteps(leaf) == {}
        # a wrong AS keeps the underlay down too; no route is learned then
        spine.run(["router bgp 65000", "neighbor 10.0.2.1", "remote-as 65999"])
        assert net.bgp_routes(leaf, "inet") == {}
    alone = JunosDevice(JUNOS, hostname="leaf1")  # no network: the device's own answer
    assert {p.state for p in alone.bgp_peers()} == {"Established"}
