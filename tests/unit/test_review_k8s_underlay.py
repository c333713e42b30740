"""Issue 9 (vendor review of the rendered configs): one test per item this file covers,
each failing on the output before the fix.

- item 3: ``bestpath as-path multipath-relax`` in every tenant VRF on NX-OS and FRR;
- item 9: the anycast gateway MAC defaults to a locally administered MAC; a VRRP MAC warns;
- item 7: BFD toward Kubernetes nodes only for clusters whose speaker runs BFD;
- item 10: IPv6 underlay sessions exist only to carry IPv6 loopbacks (none: not rendered);
- item 8: each leaf peers with its nodes from its own address in the VRF (ledger
  ``k8s_peering``, on a loopback in the VRF, multihop 2), never from the anycast gateway.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from functools import cache
from ipaddress import IPv6Network
from pathlib import Path

import pytest
from click.testing import CliRunner

import fabric
from fabric.advisories import is_vrrp_mac
from fabric.cli import main
from fabric.render.base import RenderedDevice
from fabric.render.frr.renderer import FrrRenderer

INVENTORIES = Path(__file__).resolve().parents[2] / "inventories"
EXAMPLES = ("lab", "shownet2024", "shownet2024-dci")


@cache
def rendered(name: str) -> dict[str, RenderedDevice]:
    return fabric.load(INVENTORIES / name).render()


def blocks(text: str, start: str, indent: str) -> dict[str, list[str]]:
    """Name -> lines of every block opened by a line matching ``start`` (one group: the
    name), up to the next line indented no deeper than ``indent``."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        m = re.match(start, line)
        if m:
            current = out.setdefault(m.group(1), [])
            continue
        if current is not None:
            if line.startswith(indent + " ") or not line.strip():
                current.append(line)
            else:
                current = None
    return out


# --------------------------------------------------------------------------- item 3


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_tenant_vrf_relaxes_the_as_path_for_multipath(name: str) -> None:
    """A service /32 announced by nodes behind several leaves reaches a leaf as one type-5
    route per announcing leaf, each with a different AS path: without multipath-relax in
    the VRF only one of them is used. Leaves without nodes (borders, host-only leaves) are
    the ones that showed it."""
    intents = fabric.load(INVENTORIES / name).design()
    checked = 0
    for device, r in rendered(name).items():
        vrfs = {vi.name for vi in intents[device].vrfs}
        if not vrfs:
            continue
        if r.platform == "nxos":
            got = blocks(r.text, r"^  vrf (\S+)$", "  ")
        elif r.platform == "frr":
            got = blocks(r.text, r"^router bgp \d+ vrf (\S+)$", "")
        else:
            continue
        assert set(got) == vrfs, device
        for vrf, body in got.items():
            assert any(ln.strip() == "bestpath as-path multipath-relax" or ln.strip() == "bgp bestpath as-path multipath-relax"
                       for ln in body), f"{name} {device} vrf {vrf}: no multipath-relax"
            assert any(ln.strip().startswith("maximum-paths ") for ln in body), f"{device} vrf {vrf}: no maximum-paths"
            checked += 1
    if name != "lab":
        assert checked > 0


def test_frr_tenant_vrf_without_kubernetes_peers_still_relaxes() -> None:
    fab = fabric.load(INVENTORIES / "shownet2024")
    intents = fab.design()
    # border1 (Junos in the example) as an FRR box: a leaf with tenant VRFs and no nodes
    b1 = intents["border1"]
    text = FrrRenderer().render_main(dataclasses.replace(b1, device=dataclasses.replace(b1.device, platform="frr")))
    vrfs = blocks(text, r"^router bgp \d+ vrf (\S+)$", "")
    assert vrfs and not intents["border1"].kubernetes
    assert all(" bgp bestpath as-path multipath-relax" in body for body in vrfs.values())


# --------------------------------------------------------------------------- item 9


def _mac_octet0(mac: str) -> int:
    return int(mac.split(":")[0], 16)


