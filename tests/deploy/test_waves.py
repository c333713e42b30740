"""Wave planning: canary first, bounded waves, never both members of a redundant pair."""

from __future__ import annotations

from pathlib import Path

import pytest

import fabric
from fabric.deploy.driver import Connection
from fabric.deploy.targets import Target, resolve_targets
from fabric.deploy.waves import check_waves, plan_waves, redundancy_groups
from tests.bench.gen_fabric import write as write_fabric

ROOT = Path(__file__).resolve().parents[2]


def _t(name: str, role: str = "leaf", pair: str | None = None, pod: str = "p1") -> Target:
    return Target(name, "junos", role, "napalm", Connection(host="192.0.2.1", platform="junos"), pod=pod, pair=pair)


def test_shownet_waves_keep_pairs_apart() -> None:
    fab = fabric.load(ROOT / "inventories/shownet2024")
    targets = list(resolve_targets(fab.inventory, fab.path, env={}).values())
    waves = plan_waves(targets, canary=1, parallel=50)
    assert waves[0] == ["leaf1"]  # a server leaf is the canary
    assert check_waves(waves, targets) == []
    assert sorted(n for w in waves for n in w) == sorted(t.device for t in targets)
    for w in waves:
        assert not {"spine1", "spine2"} <= set(w)
        assert not {"leaf1", "leaf2"} <= set(w)
        assert not {"border1", "border2"} <= set(w)
    # canary, then one member of every pair (and a spine), then the other members
    assert len(waves) == 3


@pytest.mark.parametrize(
    ("canary", "parallel", "sizes"),
    [(1, 2, [1, 2, 2, 1]), (0, 3, [3, 3]), (2, 10, [2, 3, 1]), (1, 1, [1, 1, 1, 1, 1, 1])],
)
def test_wave_sizes(canary: int, parallel: int, sizes: list[int]) -> None:
    targets = [_t(f"l{i}", pair=f"l{i ^ 1}") for i in range(6)]
    waves = plan_waves(targets, canary=canary, parallel=parallel)
    assert [len(w) for w in waves] == sizes
    assert check_waves(waves, targets) == []


def test_spines_of_a_pod_at_most_half_per_wave() -> None:
    targets = [_t(f"s{i}", role="spine") for i in range(4)] + [_t("s9", role="spine", pod="p2")]
    groups = redundancy_groups(targets)
    assert groups["s0"].per_wave == 2 and "s9" not in groups
    waves = plan_waves(targets, canary=0, parallel=10)
    assert [sorted(w) for w in waves] == [["s0", "s1", "s9"], ["s2", "s3"]]


def test_check_waves_names_a_broken_pair() -> None:
    targets = [_t("a", pair="b"), _t("b", pair="a")]
    assert check_waves([["a", "b"]], targets) == ["wave 1 holds a, b of pair:a+b (at most 1)"]


def test_200_devices_at_parallel_50_take_five_waves(tmp_path: Path) -> None:
    write_fabric(tmp_path, spines=4, leaves=196, svis=4, vrfs=1)
    fab = fabric.load(tmp_path)
    targets = list(resolve_targets(fab.inventory, fab.path, env={}).values())
    waves = plan_waves(targets, canary=1, parallel=50)
    assert len(targets) == 200 and check_waves(waves, targets) == []
    assert len(waves) == 5 and max(len(w) for w in waves) == 50
