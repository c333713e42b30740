"""The VNI and route getters' parsers (``fabric.deploy.drivers.replies``) on replies in the
switches' own shapes: NX-API JSON (one row as an object, several as a list, values as
strings) and Junos XML (namespaced or not, brief and extensive route forms)."""

from __future__ import annotations

from lxml import etree

from fabric.deploy.driver import Route, Vni
from fabric.deploy.drivers.replies import (
    junos_remote_vteps,
    junos_routes,
    junos_table_vrf,
    junos_tables,
    junos_vnis,
    nxos_routes,
    nxos_vnis,
)


def _path(nh: str, ifname: str, client: str, best: bool = True) -> dict[str, str]:
    p = {"ipnexthop": nh, "ifname": ifname, "uptime": "P1DT2H3M4S", "pref": "20", "metric": "0", "clientname": client}
    if best:
        p["ubest"] = "true"
    return p


NX_ROUTES = {"TABLE_vrf": {"ROW_vrf": {"vrf-name-out": "default", "TABLE_addrf": {"ROW_addrf": {
    "addrf": "ipv4",
    "TABLE_prefix": {"ROW_prefix": [
        {"ipprefix": "10.0.0.5/32", "ucast-nhops": "2", "mcast-nhops": "0", "attached": "true",
         "TABLE_path": {"ROW_path": [_path("10.0.0.5", "Lo0", "direct"), _path("10.0.0.5", "Lo0", "local")]}},
        {"ipprefix": "10.0.1.1/32", "ucast-nhops": "2", "mcast-nhops": "0", "attached": "false",
         "TABLE_path": {"ROW_path": [_path("10.0.2.10", "Eth1/50", "bgp-65103"), _path("10.0.2.8", "Eth1/49", "bgp-65103"),
                                     _path("10.0.2.12", "Eth1/51", "bgp-65103", best=False)]}},
        {"ipprefix": "10.0.2.8/31", "ucast-nhops": "1", "mcast-nhops": "0", "attached": "true",
         "TABLE_path": {"ROW_path": _path("10.0.2.9", "Eth1/49", "direct")}},
        {"ipprefix": "0.0.0.0/0", "ucast-nhops": "1", "mcast-nhops": "0", "attached": "false",
         "TABLE_path": {"ROW_path": _path("172.16.0.1", "mgmt0", "static")}},
    ]},
}}}}}


def test_nxos_routes_best_paths_one_row_or_many() -> None:
    routes = {r.prefix: r for r in nxos_routes(NX_ROUTES)}
    assert routes["10.0.1.1/32"] == Route("10.0.1.1/32", "default", "bgp", ("10.0.2.8", "10.0.2.10"))
    assert routes["10.0.0.5/32"] == Route("10.0.0.5/32", "default", "connected", ("Lo0",))
    assert routes["10.0.2.8/31"] == Route("10.0.2.8/31", "default", "connected", ("Eth1/49",))
    assert routes["0.0.0.0/0"] == Route("0.0.0.0/0", "default", "static", ("172.16.0.1",))
    assert nxos_routes({}) == [] and nxos_routes("") == []


def test_nxos_vnis_with_replication_lists() -> None:
    vni = {"TABLE_nve_vni": {"ROW_nve_vni": [
        {"if-name": "nve1", "vni": "10100", "mcast": "UnicastBGP", "vni-state": "Up", "mode": "CP", "type": "L2 [100]",
         "flags": ""},
        {"if-name": "nve1", "vni": "50000", "mcast": "n/a", "vni-state": "Up", "mode": "CP", "type": "L3 [noc]",
         "flags": ""},
    ]}}
    ingress = {"TABLE_nve_vni": {"ROW_nve_vni": {"if-name": "nve1", "vni": "10100", "TABLE_peer": {"ROW_peer": [
        {"repl-ip": "10.0.1.2", "source": "BGP-IMET", "up-time": "P1D"},
        {"repl-ip": "10.0.1.10", "source": "BGP-IMET", "up-time": "P1D"}]}}}}
    assert nxos_vnis(vni, ingress) == [
        Vni(10100, "l2", vlan=100, remote_vteps=("10.0.1.2", "10.0.1.10")),
        Vni(50000, "l3", vrf="noc"),
    ]
    assert nxos_vnis({}, {}) == []