@pytest.mark.parametrize("name", EXAMPLES)
def test_gateway_mac_is_locally_administered_unicast_and_no_vrrp_mac(name: str) -> None:
    fab = fabric.load(INVENTORIES / name)
    mac = fab.design()[next(d for d, i in fab.design().items() if i.gateways)].fabric.gateway_mac
    assert _mac_octet0(mac) & 0x02, f"{mac} is not locally administered"
    assert not _mac_octet0(mac) & 0x01, f"{mac} is a group MAC"
    assert not is_vrrp_mac(mac)
    assert fab.advisories() == []
    # and what the devices print is that MAC (NX-OS in dotted form)
    for r in rendered(name).values():
        assert "00:00:5e:00:01" not in r.text.lower() and "0000.5e00.01" not in r.text.lower()


@pytest.mark.parametrize(("mac", "vrrp"), [
    ("00:00:5e:00:01:01", True), ("00:00:5E:00:01:2a", True), ("00:00:5e:00:02:01", True),
    ("02:00:00:00:01:01", False), ("00:00:5e:00:03:01", False), ("00:1c:73:00:00:01", False),
])
def test_vrrp_macs_are_recognised(mac: str, vrrp: bool) -> None:
    assert is_vrrp_mac(mac) is vrrp


def test_a_vrrp_gateway_mac_warns_with_file_and_line_but_builds(tmp_path: Path) -> None:
    inv = tmp_path / "lab"
    shutil.copytree(INVENTORIES / "lab", inv)
    text = (inv / "fabric.yaml").read_text()
    vrrp = '  anycast_gateway_mac: "00:00:5e:00:01:07"'
    (inv / "fabric.yaml").write_text(text.replace("  vlan: 100-3999\n", f"  vlan: 100-3999\n{vrrp}\n"))
    line = (inv / "fabric.yaml").read_text().splitlines().index('  anycast_gateway_mac: "00:00:5e:00:01:07"') + 1
    r = CliRunner().invoke(main, ["check", str(inv)])
    assert r.exit_code == 0, r.output
    assert r.stderr.startswith(f"warning: {inv / 'fabric.yaml'}:{line}: pools.anycast_gateway_mac: 00:00:5e:00:01:07 is the "
                               "VRRP virtual router MAC of VRID 7"), r.stderr
    r = CliRunner().invoke(main, ["build", str(inv), "-o", str(tmp_path / "out")])
    assert r.exit_code == 0 and "VRRP virtual router MAC of VRID 7" in r.stderr


# --------------------------------------------------------------------------- item 10


@pytest.mark.parametrize("name", EXAMPLES)
def test_ipv6_underlay_sessions_carry_the_ipv6_loopbacks(name: str) -> None:
    intents = fabric.load(INVENTORIES / name).design()
    with_v6 = [i for i in intents.values() if i.underlay.neighbors6]
    assert with_v6, "the examples run an IPv6 underlay"
    originated = {p for i in intents.values() for p in i.underlay.advertise if p.version == 6}
    assert originated, "an IPv6 underlay with nothing to carry"
    for i in intents.values():
        if i.device.is_leaf:
            assert i.device.loopback6 is not None and IPv6Network(i.device.loopback6) in i.underlay.advertise
    # and the rendered FRR leaves originate them in the address family the sessions carry
    for device, r in rendered(name).items():
        if r.platform == "frr" and intents[device].device.is_leaf:
            af6 = r.text.split(" address-family ipv6 unicast\n", 1)[1].split(" exit-address-family", 1)[0]
            assert f"  network {intents[device].device.loopback6}/128" in af6
            assert "  neighbor UNDERLAY6 activate" in af6


