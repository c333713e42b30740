"""Issue 9 item 12: server attachments and EVPN multihoming (ESI-LAG).

Before this, ``pair:`` changed no config and servers could not be described at all: every
test here fails on that output (no ``servers`` section, no LAG, no Ethernet segment).
The statements are the ones docs/vendor-notes.md ("Item 12") says were verified and how.
"""

from __future__ import annotations

import re
import shutil
from functools import cache
from pathlib import Path

import pytest
import yaml

from fabric.api import load
from fabric.design import DeviceIntent
from fabric.design.pipeline import esi_text, lag_number
from fabric.errors import DesignError
from fabric.render.base import RenderedDevice
from fabric.render.frr import FrrRenderer

ROOT = Path(__file__).resolve().parents[2]
SHOWNET = ROOT / "inventories" / "shownet2024"


@cache
def intents() -> dict[str, DeviceIntent]:
    return load(SHOWNET).design()


@cache
def rendered() -> dict[str, RenderedDevice]:
    return load(SHOWNET).render()


def _block(text: str, header: str) -> list[str]:
    """The indented lines under an NX-OS ``header`` line."""
    lines = text.splitlines()
    i = lines.index(header)
    out = []
    for line in lines[i + 1:]:
        if not line.startswith("  "):
            break
        out.append(line.strip())
    return out


def _curly(text: str, name: str, indent: int = 4) -> str:
    """The curly-brace block ``name { ... }`` at ``indent``."""
    pad = " " * indent
    m = re.search(rf"^{pad}{re.escape(name)} {{\n(.*?)^{pad}}}\n", text, re.M | re.S)
    assert m, f"no block {name}"
    return m.group(1)


# ---------------------------------------------------------------- model, ledger, design


def test_both_members_of_a_segment_share_number_mac_and_ethernet_segment() -> None:
    d = intents()
    for a, b in (("leaf1", "leaf2"), ("leaf3", "leaf4")):
        sa = {s.server: s.segment for s in d[a].servers if s.segment is not None}
        sb = {s.server: s.segment for s in d[b].servers if s.segment is not None}
        assert sa and sa.keys() == sb.keys()
        for server, seg in sa.items():
            other = sb[server]
            assert seg is not None and other is not None
            assert (seg.number, seg.system_mac, seg.esi) == (other.number, other.system_mac, other.esi), server
            assert seg.peer == b and other.peer == a
    # the ledger holds them; the ESI is built from them
    alloc = load(SHOWNET).allocations()
    seg = next(s.segment for s in d["leaf1"].servers if s.server == "noc-db1")
    assert seg is not None
    assert (seg.number, seg.system_mac) == (alloc.es_id("noc-db1"), alloc.lacp_system_id("noc-db1"))
    assert seg.esi == esi_text(0x00, seg.system_mac, seg.number)  # Junos: configured type 0
    nx = next(s.segment for s in d["leaf3"].servers if s.server == "exh-hv1")
    assert nx is not None and nx.esi.startswith("03:")  # NX-OS derives type 3 from system-mac + number


def test_single_homed_servers_have_no_segment_and_a_lag_only_with_several_links() -> None:
    by = {s.server: s for s in intents()["leaf5"].servers} | {s.server: s for s in intents()["leaf6"].servers}
    assert by["noc-probe1"].lag is None and by["noc-probe1"].segment is None
    assert by["exh-nas1"].lag == 11 and by["exh-nas1"].segment is None
    assert by["exh-nas1"].ports == ("Ethernet1/11", "Ethernet1/12")
    assert "evpn_multihoming" not in intents()["leaf5"].features()
    assert "evpn_multihoming" in intents()["leaf1"].features()


def test_lag_number_is_the_lowest_member_ports_number() -> None:
    assert lag_number("xe-0/0/10") == 10 and lag_number("Ethernet1/7") == 7 and lag_number("swp3") == 3
    with pytest.raises(DesignError):
        lag_number("bondx")


def test_esi_layout() -> None:
    assert esi_text(0, "02:4c:53:00:00:01", 1) == "00:02:4c:53:00:00:01:00:00:01"
    assert esi_text(3, "02:4c:53:00:00:01", 0x10203) == "03:02:4c:53:00:00:01:01:02:03"


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "inv"
    shutil.copytree(SHOWNET, dst)
    return dst


