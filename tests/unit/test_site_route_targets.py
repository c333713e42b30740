"""Issue 9 item 6: each site has its own route-target admin, and the site RTs stay in the
site (only the interconnect RTs cross the DCI). Each test fails on the output before.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from fabric.api import load
from fabric.design import DeviceIntent
from fabric.render.base import RenderedDevice
from fabric.render.frr import FrrRenderer

ROOT = Path(__file__).resolve().parents[2]
DCI = ROOT / "inventories" / "shownet2024-dci"


@cache
def intents() -> dict[str, DeviceIntent]:
    return load(DCI).design()


@cache
def rendered() -> dict[str, RenderedDevice]:
    return load(DCI).render()


def _copy(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    inv = tmp_path / "inv"
    shutil.copytree(DCI, inv)
    f = inv / "fabric.yaml"
    text = f.read_text()
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    f.write_text(text)
    return inv


def _check(inv: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fabric.cli", "check", str(inv)], capture_output=True, text=True,
                          timeout=120)


def test_each_site_uses_its_own_route_target_admin() -> None:
    """dc1's spines are 65000, dc2's 65001: every RT of a site's L2/L3 VNIs carries its own."""
    its = intents()
    admins = {s.name: s.route_target_admin for s in next(iter(its.values())).fabric.sites}
    assert admins == {"dc1": 65000, "dc2": 65001}
    for name, d in its.items():
        if d.evpn is None:
            continue
        site = d.device.site
        assert site is not None
        assert {v.route_target.admin for v in d.vnis} == {admins[site]}, name
        assert {v.route_target.admin for v in d.vrfs} == {admins[site]}, name
    # and so in the configs, on both vendors
    assert "route-target import 65001:10000\n" in rendered()["dc2-leaf1"].text
    assert "route-target import 65000:10000\n" not in rendered()["dc2-leaf1"].text
    junos = set(rendered()["dc1-leaf1"].files["set"].splitlines())
    assert any(x.endswith("vrf-target target:65000:10000") for x in junos)
    assert "set switch-options vrf-target target:65000:65534" in junos


def test_the_interconnect_route_targets_are_the_same_in_every_site() -> None:
    its = intents()
    l2 = {d.dci.route_target for d in its.values() if d.dci is not None}
    vrf = {x.route_target for d in its.values() if d.dci is not None for x in d.dci.vrfs}
    assert len(l2) == 1 and len(vrf) == 1
    site_rts = {rt for d in its.values() if d.dci is not None for rt in d.dci.site_route_targets}
    assert not (l2 | vrf) & site_rts


def test_dci_border_site_targets_are_its_own_site_s() -> None:
    for name, d in intents().items():
        if d.dci is None:
            continue
        admin = d.fabric.rt_admin(d.device.site)
        assert {rt.admin for rt in d.dci.site_route_targets} == {admin}, name


def test_nxos_multisite_sessions_strip_the_site_route_targets() -> None:
    """The BGW's DCI sessions carry only the interconnect RTs (as the Junos borders' DCI-EVPN-OUT)."""
    for name in ("dc2-border1", "dc2-border2"):
        d = intents()[name]
        assert d.dci is not None
        text = rendered()[name].text
        listed = re.findall(r"^ip extcommunity-list standard DCI-SITE-TARGETS permit rt (\S+)$", text, re.M)
        assert set(listed) == {str(rt) for rt in d.dci.site_route_targets}
        assert str(d.dci.route_target) not in listed
        assert "route-map DCI-EVPN-OUT permit 10\n  set extcomm-list DCI-SITE-TARGETS delete\n" in text
        bgp = text[text.index("router bgp"):]
        for n in d.dci.overlay_neighbors:
            block = bgp[bgp.index(f"  neighbor {n.address}\n"):]
            block = block[: block.index("\n  neighbor ", 1) if "\n  neighbor " in block[1:] else len(block)]
            assert "route-map DCI-EVPN-OUT out" in block, (name, n.address)
        # the extcommunity list and route-map come before the sessions that use them
        assert text.index("route-map DCI-EVPN-OUT permit") < text.index("router bgp")
        # fabric sessions keep the site RTs
        for n in d.overlay.neighbors:
            block = bgp[bgp.index(f"  neighbor {n.address}\n"):]
            block = block[: block.index("\n  neighbor ", 1)]
            assert "DCI-EVPN-OUT" not in block


