"""Loading benchmarks of issue 11: a 1.5 MB inventory with 10,000 networks loads (parse,
schema, every cross-check) in under 2 s; a 1 KB alias bomb is refused in under 1 s.

A fabric cannot hold 10,000 networks: each takes a VLAN of its own and there are 4,093
(``pools.vlan`` 2-4094). The big inventory is therefore valid except for that one
problem, which the loader must find after reading and checking everything else; the
benchmark asserts it is the only one.

Run with ``make bench`` (or ``pytest tests/bench/test_load.py --benchmark-only``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fabric.errors import InventoryError
from fabric.inventory import load_inventory

NETWORKS = 10_000
LOAD_TARGET_S = 2.0
BOMB_TARGET_S = 1.0


def write_big(d: Path, networks: int = NETWORKS) -> int:
    """An inventory of 2 spines, 8 leaves and ``networks`` networks in 100 VRFs; returns its size in bytes."""
    fab = [
        "fabric:\n  name: big\n  sites: [{name: dc1}]\n",
        "pools:\n  loopback: 10.0.0.0/24\n  vtep: 10.0.1.0/24\n  p2p: 10.0.2.0/24\n"
        "  asn: {spine: 65000, leaf: 65001-65099}\n  l2vni: 100000-199999\n  l3vni: 50000-50999\n  vlan: 2-4094\n",
        "spines:\n",
        *(f"  - {{name: spine{i}, platform: frr, model: frr, site: dc1}}\n" for i in (1, 2)),
        "leaves:\n",
        *(f"  - {{name: leaf{i}, platform: frr, model: frr, site: dc1, rack: r{(i + 1) // 2}}}\n" for i in range(1, 9)),
    ]
    ten = ["tenants:\n"]
    per_vrf = networks // 100
    n = 0
    for t in range(10):
        ten.append(f"  - name: tenant{t}\n    description: tenant number {t} of the benchmark\n    vrfs:\n")
        ten += [f"      - name: vrf{t}-{v}\n" for v in range(10)]
        ten.append("    networks:\n")
        for v in range(10):
            for _ in range(per_vrf):
                ten.append(
                    f"      - name: net{n}\n        vrf: vrf{t}-{v}\n"
                    f"        gateway4: 172.{16 + n // 4096}.{(n // 16) % 256}.{(n % 16) * 16 + 1}/28\n"
                    f"        gateway6: \"2001:db8:{n:x}::1/64\"\n"
                    f"        leaves: [leaf1, leaf2, leaf3, leaf4]\n"
                    f"        description: benchmark network {n}\n"
                )
                n += 1
    (d / "fabric.yaml").write_text("".join(fab))
    (d / "tenants.yaml").write_text("".join(ten))
    return sum(p.stat().st_size for p in d.iterdir())


def bomb_text(levels: int = 9, width: int = 9) -> str:
    """A YAML file of ~0.3-1 KB whose aliases expand to ``width ** levels`` strings."""
    s = "a: &a [" + ",".join(['"lol"'] * width) + "]\n"
    prev = "a"
    for name in "bcdefghijk"[: levels - 1]:
        s += f"{name}: &{name} [" + ",".join([f"*{prev}"] * width) + "]\n"
        prev = name
    return s


def _load_expecting(folder: Path) -> list[str]:
    try:
        load_inventory(folder)
    except InventoryError as e:
        return [p.message for p in e.problems]
    return []


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    d = tmp_path_factory.mktemp("big-10k")
    return d, write_big(d)


def test_load_10000_networks(benchmark: Any, big: tuple[Path, int]) -> None:
    folder, size = big
    assert size >= 1_500_000, size
    problems = benchmark.pedantic(_load_expecting, args=(folder,), rounds=5, iterations=1, warmup_rounds=1)
    assert problems == [f"pool too small: 4093 values for {NETWORKS + 100} networks and VRFs"], problems[:5]
    median = benchmark.stats.stats.median
    benchmark.extra_info.update({"bytes": size, "networks": NETWORKS, "target_s": LOAD_TARGET_S})
    assert median < LOAD_TARGET_S, f"loading {size} bytes took {median:.2f} s (target {LOAD_TARGET_S} s)"


def test_alias_bomb_refused(benchmark: Any, tmp_path: Path) -> None:
    text = bomb_text()
    assert len(text.encode()) <= 1024 and 9 ** 9 > 300_000_000
    (tmp_path / "bomb.yaml").write_text(text)
    problems = benchmark.pedantic(_load_expecting, args=(tmp_path,), rounds=5, iterations=1, warmup_rounds=1)
    assert any("alias bomb" in p for p in problems), problems
    median = benchmark.stats.stats.median
    benchmark.extra_info.update({"bytes": len(text), "expands_to": 9 ** 9, "target_s": BOMB_TARGET_S})
    assert median < BOMB_TARGET_S, f"refusing the alias bomb took {median:.2f} s (target {BOMB_TARGET_S} s)"
