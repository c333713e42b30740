"""Rollout waves: a canary wave, then the rest in waves of at most ``parallel`` devices,
never taking down redundancy.

Redundancy groups: the spines of one pod (of one site), each leaf pair and each border
pair (the ``pair`` field). A wave holds at most one member of a pair, and at most half
(at least one) of a pod's spines, so that a device failing its post-checks never takes
both halves of a redundant pair with it. Pure functions: table-tested without devices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fabric.deploy.targets import Target

_ROLE_ORDER = {"leaf": 0, "border": 1, "spine": 2}


@dataclass(frozen=True)
class Group:
    """A redundancy group and how many of its members one wave may hold."""

    key: str
    members: frozenset[str]
    per_wave: int


def redundancy_groups(targets: Sequence[Target]) -> dict[str, Group]:
    """Device -> its group (devices in no group are absent). Pairs are taken from either
    member's ``pair`` field; spines group by (site, pod)."""
    members: dict[str, set[str]] = {}
    names = {t.device for t in targets}
    for t in targets:
        if t.role == "spine":
            members.setdefault(f"spines:{t.site or ''}/{t.pod or ''}", set()).add(t.device)
        elif t.pair:
            a, b = sorted((t.device, t.pair))
            members.setdefault(f"pair:{a}+{b}", set()).update(n for n in (a, b) if n in names)
    out: dict[str, Group] = {}
    for key, devs in members.items():
        if len(devs) < 2:
            continue
        cap = 1 if key.startswith("pair:") or len(devs) == 2 else max(1, len(devs) // 2)
        g = Group(key, frozenset(devs), cap)
        for d in devs:
            out[d] = g
    return out


def rollout_order(targets: Sequence[Target]) -> list[Target]:
    """Leaves first (a leaf is the safest canary), then borders, then spines; inventory
    order within a role."""
    return sorted(targets, key=lambda t: _ROLE_ORDER.get(t.role, 3))


def plan_waves(targets: Sequence[Target], canary: int = 1, parallel: int = 10) -> list[list[str]]:
    """The waves, as lists of device names: the first holds ``canary`` devices (when
    ``canary`` > 0), every other at most ``parallel``; no wave breaks a group's cap."""
    if parallel < 1:
        raise ValueError("parallel must be at least 1")
    groups = redundancy_groups(targets)
    ordered = rollout_order(targets)
    waves: list[list[str]] = []
    counts: list[dict[str, int]] = []

    def fits(i: int, dev: str, limit: int) -> bool:
        if len(waves[i]) >= limit:
            return False
        g = groups.get(dev)
        return g is None or counts[i].get(g.key, 0) < g.per_wave

    def add(i: int, dev: str) -> None:
        waves[i].append(dev)
        g = groups.get(dev)
        if g is not None:
            counts[i][g.key] = counts[i].get(g.key, 0) + 1

    rest = [t.device for t in ordered]
    first = 0
    if canary > 0 and rest:
        waves.append([])
        counts.append({})
        for dev in list(rest):
            if fits(0, dev, canary):
                add(0, dev)
                rest.remove(dev)
        first = 1
    for dev in rest:
        for i in range(first, len(waves)):
            if fits(i, dev, parallel):
                add(i, dev)
                break
        else:
            waves.append([])
            counts.append({})
            add(len(waves) - 1, dev)
    return [w for w in waves if w]


def check_waves(waves: Sequence[Sequence[str]], targets: Sequence[Target]) -> list[str]:
    """Problems with ``waves`` (a wave holding more of a group than its cap); ``[]`` if fine."""
    groups = redundancy_groups(targets)
    out = []
    for i, wave in enumerate(waves):
        seen: dict[str, list[str]] = {}
        for d in wave:
            if d in groups:
                seen.setdefault(groups[d].key, []).append(d)
        for key, devs in seen.items():
            g = groups[devs[0]]
            if len(devs) > g.per_wave:
                out.append(f"wave {i + 1} holds {', '.join(devs)} of {key} (at most {g.per_wave})")
    return out
