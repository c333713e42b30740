"""The Junos renderer: one test per feature, asserted on the ``set`` form (one line per
statement, easy to read), plus the consistency of the three formats and the handling of
user text on its way into config lines."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

import fabric
import fabric.platforms
from fabric.design.intent import DeviceIntent, K8sPeering
from fabric.errors import RenderError
from fabric.render.base import get_renderer, render_device, render_main
from fabric.render.junos import JunosRenderer
from fabric.render.junos.escape import junos_string, junos_word
from fabric.render.junos.tree import ParseError, parse, to_curly, to_set
from fabric.render.junos.xml import NAMESPACE_ROOT, to_xml

ROOT = Path(__file__).resolve().parents[2]
INVENTORIES = ROOT / "inventories"
R = JunosRenderer()


@cache
def intents(inventory: str) -> dict[str, DeviceIntent]:
    return fabric.load(INVENTORIES / inventory).design()


def _gen() -> ModuleType:
    path = ROOT / "tests" / "bench" / "gen_fabric.py"
    spec = importlib.util.spec_from_file_location("gen_fabric", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_fabric", mod)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def junos_only(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DeviceIntent]:
    """A small all-Junos fabric (QFX5120-32C spines), the only shape with Junos spines."""
    out = tmp_path_factory.mktemp("junos-only")
    _gen().write(out, spines=2, leaves=4, svis=3, vrfs=2, tenants=1, platforms=["junos"])
    return fabric.load(out).design()


def set_lines(intent: DeviceIntent) -> list[str]:
    return R.render(intent)["set"].splitlines()


def lines_of(intent: DeviceIntent) -> set[str]:
    return set(set_lines(intent))


def leaf(name: str, inventory: str = "shownet2024") -> DeviceIntent:
    return intents(inventory)[name]


JUNOS_LEAVES = ["leaf1", "leaf2", "leaf5", "border1", "border2"]


# --------------------------------------------------------------------------- registry


def test_renderer_is_registered_for_junos() -> None:
    r = get_renderer("junos")
    assert isinstance(r, JunosRenderer)
    assert r.formats == ("conf", "set", "xml")
    rendered = render_device(leaf("leaf1"))
    assert rendered.main == "conf" and rendered.text.startswith("system {\n")


def test_capability_check_runs_before_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    reduced = fabric.platforms.CAPABILITIES["junos"] - {"k8s_peering"}
    monkeypatch.setitem(fabric.platforms.CAPABILITIES, "junos", reduced)
    with pytest.raises(RenderError, match=r"junos does not support k8s_peering \(device leaf1\)"):
        render_main(leaf("leaf1"))


# --------------------------------------------------------------------------- underlay


def test_underlay_ebgp_per_neighbor_peer_as_multipath_multiple_as_bfd() -> None:
    d = leaf("leaf1")
    lines = lines_of(d)
    g = "set protocols bgp group underlay"
    assert f"{g} type external" in lines
    assert f"{g} multipath multiple-as" in lines
    assert f"{g} export UNDERLAY-EXPORT" in lines
    assert f"{g} family inet unicast" in lines
    assert d.underlay.bfd is not None
    assert f"{g} bfd-liveness-detection minimum-interval {d.underlay.bfd.interval_ms}" in lines
    for nb in d.underlay.neighbors:
        assert f"{g} neighbor {nb.address} peer-as {nb.peer_asn}" in lines
    for nb in d.underlay.neighbors6:
        assert f"set protocols bgp group underlay-v6 neighbor {nb.address} peer-as {nb.peer_asn}" in lines
    for i in d.interfaces:
        assert f"set interfaces {i.name} mtu {i.mtu}" in lines
        assert f"set interfaces {i.name} unit 0 family inet address {i.address.with_prefixlen}" in lines
        assert i.address.network.prefixlen == 31
        assert f"set interfaces {i.name} unit 0 family inet6 address {i.address6}" in lines


def test_underlay_exports_only_own_loopbacks_on_leaves_and_fabric_routes_on_spines(
    junos_only: dict[str, DeviceIntent],
) -> None:
    d = leaf("leaf1")
    lines = lines_of(d)
    for prefix in d.underlay.advertise:
        name = "LOOPBACKS" if prefix.version == 4 else "LOOPBACKS-V6"
        assert f"set policy-options prefix-list {name} {prefix}" in lines
    p = "set policy-options policy-statement UNDERLAY-EXPORT"
    assert f"{p} term loopbacks from prefix-list LOOPBACKS" in lines
    assert f"{p} term reject then reject" in lines
    assert not any(line.startswith(f"{p} term fabric") for line in lines)  # a leaf is no transit
    spine = junos_only["spine1"]
    assert f"{p} term fabric from protocol bgp" in lines_of(spine)


def test_per_packet_load_balance_exported_to_forwarding_table() -> None:
    lines = lines_of(leaf("leaf1"))
    assert "set policy-options policy-statement PFE-LB then load-balance per-packet" in lines
    assert "set routing-options forwarding-table export PFE-LB" in lines


def test_router_id_asn_loopback_and_vtep() -> None:
    d = leaf("leaf1")
    lines = lines_of(d)
    assert f"set routing-options router-id {d.device.loopback}" in lines
    assert f"set routing-options autonomous-system {d.device.asn}" in lines
    assert f"set interfaces lo0 unit 0 family inet address {d.device.loopback}/32" in lines
    assert d.device.vtep is not None and d.device.vtep != d.device.loopback
    # the VTEP source is lo0.0's primary address
    assert f"set interfaces lo0 unit 0 family inet address {d.device.vtep}/32 primary" in lines


# --------------------------------------------------------------------------- overlay


def test_overlay_ebgp_evpn_multihop_no_nexthop_change() -> None:
    d = leaf("leaf1")
    lines = lines_of(d)
    g = "set protocols bgp group overlay"
    assert f"{g} multihop no-nexthop-change" in lines
    assert f"{g} multihop ttl {d.overlay.multihop_ttl}" in lines
    assert f"{g} family evpn signaling" in lines
    assert f"{g} local-address {d.device.vtep}" in lines  # the EVPN next hop is the VTEP
    assert d.overlay.neighbors
    for nb in d.overlay.neighbors:
        assert f"{g} neighbor {nb.address} peer-as {nb.peer_asn}" in lines


def test_spine_is_route_server_without_vtep(junos_only: dict[str, DeviceIntent]) -> None:
    spine = junos_only["spine1"]
    lines = lines_of(spine)
    assert "set protocols bgp group overlay multihop no-nexthop-change" in lines
    assert "set protocols bgp group overlay family evpn signaling" in lines
    assert len([x for x in lines if re.match(r"set protocols bgp group overlay neighbor \S+ peer-as", x)]) == 4
    text = R.render_main(spine)
    for absent in ("switch-options", "vlans {", "evpn {\n        encapsulation", "irb", "routing-instances"):
        assert absent not in text


# --------------------------------------------------------------------------- L2 VNIs


def test_vxlan_vni_per_vlan_with_irb() -> None:
    d = leaf("leaf1")
    lines = lines_of(d)
    gateways = {g.network for g in d.gateways}
    assert d.vnis
    for v in d.vnis:
        assert f"set vlans {v.name} vlan-id {v.vlan}" in lines
        assert f"set vlans {v.name} vxlan vni {v.vni}" in lines
        if v.name in gateways:
            assert f"set vlans {v.name} l3-interface irb.{v.vlan}" in lines


def test_extended_vni_list_is_exactly_the_leafs_vnis() -> None:
    d = leaf("leaf5")
    listed = {
        int(line.rsplit(" ", 1)[1]) for line in set_lines(d) if line.startswith("set protocols evpn extended-vni-list ")
    }
    assert listed == {v.vni for v in d.vnis}
    assert "set protocols evpn encapsulation vxlan" in lines_of(d)


def test_vtep_source_interface_and_default_switch() -> None:
    d = leaf("leaf1")
    assert d.evpn is not None
    lines = lines_of(d)
    assert "set switch-options vtep-source-interface lo0.0" in lines
    assert f"set switch-options route-distinguisher {d.evpn.rd}" in lines
    assert any(x.startswith("set switch-options vrf-target target:") for x in lines)


def test_explicit_route_targets_per_vni_and_per_vrf() -> None:
    d = leaf("leaf2")
    lines = lines_of(d)
    for v in d.vnis:
        assert f"set protocols evpn vni-options vni {v.vni} vrf-target {v.route_target.community}" in lines
    for vi in d.vrfs:
        assert f"set routing-instances {vi.name} vrf-target {vi.route_target.community}" in lines
        assert f"set routing-instances {vi.name} route-distinguisher {vi.rd}" in lines
    assert not any("vrf-target auto" in x for x in lines)


def test_four_byte_admin_route_target_takes_the_L_suffix() -> None:
    from fabric.design.intent import RouteTarget
    from fabric.render.junos.view import route_target

    assert route_target(RouteTarget(4200000001, 100)) == "target:4200000001L:100"
    assert route_target(RouteTarget(65000, 10100)) == "target:65000:10100"
    with pytest.raises(RenderError, match="16 bits"):
        route_target(RouteTarget(4200000001, 70000))


# --------------------------------------------------------------------------- anycast gateway


def _irb_lines(intent: DeviceIntent, unit: int) -> list[str]:
    return [x for x in set_lines(intent) if x.startswith(f"set interfaces irb unit {unit} ")]


def test_anycast_gateway_same_ip_and_mac_on_two_leaves() -> None:
    a, b = leaf("leaf1"), leaf("leaf5")
    shared = {g.network for g in a.gateways} & {g.network for g in b.gateways}
    assert shared
    for g in a.gateways:
        if g.network not in shared:
            continue
        on_a, on_b = _irb_lines(a, g.vlan), _irb_lines(b, g.vlan)
        assert on_a == on_b
        assert f"set interfaces irb unit {g.vlan} mac {g.mac}" in on_a
        if g.address4 is not None:
            assert f"set interfaces irb unit {g.vlan} family inet address {g.address4.with_prefixlen}" in on_a
        if g.address6 is not None:
            assert f"set interfaces irb unit {g.vlan} family inet6 address {g.address6.with_prefixlen}" in on_a
    lines = lines_of(a)
    # the JVD form for QFX5120 ERB: same address and MAC, no virtual-gateway-address
    assert not any("virtual-gateway" in x for x in lines)
    assert "set protocols evpn default-gateway do-not-advertise" in lines
    assert {x for x in lines if " mac " in x} == {
        f"set interfaces irb unit {g.vlan} mac {a.fabric.gateway_mac}" for g in a.gateways
    }


# --------------------------------------------------------------------------- L3 VNI


def test_l3vni_per_vrf_ip_prefix_routes() -> None:
    d = leaf("leaf1")
    lines = lines_of(d)
    assert d.vrfs
    for vi in d.vrfs:
        ri = f"set routing-instances {vi.name}"
        assert f"{ri} instance-type vrf" in lines
        assert f"{ri} protocols evpn ip-prefix-routes advertise direct-nexthop" in lines
        assert f"{ri} protocols evpn ip-prefix-routes encapsulation vxlan" in lines
        assert f"{ri} protocols evpn ip-prefix-routes vni {vi.l3vni}" in lines
        assert f"{ri} protocols evpn ip-prefix-routes export T5-EXPORT-{vi.name}" in lines
        gw_vlan = {g.network: g.vlan for g in d.gateways}
        for net in vi.networks:
            assert f"{ri} interface irb.{gw_vlan[net]}" in lines
    # service routes learned from nodes become type-5 routes too
    assert "set policy-options policy-statement T5-EXPORT-k8s term kubernetes from protocol bgp" in lines


# --------------------------------------------------------------------------- Kubernetes


def _k8s(intent: DeviceIntent, cluster: str) -> K8sPeering:
    return next(k for k in intent.kubernetes if k.cluster == cluster)


def test_k8s_dynamic_neighbors_with_allow_ranges() -> None:
    d = leaf("leaf1")
    k = _k8s(d, "ocp")
    lines = lines_of(d)
    g = f"set routing-instances {k.vrf} protocols bgp group k8s-ocp"
    assert f"{g} type external" in lines
    assert f"{g} import K8S-IN-ocp" in lines
    assert f"{g} export K8S-OUT" in lines
    assert f"{g} local-address {k.local_address}" in lines
    assert f"{g} peer-as {k.peer_asns[0]}" in lines
    assert {x.rsplit(" ", 1)[1] for x in lines if x.startswith(f"{g} allow ")} == {str(p) for p in k.allow4}
    g6 = f"set routing-instances {k.vrf} protocols bgp group k8s-ocp-v6"
    assert {x.rsplit(" ", 1)[1] for x in lines if x.startswith(f"{g6} allow ")} == {str(p) for p in k.allow6}
    assert f"{g6} family inet6 unicast prefix-limit maximum {k.max_prefixes}" in lines


def test_k8s_cluster_with_an_asn_per_node_uses_peer_as_list() -> None:
    d = leaf("leaf2")
    k = _k8s(d, "vanilla")
    assert not k.shared_asn
    lines = lines_of(d)
    assert f"set routing-instances {k.vrf} protocols bgp group k8s-vanilla peer-as-list K8S-ASNS-vanilla" in lines
    members = {x.rsplit(" ", 1)[1] for x in lines if x.startswith("set policy-options as-list K8S-ASNS-vanilla members ")}
    assert members == {str(a) for a in k.peer_asns}
    assert f"set routing-instances {k.vrf} protocols bgp group k8s-vanilla multipath multiple-as" in lines


def test_k8s_import_accepts_only_host_routes_inside_service_ranges() -> None:
    d = leaf("leaf1")
    k = _k8s(d, "ocp")
    lines = set_lines(d)
    p = "set policy-options policy-statement K8S-IN-ocp"
    policy = [x for x in lines if x.startswith(p + " ")]
    filters = [x for x in policy if " route-filter " in x]
    expected = {f"{p} term services-v4 from route-filter {f.prefix} prefix-length-range /32-/32" for f in k.accept4}
    expected |= {f"{p} term services-v6 from route-filter {f.prefix} prefix-length-range /128-/128" for f in k.accept6}
    assert set(filters) == expected
    assert f"{p} term services-v4 from family inet" in policy
    assert f"{p} term services-v6 from family inet6" in policy
    # nothing else is accepted: the last term rejects
    assert policy[-1] == f"{p} term reject then reject"
    assert "set policy-options policy-statement K8S-OUT term reject then reject" in lines


def test_k8s_prefix_limit_and_bfd() -> None:
    d = leaf("leaf1")
    k = _k8s(d, "ocp")
    lines = lines_of(d)
    g = f"set routing-instances {k.vrf} protocols bgp group k8s-ocp"
    assert f"{g} family inet unicast prefix-limit maximum {k.max_prefixes}" in lines
    assert f"{g} family inet unicast prefix-limit teardown" in lines
    # the example's nodes run bgp-agent (no BFD): the group has none
    assert k.bfd is None and not any(line.startswith(f"{g} bfd-liveness-detection") for line in lines)


def test_graceful_shutdown_gets_lowest_local_preference_before_accept() -> None:
    d = leaf("leaf1")
    k = _k8s(d, "ocp")
    lines = set_lines(d)
    p = "set policy-options policy-statement K8S-IN-ocp"
    assert "set policy-options community GRACEFUL_SHUTDOWN members 65535:0" in lines
    gshut = [
        f"{p} term graceful-shutdown from community GRACEFUL_SHUTDOWN",
        f"{p} term graceful-shutdown then local-preference {k.graceful_shutdown.local_preference}",
        f"{p} term graceful-shutdown then next term",
    ]
    assert k.graceful_shutdown.local_preference == 0
    for line in gshut:
        assert line in lines
    # evaluated before the terms that accept (an accepted route stops the policy)
    assert lines.index(gshut[0]) < lines.index(f"{p} term services-v4 then accept")


def test_k8s_multipath_across_nodes() -> None:
    d = leaf("leaf1")
    lines = lines_of(d)
    assert "set routing-instances k8s protocols bgp group k8s-ocp multipath" in lines
    assert "set routing-instances k8s routing-options multipath" in lines
    assert "set routing-instances k8s routing-options rib k8s.inet6.0 multipath" in lines


# --------------------------------------------------------------------------- DCI


def test_dci_interconnect_on_border_leaves_only() -> None:
    dci = intents("shownet2024-dci")
    junos = {n: i for n, i in dci.items() if i.platform == "junos"}
    borders = {n for n, i in junos.items() if i.dci is not None}
    assert borders == {"dc1-border1", "dc1-border2"}
    for name, d in junos.items():
        lines = set_lines(d)
        ic = [x for x in lines if x.startswith("set protocols evpn interconnect ")]
        if name not in borders:
            assert ic == []
            continue
        assert d.dci is not None
        assert f"set protocols evpn interconnect vrf-target {d.dci.route_target.community}" in ic
        assert f"set protocols evpn interconnect route-distinguisher {d.dci.rd}" in ic
        assert f"set protocols evpn interconnect esi {d.dci.esi}" in ic
        assert "set protocols evpn interconnect esi all-active" in ic
        vnis = {x.rsplit(" ", 1)[1] for x in ic if " interconnected-vni-list " in x}
        assert vnis == {str(v) for v in d.dci.vnis}
        for x in d.dci.vrfs:
            assert f"set routing-instances {x.vrf} protocols evpn interconnect vrf-target {x.route_target.community}" in lines
        g = "set protocols bgp group dci-overlay"
        assert f"{g} multihop no-nexthop-change" in lines
        assert f"{g} family evpn signaling" in lines
        for nb in d.dci.overlay_neighbors:
            assert f"{g} neighbor {nb.address} peer-as {nb.peer_asn}" in lines
        # fabric routes stay in the site: only interconnect-RT routes cross, and back
        assert "set protocols bgp group overlay export OVERLAY-EXPORT" in lines
    # a border leaf without DCI links has no interconnect either
    assert not any("interconnect" in x for x in set_lines(leaf("border1")))


# --------------------------------------------------------------------------- system


def test_system_and_management() -> None:
    d = leaf("leaf1")
    lines = lines_of(d)
    assert "set system host-name leaf1" in lines
    assert "set system services netconf ssh" in lines
    assert d.device.mgmt is not None
    assert f"set interfaces em0 unit 0 family inet address {d.device.mgmt.with_prefixlen}" in lines


# --------------------------------------------------------------------------- formats


def _naive_set(conf: str) -> list[str]:
    """The set form by a second, independent method: a stack of path words over the lines
    (the test's own reading of curly-brace text, not the renderer's parser)."""
    out: list[str] = []
    stack: list[str] = []
    opened: list[bool] = []  # whether the block on the stack has printed something
    for raw in conf.splitlines():
        s = raw.strip()
        if s.endswith("{"):
            stack.append(s[:-2])
            opened.append(False)
        elif s == "}":
            path = stack.pop()
            if not opened.pop():
                out.append("set " + " ".join([*stack, path]))
            if opened:
                opened[-1] = True
        else:
            assert s.endswith(";"), s
            body = s[:-1]
            if opened:
                opened[-1] = True
            m = re.fullmatch(r"(.*?) \[ (.*) \]", body)
            if m:
                out += [f"set {' '.join([*stack, m.group(1)])} {v}" for v in m.group(2).split()]
            else:
                out.append("set " + " ".join([*stack, body]))
    return out


@pytest.mark.parametrize("name", JUNOS_LEAVES)
def test_conf_and_set_say_the_same(name: str) -> None:
    files = R.render(leaf(name))
    conf = files["conf"]
    assert to_curly(parse(conf)) == conf  # the parser loses nothing
    assert files["set"].splitlines() == _naive_set(conf)
    assert all(x.startswith("set ") for x in files["set"].splitlines())


def test_every_format_of_the_dci_border_agrees() -> None:
    d = intents("shownet2024-dci")["dc1-border1"]
    files = R.render(d)
    assert files["set"].splitlines() == _naive_set(files["conf"])
    assert files["xml"].startswith(f'<configuration xmlns="{NAMESPACE_ROOT}">')


def test_xml_namespaces_per_top_level_hierarchy() -> None:
    xml = R.render(leaf("leaf1"))["xml"]
    tops = re.findall(r'^  <([a-z-]+) xmlns="([^"]+)">$', xml, re.M)
    assert tops and all(ns == f"http://yang.juniper.net/junos-qfx/conf/{tag}" for tag, ns in tops)
    assert [t for t, _ in tops] == [
        "interfaces", "forwarding-options", "policy-options", "routing-instances", "routing-options",
        "protocols", "switch-options", "vlans",
    ]
    # shorthand of the curly text spelled out as the YANG has it
    assert "<vtep-source-interface>\n      <interface-name>lo0.0</interface-name>" in xml
    assert "<vrf-target>\n" in xml and "<community>target:65000:10100</community>" in xml
    assert "<load-balance>\n" in xml and "<per-packet/>" in xml
    assert "<choice-ident>prefix-length-range</choice-ident>" in xml


def test_xml_leaves_system_out_unless_asked() -> None:
    files = R.render(leaf("leaf1"))
    assert "<system " not in files["xml"] and "host-name" not in files["xml"]
    full = to_xml(parse(files["conf"]), outside_schema=True)
    assert '<system xmlns="http://yang.juniper.net/junos-qfx/conf/system">' in full
    assert "<host-name>leaf1</host-name>" in full
    assert "<name-server>\n      <name>172.16.255.53</name>\n    </name-server>" in full
    for top in ("system", "chassis"):  # leaf1 has server LAGs: chassis (device-count) is outside the YANG set too
        if f"  <{top} " in full:
            full = full.replace(full[full.index(f"  <{top} "):full.index(f"</{top}>\n") + len(top) + 4], "")
    assert full == files["xml"]


def test_rendering_is_deterministic_and_cache_independent() -> None:
    d = leaf("leaf5")
    first = R.render(d)
    fresh = JunosRenderer().render(d)
    assert first == fresh == R.render(d)


# --------------------------------------------------------------------------- user text


def test_junos_string_escapes_quotes_and_refuses_control_characters() -> None:
    assert junos_string("rack-r1") == "rack-r1"
    assert junos_string("two words") == '"two words"'
    assert junos_string('say "hi" \\ bye') == '"say \\"hi\\" \\\\ bye"'
    for bad in ("line\nbreak", "tab\there", "nul\x00", "cr\r", "del\x7f"):
        with pytest.raises(RenderError, match="control character"):
            junos_string(bad)
    for bad in ("two words", "a;b", "x{", 'q"', ""):
        with pytest.raises(RenderError, match="not a valid Junos name"):
            junos_word(bad)


def _with_port_description(d: DeviceIntent, text: str) -> DeviceIntent:
    port = dataclasses.replace(d.access_ports[0], description=text)
    return dataclasses.replace(d, access_ports=(port, *d.access_ports[1:]))


def test_description_with_quotes_survives_all_formats() -> None:
    d = _with_port_description(leaf("leaf1"), 'node "a"; rm -rf {x}')
    files = R.render(d)
    port = d.access_ports[0].name
    assert f'set interfaces {port} description "node \\"a\\"; rm -rf {{x}}"' in files["set"].splitlines()
    assert "<description>node \"a\"; rm -rf {x}</description>" in files["xml"]
    # the statement count is unchanged: the text did not open a block or end a statement
    assert len(parse(files["conf"])) == len(parse(R.render_main(leaf("leaf1"))))


def test_description_with_newline_is_refused() -> None:
    d = _with_port_description(leaf("leaf1"), "node\nset system root-authentication plain-text-password")
    with pytest.raises(RenderError, match="control character"):
        R.render_main(d)


def test_xml_escapes_markup_in_text() -> None:
    d = _with_port_description(leaf("leaf1"), "a <b> & c")
    assert "<description>a &lt;b&gt; &amp; c</description>" in R.render(d)["xml"]


# --------------------------------------------------------------------------- parser


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a {\n    b c\n}\n", "missing its ';'"),
        ("a {\n    b;\n", "open '{' block"),
        ("a;\n}\n", "without a matching"),
        ("a {\n    ;\n}\n", "stray ';'"),
        ('a "unterminated;\n', "unterminated"),
        ("a [ b c;\n", r"inside a '\[ ... \]' list"),
        ("a [ b c ]\n", "must end with ';'"),
        ("a [ ];\n", "empty"),
    ],
)
def test_parser_is_strict(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(text)


def test_parser_reads_what_junos_prints() -> None:
    text = (
        "## Last changed: 2024-03-12\n"
        "interfaces {\n"
        '    xe-0/0/0 { description "to \\"x\\" host"; }\n'
        "    /* a comment\n       over lines */\n"
        "    xe-0/0/1 {\n"
        "        unit 0 {\n"
        "            family ethernet-switching {\n"
        "                vlan {\n"
        "                    members [ v1 v2\n"
        "                        v3 ];\n"
        "                }\n"
        "            }\n"
        "        }\n"
        "    }\n"
        "}\n"
    )
    assert to_set(parse(text)).splitlines() == [
        'set interfaces xe-0/0/0 description "to \\"x\\" host"',
        "set interfaces xe-0/0/1 unit 0 family ethernet-switching vlan members v1",
        "set interfaces xe-0/0/1 unit 0 family ethernet-switching vlan members v2",
        "set interfaces xe-0/0/1 unit 0 family ethernet-switching vlan members v3",
    ]