JUNOS_ROUTES = """\
<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:junos="http://xml.juniper.net/junos/23.4R1/junos">
<route-information xmlns="http://xml.juniper.net/junos/23.4R1/junos-routing">
<route-table><table-name>inet.0</table-name><destination-count>3</destination-count>
 <rt junos:style="brief"><rt-destination>10.0.1.3/32</rt-destination>
  <rt-entry><active-tag>*</active-tag><current-active/><last-active/><protocol-name>BGP</protocol-name>
   <preference>170</preference><age junos:seconds="60">00:01:00</age>
   <nh><selected-next-hop/><to>10.0.2.2</to><via>et-0/0/49.0</via></nh><nh><to>10.0.2.0</to><via>et-0/0/48.0</via></nh>
  </rt-entry>
  <rt-entry><active-tag> </active-tag><protocol-name>BGP</protocol-name><nh><to>10.0.2.4</to></nh></rt-entry>
 </rt>
 <rt junos:style="brief"><rt-destination>10.0.2.1/32</rt-destination>
  <rt-entry><active-tag>*</active-tag><current-active/><protocol-name>Local</protocol-name>
   <nh><nh-local-interface>et-0/0/48.0</nh-local-interface></nh></rt-entry></rt>
 <rt junos:style="detail"><rt-destination>10.0.2.0</rt-destination><rt-prefix-length>31</rt-prefix-length>
  <rt-entry><active-tag>*</active-tag><protocol-name>Direct</protocol-name>
   <nh><selected-next-hop/><via>et-0/0/48.0</via></nh></rt-entry></rt>
</route-table>
<route-table><table-name>k8s.inet.0</table-name>
 <rt><rt-destination>10.30.1.0/24</rt-destination><rt-entry><active-tag>*</active-tag><protocol-name>Direct</protocol-name>
  <nh><via>irb.108</via></nh></rt-entry></rt>
</route-table>
</route-information></rpc-reply>"""


def test_junos_routes_active_entry_all_next_hops_per_table() -> None:
    root = etree.fromstring(JUNOS_ROUTES.encode())
    assert junos_routes(root) == [
        Route("10.0.1.3/32", "default", "bgp", ("10.0.2.0", "10.0.2.2")),
        Route("10.0.2.1/32", "default", "local", ("et-0/0/48.0",)),
        Route("10.0.2.0/31", "default", "connected", ("et-0/0/48.0",)),
    ]
    assert junos_routes(root, "k8s") == [Route("10.30.1.0/24", "k8s", "connected", ("irb.108",))]
    assert junos_routes(True) == []  # PyEZ's answer without content
    assert junos_tables("default") == ("inet.0", "inet6.0") and junos_tables("k8s") == ("k8s.inet.0", "k8s.inet6.0")
    assert junos_table_vrf("k8s.inet6.0") == ("k8s", 6) and junos_table_vrf("bgp.evpn.0") is None


RVTEP = """\
<vxlan-tunnel-end-point-information>
 <vxlan-source-vtep-information><logical-system-name>&lt;default&gt;</logical-system-name>
  <source-vtep-address>10.0.1.1</source-vtep-address>
  <vxlan-remote-vtep-information><remote-vtep-address>10.0.1.3</remote-vtep-address>
   <vxlan-dynamic-information><vxlan-format><vn-id>10100</vn-id></vxlan-format></vxlan-dynamic-information>
   <vxlan-dynamic-information><vxlan-format><vn-id>50000</vn-id></vxlan-format></vxlan-dynamic-information>
  </vxlan-remote-vtep-information>
  <vxlan-remote-vtep-information><remote-vtep-address>10.0.1.2</remote-vtep-address>
   <vxlan-dynamic-information><vxlan-format><vn-id>10100</vn-id></vxlan-format></vxlan-dynamic-information>
  </vxlan-remote-vtep-information>
 </vxlan-source-vtep-information>
</vxlan-tunnel-end-point-information>"""

CONFIG = """\
<configuration xmlns="http://yang.juniper.net/junos/conf/root">
 <vlans><vlan><name>noc-servers</name><vlan-id>100</vlan-id><vxlan><vni>10100</vni></vxlan></vlan>
  <vlan><name>plain</name><vlan-id>200</vlan-id></vlan></vlans>
 <routing-instances><instance><name>noc</name><instance-type>vrf</instance-type>
  <protocols><evpn><irb-symmetric-routing><vni>50000</vni></irb-symmetric-routing>
   <ip-prefix-routes><vni>50000</vni></ip-prefix-routes></evpn></protocols></instance></routing-instances>
</configuration>"""


def test_junos_vnis_from_config_and_remote_vteps() -> None:
    rvtep = etree.fromstring(RVTEP.encode())
    assert junos_remote_vteps(rvtep) == ("10.0.1.1", {10100: ["10.0.1.3", "10.0.1.2"], 50000: ["10.0.1.3"]})
    assert junos_vnis(etree.fromstring(CONFIG.encode()), rvtep) == [
        Vni(10100, "l2", vlan=100, local_vtep="10.0.1.1", remote_vteps=("10.0.1.2", "10.0.1.3")),
        Vni(50000, "l3", vrf="noc", local_vtep="10.0.1.1", remote_vteps=("10.0.1.3",)),
    ]
    assert junos_vnis(etree.fromstring(CONFIG.encode()), True)[0].remote_vteps == ()