def test_ipv6_underlay_without_ipv6_loopbacks_renders_no_sessions_and_warns(tmp_path: Path) -> None:
    inv = tmp_path / "lab"
    shutil.copytree(INVENTORIES / "lab", inv)
    text = (inv / "fabric.yaml").read_text()
    (inv / "fabric.yaml").write_text(re.sub(r'loopback6: "[^"]+", ', "", text))
    fab = fabric.load(inv)
    intents = fab.design()
    assert all(not i.underlay.neighbors6 for i in intents.values())
    assert any(i.interfaces[0].address6 is not None for i in intents.values())  # /127s still numbered
    (adv,) = fab.advisories()
    assert adv.path == "fabric.underlay_ipv6" and adv.line > 0 and "not rendered" in adv.message
    leaf1 = fab.render()["leaf1"].text
    assert "UNDERLAY6" not in leaf1 and "fd00:0:0:2::" in leaf1


# --------------------------------------------------------------------------- item 7


def _k8s_bfd_lines(platform: str, text: str, node_addrs: set[str], groups: set[str]) -> list[str]:
    """Lines of a rendered leaf that switch BFD on toward Kubernetes nodes."""
    out: list[str] = []
    if platform == "frr":
        out = [ln for ln in text.splitlines() if re.match(r"^ neighbor (\S+) bfd", ln) and ln.split()[1] in groups]
    elif platform == "nxos":
        current = None
        for ln in text.splitlines():
            if m := re.match(r"^    neighbor (\S+)$", ln):
                current = m.group(1)
            elif ln.startswith("      bfd") and current in node_addrs:
                out.append(f"{current}: {ln.strip()}")
            elif not ln.startswith("      "):
                current = None
    elif platform == "junos":
        out = [ln for ln in text.splitlines() if re.search(r"protocols bgp group (\S+) bfd-liveness-detection", ln)
               and re.search(r"group (\S+) ", ln).group(1) in groups]  # type: ignore[union-attr]
    return out


@pytest.mark.parametrize("name", EXAMPLES)
def test_bfd_toward_nodes_only_for_bfd_capable_speakers(name: str) -> None:
    fab = fabric.load(INVENTORIES / name)
    intents = fab.design()
    speakers = {c.name: c for c in fab.inventory.kubernetes.clusters}
    seen: dict[bool, int] = {True: 0, False: 0}
    for device, r in rendered(name).items():
        for p in intents[device].kubernetes:
            c = speakers[p.cluster]
            wants = c.speaker in ("frr", "bird")
            assert (p.bfd is not None) == wants, f"{device} cluster {p.cluster} (speaker {c.speaker})"
            addrs = {str(a) for n in p.nodes for a in (n.address, n.address6) if a is not None}
            base = "K8S-" + p.cluster.upper()
            groups = {base, base + "-V6", f"k8s-{p.cluster}", f"k8s-{p.cluster}-v6"}
            text = r.files["set"] if r.platform == "junos" else r.text
            found = _k8s_bfd_lines(r.platform, text, addrs, groups)
            assert bool(found) == wants, f"{name} {device} {p.cluster}: {found[:3]}"
            seen[wants] += 1
    assert seen[False] > 0  # every example's clusters run bgp-agent (a BFD speaker: the next test)


def test_bfd_with_bgp_agent_is_refused_with_file_and_line(tmp_path: Path) -> None:
    inv = tmp_path / "lab"
    shutil.copytree(INVENTORIES / "lab", inv)
    k8s = inv / "kubernetes.yaml"
    k8s.write_text(k8s.read_text().replace("      max_prefixes: 100\n", "      max_prefixes: 100\n      bfd: true\n"))
    line = k8s.read_text().splitlines().index("      bfd: true") + 1
    r = CliRunner().invoke(main, ["check", str(inv)])
    assert r.exit_code == 2
    assert f"{k8s}:{line}: kubernetes.clusters[0].bfd: speaker bgp-agent has no BFD" in r.stderr
    # with a BFD-capable speaker the same line is fine, and the leaves render BFD
    k8s.write_text(k8s.read_text().replace("      bfd: true\n", "      speaker: frr\n      bfd: true\n"))
    lf = fabric.load(inv).render()["leaf1"].text
    assert " neighbor K8S-LAB bfd profile K8S-LAB" in lf