def test_frr_also_imports_the_other_sites_route_targets() -> None:
    """FRR has no DCI stitching: its twins pass EVPN routes between sites unchanged, so an
    FRR leaf imports every site's RTs and exports its own."""
    text = FrrRenderer().render_main(intents()["dc1-leaf1"])
    assert "   route-target import 65000:10000\n   route-target import 65001:10000\n" \
           "   route-target export 65000:10000\n" in text
    assert "  route-target import 65000:50000\n  route-target import 65001:50000\n" \
           "  route-target export 65000:50000\n" in text


def test_single_site_fabrics_keep_the_fabric_admin() -> None:
    its = load(ROOT / "inventories" / "shownet2024").design()
    admins = {rt.admin for d in its.values() for v in d.vnis for rt in (v.route_target,)}
    assert admins == {next(iter(its.values())).fabric.route_target_admin}
    text = FrrRenderer().render_main(load(ROOT / "inventories" / "lab").design()["leaf1"])
    assert text.count("route-target import") == text.count("route-target export")


def test_a_site_may_set_its_own_admin(tmp_path: Path) -> None:
    inv = _copy(tmp_path, ("    - name: dc2\n", "    - name: dc2\n      route_target_admin: 64999\n"))
    its = load(inv).design()
    assert {v.route_target.admin for v in its["dc2-leaf1"].vnis} == {64999}
    assert {v.route_target.admin for v in its["dc1-leaf1"].vnis} == {65000}
    assert its["dc2-border1"].dci is not None and its["dc2-border1"].dci.route_target.admin == 65000


def test_sites_joined_by_dci_sharing_an_admin_warn(tmp_path: Path) -> None:
    inv = _copy(tmp_path, ("  l2vni: 10000-19999\n", "  route_targets: {admin: 65000}\n  l2vni: 10000-19999\n"))
    r = _check(inv)
    assert r.returncode == 0, r.stderr
    line = (inv / "fabric.yaml").read_text().splitlines().index("  route_targets: {admin: 65000}") + 1
    assert (f"warning: {inv / 'fabric.yaml'}:{line}: pools.route_targets.admin: sites dc1 and dc2 are joined by DCI "
            "links but share route-target admin 65000") in r.stderr
    # the examples do not warn
    assert "warning" not in _check(DCI).stderr


def test_a_site_admin_of_4_bytes_needs_vnis_up_to_65535(tmp_path: Path) -> None:
    inv = _copy(tmp_path, ("    - name: dc2\n", "    - name: dc2\n      route_target_admin: 4200000000\n"),
                ("  l2vni: 10000-19999\n", "  l2vni: 10000-99999\n"))
    r = _check(inv)
    assert r.returncode == 2
    assert "fabric.sites[1].route_target_admin: site dc2: route targets target:4200000000:<vni> need VNIs up to " \
           "65535 with a 4-byte admin, but pool l2vni goes to 99999" in r.stderr
    # up to 65535 it fits
    ok = _copy(tmp_path / "ok", ("    - name: dc2\n", "    - name: dc2\n      route_target_admin: 4200000000\n"))
    assert _check(ok).returncode == 0
    assert "Traceback" not in r.stderr


def test_the_interconnect_needs_a_2_byte_admin(tmp_path: Path) -> None:
    inv = _copy(tmp_path, ("  l2vni: 10000-19999\n", "  route_targets: {admin: 4200000000}\n  l2vni: 10000-19999\n"))
    r = _check(inv)
    assert r.returncode == 2
    assert "pools.route_targets.admin: the DCI interconnect route targets (4200000000:16777215" in r.stderr


VTYSH = shutil.which("vtysh")


@pytest.mark.skipif(VTYSH is None, reason="vtysh (Debian package frr) is not installed")
def test_real_frr_accepts_the_extra_imports(tmp_path: Path) -> None:
    """FRR 8.4's own parser (``vtysh --dryrun``) takes several ``route-target import`` lines."""
    text = FrrRenderer().render_main(intents()["dc1-leaf1"])
    assert "route-target import 65001:10000" in text
    path = tmp_path / "frr.conf"
    path.write_text(text)
    assert VTYSH is not None
    out = subprocess.run([VTYSH, "--dryrun", "-f", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "%" not in out.stdout + out.stderr, out.stdout + out.stderr
