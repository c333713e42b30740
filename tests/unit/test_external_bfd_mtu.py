"""Issue 9: BFD and the IP MTU on the border leaves' ports to external routers. Each test
fails on the configs rendered before (no BFD, no MTU on the external sub-interfaces)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

from fabric.api import load
from fabric.lab.external import lab_externals
from fabric.render.base import RenderedDevice

ROOT = Path(__file__).resolve().parents[2]


@cache
def rendered(example: str) -> dict[str, RenderedDevice]:
    return load(ROOT / "inventories" / example).render()


def _set(example: str, device: str) -> set[str]:
    return set(rendered(example)[device].files["set"].splitlines())


def test_junos_external_groups_run_bfd_when_asked_and_units_carry_the_ip_mtu() -> None:
    lines = _set("shownet2024", "border1")
    for vrf in ("noc", "exhibitors", "k8s"):
        for group in ("ext-backbone1", "ext-backbone1-v6"):
            prefix = f"set routing-instances {vrf} protocols bgp group {group} bfd-liveness-detection"
            assert f"{prefix} minimum-interval 300" in lines and f"{prefix} multiplier 3" in lines, (vrf, group)
    assert "set interfaces et-0/0/30 mtu 9216" in lines  # the port passes the fabric MTU
    for unit in (11, 12, 13):
        for fam in ("inet", "inet6"):
            assert f"set interfaces et-0/0/30 unit {unit} family {fam} mtu 9000" in lines


def test_without_bfd_in_the_model_none_is_rendered_and_the_ip_mtu_defaults_to_1500() -> None:
    lines = _set("shownet2024-dci", "dc1-border1")  # backbone-dc1 has no bfd, no ip_mtu
    assert not any("group ext-" in x and "bfd-liveness-detection" in x for x in lines)
    assert "set interfaces et-0/0/28 unit 11 family inet mtu 1500" in lines


def test_nxos_external_sub_interfaces_carry_bfd_and_the_ip_mtu() -> None:
    text = rendered("shownet2024-dci")["dc2-border1"].text
    assert "\nfeature bfd\n" in text
    block = text[text.index("interface Ethernet1/48.11\n"):]
    block = block[: block.index("\n!")]
    assert "  mtu 1500\n" in block
    assert "  bfd interval 500 min_rx 500 multiplier 3\n" in block
    assert "  no ip redirects\n" in block  # NX-OS BFD wants ICMP redirects off
    parent = text[text.index("interface Ethernet1/48\n"):]
    assert "  mtu 9216\n" in parent[: parent.index("\n!")]
    bgp = text[text.index("    neighbor 192.0.2.9\n"):]
    assert "      bfd\n" in bgp[: bgp.index("address-family")]


def test_frr_external_sessions_use_a_bfd_profile_with_the_routers_timers() -> None:
    text = rendered("lab")["leaf4"].text
    assert re.search(r" profile EXTERNAL\n  transmit-interval 300\n  receive-interval 300\n  detect-multiplier 3\n", text)
    for peer in ("192.0.2.1", "2001:db8:ff::1"):
        assert f" neighbor {peer} bfd\n neighbor {peer} bfd profile EXTERNAL\n" in text


def test_the_lab_backbone_runs_bfd_when_the_border_does() -> None:
    fab = load(ROOT / "inventories" / "lab")
    (backbone,) = lab_externals(fab.design(), lambda leaf, port: port)
    conf = backbone.frr_config()
    assert " neighbor 192.0.2.0 bfd\n" in conf and " neighbor 2001:db8:ff:: bfd\n" in conf
    (dc1,) = [x for x in lab_externals(load(ROOT / "inventories" / "shownet2024-dci").design(), lambda lf, p: p)
              if x.router == "backbone-dc1"]
    assert " bfd" not in dc1.frr_config()
    # the lab cables each sub-interface with the link's IP MTU
    assert backbone.cables_with_mtu() == (("leaf4", "swp20.11", "eth1.11", 1500),)
    sn = lab_externals(load(ROOT / "inventories" / "shownet2024").design(), lambda leaf, port: port)
    assert {c[3] for x in sn for c in x.cables_with_mtu()} == {9000}


def _check(tmp_path: Path, example: str, old: str, new: str) -> subprocess.CompletedProcess[str]:
    inv = tmp_path / "inv"
    shutil.copytree(ROOT / "inventories" / example, inv)
    f = inv / "fabric.yaml"
    text = f.read_text()
    assert old in text
    f.write_text(text.replace(old, new, 1))
    return subprocess.run([sys.executable, "-m", "fabric.cli", "check", str(inv)], capture_output=True, text=True,
                          timeout=120)


def test_an_ip_mtu_the_junos_port_cannot_carry_is_refused(tmp_path: Path) -> None:
    """A QFX port with media MTU 9216 carries IP packets of 9216 - 14 - 4 on a tagged unit."""
    r = _check(tmp_path, "shownet2024", "        ip_mtu: 9000\n", "        ip_mtu: 9200\n")
    assert r.returncode == 2
    assert ("external_routers[0].links[0].ip_mtu: IP MTU 9200 does not fit border1 (junos): its port carries the "
            "fabric MTU 9216 (fabric.mtu), a tagged sub-interface IP packets of at most 9198") in r.stderr
    ok = _check(tmp_path / "ok", "shownet2024", "        ip_mtu: 9000\n", "        ip_mtu: 9198\n")
    assert ok.returncode == 0, ok.stderr


def test_nxos_takes_up_to_the_fabric_mtu(tmp_path: Path) -> None:
    r = _check(tmp_path, "shownet2024-dci", "      - leaf: dc2-border1\n        port: Ethernet1/48\n",
               "      - leaf: dc2-border1\n        port: Ethernet1/48\n        ip_mtu: 9216\n")
    assert r.returncode == 0, r.stderr


def test_model_bounds(tmp_path: Path) -> None:
    low = _check(tmp_path / "a", "shownet2024", "        ip_mtu: 9000\n", "        ip_mtu: 1400\n")
    assert low.returncode == 2 and "ip_mtu" in low.stderr and "1500" in low.stderr
    slow = _check(tmp_path / "b", "shownet2024", "    bfd: {interval_ms: 300, multiplier: 3}\n",
                  "    bfd: {interval_ms: 1000, multiplier: 3}\n")
    assert slow.returncode == 2 and "bfd.interval_ms" in slow.stderr and "999" in slow.stderr
