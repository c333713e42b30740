"""The frr driver's pure parts: frr-reload.py's diff, vtysh JSON -> typed getter records."""

from __future__ import annotations

from fabric.deploy.driver import Connection, Driver
from fabric.deploy.drivers.frr import (
    DiffLine,
    format_diff,
    meaningful_diff,
    parse_bgp_summary,
    parse_reload_test,
    parse_routes,
    parse_vnis,
    strip_running,
)
from fabric.deploy.registry import driver_for

RELOAD_TEST = """
Lines To Delete
===============
no hostname vm
interface vlan101
 no ip address 10.1.10.1/24
router bgp 65001
 address-family l2vpn evpn
  vni 10000
   no rd 10.0.0.3:101

Lines To Add
============
frr version 8.4
hostname leaf1
interface vlan150
interface vlan150
 ip address 10.1.10.1/24
bfd
 profile K8S-LAB
  detect-multiplier 3
bfd
 profile K8S-LAB
  transmit-interval 200
router bgp 65000
 address-family l2vpn evpn
  neighbor OVERLAY attribute-unchanged next-hop
router bgp 65001
 address-family l2vpn evpn
  vni 10000
   rd 10.0.0.3:150
"""


def test_reload_test_output_parsed_into_lines_with_context() -> None:
    lines = parse_reload_test(RELOAD_TEST)
    assert DiffLine("-", ("interface vlan101",), "no ip address 10.1.10.1/24") in lines
    assert DiffLine("-", ("router bgp 65001", "address-family l2vpn evpn", "vni 10000"), "no rd 10.0.0.3:101") in lines
    assert DiffLine("+", (), "interface vlan150") in lines
    assert DiffLine("+", ("bfd", "profile K8S-LAB"), "transmit-interval 200") in lines
    assert len(lines) == 11


def test_what_frr_never_shows_is_no_difference() -> None:
    kept = meaningful_diff(parse_reload_test(RELOAD_TEST))
    texts = [d.line for d in kept]
    assert "frr version 8.4" not in texts and "hostname leaf1" not in texts and "no hostname vm" not in texts
    assert "detect-multiplier 3" not in texts  # FRR's default: never in show running-config
    assert "neighbor OVERLAY attribute-unchanged next-hop" not in texts  # FRR 8.4 does not show it
    assert "transmit-interval 200" in texts and "rd 10.0.0.3:150" in texts and "no rd 10.0.0.3:101" in texts


def test_nothing_left_is_an_empty_diff() -> None:
    only_noise = "\nLines To Delete\n===============\nno hostname vm\n\nLines To Add\n============\nfrr version 8.4\n"
    assert format_diff(meaningful_diff(parse_reload_test(only_noise))) == ""


def test_diff_text_prints_each_context_once() -> None:
    text = format_diff(meaningful_diff(parse_reload_test(RELOAD_TEST)))
    assert "+ interface vlan150\n+  ip address 10.1.10.1/24\n" in text  # the added context is not repeated
    assert text.count("  router bgp 65001\n") == 2  # once among the deletions, once among the additions
    assert "-   no ip address 10.1.10.1/24" not in text  # one space per context level
    assert "-  no ip address 10.1.10.1/24" in text
    assert "+    rd 10.0.0.3:150" in text


def test_running_config_banner_stripped() -> None:
    assert strip_running("Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4\n") == (
        "frr version 8.4.4\n"
    )


def test_bgp_summary_one_record_per_peer_with_prefixes_per_family() -> None:
    data = {
        "default": {
            "ipv4Unicast": {"as": 65001, "peers": {
                "10.0.2.0": {"remoteAs": 65000, "localAs": 65001, "state": "Established", "pfxRcd": 7,
                             "desc": "underlay: spine1", "peerUptimeMsec": 5000},
                "10.1.20.11": {"remoteAs": 64512, "state": "Active", "pfxRcd": 0},
            }},
            "l2VpnEvpn": {"as": 65001, "peers": {"10.0.0.1": {"remoteAs": 65000, "state": "Established", "pfxRcd": 28}}},
        }
    }
    nbrs = {n.address: n for n in parse_bgp_summary(data)}
    assert nbrs["10.0.2.0"].up and nbrs["10.0.2.0"].prefixes_received == {"ipv4-unicast": 7}
    assert nbrs["10.0.2.0"].uptime_s == 5.0 and nbrs["10.0.2.0"].description == "underlay: spine1"
    assert not nbrs["10.1.20.11"].up and nbrs["10.1.20.11"].local_as == 65001
    assert nbrs["10.0.0.1"].prefixes_received == {"l2vpn-evpn": 28}


def test_vnis_with_remote_vteps_in_frr_84_field() -> None:
    # FRR 8.4 lists the remote VTEPs under "numRemoteVteps"
    data = [{"vni": 10000, "type": "L2", "vrf": "default", "vtepIp": "10.0.1.1",
             "numRemoteVteps": ["10.0.1.4", "10.0.1.3", "10.0.1.2"]},
            {"vni": 50000, "type": "L3", "vrf": "blue"}]
    vnis = parse_vnis(data)
    assert vnis[0].remote_vteps == ("10.0.1.2", "10.0.1.3", "10.0.1.4") and vnis[0].kind == "l2"
    assert vnis[1].kind == "l3" and vnis[1].remote_vteps == ()


def test_routes_keep_only_selected_installed_next_hops() -> None:
    data = {"198.51.100.53/32": [
        {"protocol": "bgp", "selected": True, "nexthops": [
            {"ip": "10.0.2.5", "fib": True, "active": True}, {"ip": "10.0.2.13", "fib": True, "active": True},
            {"ip": "10.0.2.9", "active": False}]},
        {"protocol": "bgp", "selected": False, "nexthops": [{"ip": "10.9.9.9", "fib": True}]},
    ]}
    (route,) = parse_routes(data)
    assert route.next_hops == ("10.0.2.5", "10.0.2.13") and route.protocol == "bgp"


def test_registered_as_frr_and_speaks_the_protocol() -> None:
    drv = driver_for("frr", Connection(host="r1", platform="frr", options={"vty_socket": "/nonexistent"}))
    assert isinstance(drv, Driver) and drv.name == "frr"