# --------------------------------------------------------------------------- item 8


@pytest.mark.parametrize("name", EXAMPLES)
def test_leaves_peer_with_nodes_from_their_own_address_not_the_anycast_gateway(name: str) -> None:
    """Every leaf's Kubernetes sessions start from an address of its own (pools.k8s_peering),
    unique to that leaf, on a loopback in the VRF; each platform's config says so (source
    and TTL). Before the fix every leaf peered from the network's anycast gateway."""
    fab = fabric.load(INVENTORIES / name)
    designed = fab.designed()
    pools = fab.inventory.pools
    assert pools.k8s_peering is not None and pools.k8s_peering_v6 is not None
    gateways = {str(a.ip) for g in designed.summary.gateways for a in (g.address4, g.address6) if a is not None}
    owner: dict[str, str] = {}
    out = rendered(name)
    for leaf, intent in designed.devices.items():
        for k in intent.kubernetes:
            for addr in (k.local_address, k.local_address6):
                if addr is None:
                    continue
                assert str(addr) not in gateways, f"{leaf} peers from the anycast gateway {addr}"
                assert addr in (pools.k8s_peering if addr.version == 4 else pools.k8s_peering_v6)
                assert owner.setdefault(str(addr), leaf) == leaf, f"{addr} on {leaf} and {owner[str(addr)]}"
            assert k.multihop_ttl == 2
            text = out[leaf].text
            lb = k.source_loopback
            if intent.platform == "nxos":
                loop = blocks(text, rf"^interface (loopback{lb})$", "")[f"loopback{lb}"]
                assert f"  vrf member {k.vrf}" in loop and f"  ip address {k.local_address}/32" in loop
                nbrs = blocks(text, r"^    neighbor (\S+)$", "    ")
                for n in k.nodes:
                    body = nbrs[str(n.address)]
                    assert f"      update-source loopback{lb}" in body and "      ebgp-multihop 2" in body
            elif intent.platform == "junos":
                conf = out[leaf].files["set"]
                assert f"set interfaces lo0 unit {lb} family inet address {k.local_address}/32" in conf
                assert f"set routing-instances {k.vrf} interface lo0.{lb}" in conf
                group = f"set routing-instances {k.vrf} protocols bgp group k8s-{k.cluster}"
                assert f"{group} local-address {k.local_address}" in conf
                assert f"{group} multihop ttl 2" in conf
            else:
                group = "K8S-" + k.cluster.upper()
                assert f" neighbor {group} update-source {k.local_address}" in text
                assert f" neighbor {group} ebgp-multihop 2" in text
                assert f" ip address {k.local_address}/32" in text
    assert owner, "no Kubernetes sessions"


def test_peering_addresses_stay_put_when_a_leaf_gets_its_first_node(tmp_path: Path) -> None:
    """The ledger keeps each (VRF, leaf) address: a node on a new leaf adds one entry and
    moves none; `fabric plan` shows it."""
    inv = tmp_path / "lab"
    shutil.copytree(INVENTORIES / "lab", inv)
    before = (inv / "allocations.yaml").read_text()
    k8s = inv / "kubernetes.yaml"
    text = k8s.read_text()
    assert "name: node4" in text
    k8s.write_text(re.sub(r"\n\s+- \{name: node4[^\n]*", "", text))
    res = CliRunner().invoke(main, ["plan", str(inv), "--prune"])
    assert res.exit_code == 0, res.output
    assert "k8s_peering blue--leaf4" in res.output and "blue--leaf4" not in (inv / "allocations.yaml").read_text()
    k8s.write_text(text)
    res = CliRunner().invoke(main, ["plan", str(inv)])
    assert res.exit_code == 0 and "+ k8s_peering blue--leaf4 = 10.0.3.4" in res.output, res.output
    after = (inv / "allocations.yaml").read_text()
    for line in before.splitlines():
        if "blue--leaf1" in line or "blue--leaf2" in line or "blue--leaf3" in line:
            assert line in after