def test_ledger_keeps_segments_when_servers_are_added_and_removed(tmp_path: Path) -> None:
    inv = _copy(tmp_path)
    before = load(inv).allocations()
    old = {s: (before.es_id(s), before.lacp_system_id(s)) for s in ("noc-db1", "noc-hv1", "exh-hv1")}
    data = yaml.safe_load((inv / "servers.yaml").read_text())
    data["servers"] = [s for s in data["servers"] if s["name"] != "noc-db1"]  # removed: its values stay reserved
    data["servers"].insert(0, {"name": "aaa-new", "networks": ["noc-servers"],
                               "links": [{"leaf": "leaf1", "port": "xe-0/0/20"}, {"leaf": "leaf2", "port": "xe-0/0/20"}]})
    (inv / "servers.yaml").write_text(yaml.safe_dump(data))
    fab = load(inv)
    plan = fab.plan()
    added = {(c.section, c.key): c.new for c in plan.changes if c.action == "added"}
    assert added == {("es_id", "aaa-new"): 4, ("lacp_system_id", "aaa-new"): "02:4c:53:00:00:04"}
    assert {(c.section, c.key) for c in plan.changes if c.action == "stale"} == {
        ("es_id", "noc-db1"), ("lacp_system_id", "noc-db1")}
    after = plan.allocations()
    for s in ("noc-hv1", "exh-hv1"):
        assert (after.es_id(s), after.lacp_system_id(s)) == old[s]


# ---------------------------------------------------------------- Junos (JVD ESI-LAG leaf form)


def test_junos_esi_lag() -> None:
    text = rendered()["leaf1"].text
    ae = _curly(text, "ae10")
    assert "esi {\n            00:02:4c:53:00:00:01:00:00:01;\n            all-active;\n        }" in ae
    assert "lacp {\n                active;\n                periodic fast;\n                system-id 02:4c:53:00:00:01;" in ae
    assert "interface-mode access;" in ae and "members noc-servers;" in ae
    member = _curly(text, "xe-0/0/10")
    assert "ether-options {\n            802.3ad ae10;\n        }" in member and "unit 0" not in member
    # two members on one leaf, a trunk with a native VLAN
    hv = _curly(text, "ae11")
    assert "native-vlan-id 100;" in hv and "interface-mode trunk;" in hv and "members [ noc-servers noc-monitoring ];" in hv
    assert "802.3ad ae11;" in _curly(text, "xe-0/0/12")
    # ae0 .. ae11 exist
    assert "chassis {\n    aggregated-devices {\n        ethernet {\n            device-count 12;" in text
    # the pair member says the same about the segment
    assert _curly(rendered()["leaf2"].text, "ae10") == ae


def test_junos_xml_spells_the_bundle_as_the_yang_has_it() -> None:
    xml = rendered()["leaf1"].files["xml"]
    assert "<ieee-802.3ad>\n          <bundle>ae10</bundle>" in xml
    assert "<identifier>00:02:4c:53:00:00:01:00:00:01</identifier>" in xml
    assert "<chassis" not in xml  # outside the YANG set: sent as text by the netconf driver


def test_junos_single_homed_port_is_a_plain_access_port() -> None:
    port = _curly(rendered()["leaf5"].text, "xe-0/0/10")
    assert "interface-mode access;" in port and "802.3ad" not in port and "esi" not in port
    assert "chassis" not in rendered()["leaf5"].text


# ---------------------------------------------------------------- NX-OS (EVPN ESI multihoming)


def test_nxos_esi_multihoming() -> None:
    text = rendered()["leaf3"].text
    assert re.search(r"^nv overlay evpn\n(?:.*\n)*?evpn esi multihoming$", text, re.M)
    assert "feature lacp" in text.splitlines()
    pc = _block(text, "interface port-channel10")
    assert "ethernet-segment 3" in pc and "system-mac 024c.5300.0003" in pc
    assert "switchport trunk allowed vlan 106,107" in pc and "mtu 9216" in pc
    member = _block(text, "interface Ethernet1/10")
    assert "channel-group 10 mode active" in member and "lacp rate fast" not in member  # rate: slow
    for uplink in ("Ethernet1/49", "Ethernet1/50"):
        assert "evpn multihoming core-tracking" in _block(text, f"interface {uplink}")
    # the member must be defined before the port-channel it joins
    assert text.index("interface Ethernet1/10\n") < text.index("interface port-channel10\n")


def test_nxos_lag_without_segment_has_no_multihoming() -> None:
    text = rendered()["leaf6"].text
    assert "channel-group 11 mode active" in _block(text, "interface Ethernet1/12")
    assert "ethernet-segment" not in text and "evpn esi multihoming" not in text and "core-tracking" not in text


# ---------------------------------------------------------------- FRR (the lab twins)


def test_frr_evpn_mh() -> None:
    text = FrrRenderer().render_main(intents()["leaf1"])
    bond = text.split("interface bond10\n", 1)[1].split("!\n", 1)[0]
    assert " evpn mh es-id 1\n" in bond and " evpn mh es-sys-mac 02:4c:53:00:00:01\n" in bond
    for uplink in ("et-0/0/48", "et-0/0/49"):
        block = text.split(f"interface {uplink}\n", 1)[1].split("!\n", 1)[0]
        assert " evpn mh uplink\n" in block
    assert "evpn mh" not in FrrRenderer().render_main(intents()["leaf5"])
