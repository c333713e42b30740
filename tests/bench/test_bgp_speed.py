"""Bulk announcement speed, side by side in one run on one machine: the agent, raw ExaBGP
5.0.15 driven by a minimal API script, and GoBGP, each alone on the same node, into the same
real FRR leaf. Timed: from the request (services file written / command to the API script /
``gobgp mrt inject`` started) until every route is in the leaf's kernel FIB. 10,000 prefixes
(3 rounds, medians) and 100,000 (1 round; time and RSS).

Two times per speaker: wall (what pytest-benchmark reports) and the CPU time of the
speaker's process tree (agent + ExaBGP + relay; ExaBGP + API script; gobgpd + the gobgp CLI)
over the same interval, also per process (``extra_info["cpu_s_by_process"]``, printed).

Asserted: the agent's CPU time is within :data:`TARGET_RATIO` (1.2x) of raw ExaBGP's at
10,000 prefixes, both measured in this run. CPU, not wall, because CPU is what the agent
adds and the only one of the two this machine measures honestly: its two cores are shared
with other jobs, so a wall time also measures the neighbours (the same run has given wall
ratios of 1.07 and 1.27 in two runs), while the CPU seconds of a process tree barely move with load;
and a wall time would let the agent hide its own work on an otherwise idle second core,
which a busy node does not have. The wall ratio is printed beside it. The agent's CPU
includes what its default configuration costs ExaBGP: ``track_sent`` (how a stop proves its
withdrawals went out) has ExaBGP decode and report every UPDATE it sends, which shows as
ExaBGP's CPU in the agent's tree exceeding raw ExaBGP's; the variant ``untracked``
(``track_sent: false``) measures the agent without it (reported, not asserted). Absolute
times are reported only: they differ threefold between machines.

Run: ``.venv/bin/pytest tests/bench/test_bgp_speed.py --benchmark-only -s`` (root + FRR +
gobgpd). ``-s`` prints every figure with the load average; ``--benchmark-json=FILE`` also
records them (``extra_info``). The references are described in bgp_references.py.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from fabric.lab import cleanup_stale, missing_requirements, wait_until
from tests.bench.bgp_references import GoBGP, RawExaBGP, process_tree_cpu_by_role, process_tree_rss
from tests.bgp.e2e.ecmp_lab import BGP_AGENT, BULK_RANGE, EcmpLab

_reason = (
    missing_requirements()
    or (None if os.access(BGP_AGENT, os.X_OK) else f"{BGP_AGENT} is not installed")
    or (None if shutil.which("gobgpd") else "gobgpd is not installed (Debian package gobgpd, make setup)")
)
pytestmark = [pytest.mark.lab, pytest.mark.skipif(_reason is not None, reason=_reason or "")]

ROUNDS = {10_000: 3, 100_000: 1}
BATCH = 1000
TARGET_RATIO = 1.2
"""The agent's CPU time at most this multiple of raw ExaBGP's (issue 12)."""
AGENT_ROLES = {"bgp.speaker.relay": "relay", "exabgp": "exabgp"}  # the rest: the agent
RAW_ROLES = {"raw_api.py": "api_script"}  # the rest: ExaBGP
MEDIANS: dict[tuple[str, int], tuple[float, float]] = {}  # (speaker, count): (wall, cpu)


def prefixes(count: int) -> list[str]:
    net = ipaddress.ip_network(BULK_RANGE)
    return [f"{net[i]}/32" for i in range(1, count + 1)]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EcmpLab]:
    """One leaf, one node; each benchmark starts its own speaker on the node."""
    cleanup_stale()
    topo = EcmpLab.build(tmp_path_factory.mktemp("bgp-speed"), n_nodes=1, max_prefixes=101_000)
    try:
        yield topo
    finally:
        topo.close()


def fib_count(topo: EcmpLab) -> int:
    # text and a line count: parsing 100,000 routes as JSON at every poll would steal the
    # CPU the leaf needs to install them
    return topo.leaf.ip("-4", "route", "show", "proto", "bgp", "root", BULK_RANGE).stdout.count("\n")


def run_rounds(
    benchmark: Any,
    topo: EcmpLab,
    count: int,
    announce: Callable[[], None],
    withdraw: Callable[[], None],
    cpu_now: Callable[[], dict[str, float]],
) -> list[float]:
    """Time ``announce`` until ``count`` routes are in the leaf's FIB; returns the CPU
    seconds the speaker's processes (``cpu_now``: CPU so far per process role) grew by in
    each round. The per-role growth goes into ``extra_info["cpu_s_by_process"]``."""
    timeout = 60 + count / 250  # generous: the leaf installs every route in its kernel
    cpu: list[float] = []
    by_role: list[dict[str, float]] = []

    def setup() -> tuple[tuple[()], dict[str, Any]]:
        withdraw()
        wait_until(lambda: fib_count(topo) == 0, timeout, "bulk routes withdrawn", interval=0.1)
        return (), {}

    def announce_and_wait() -> None:
        before = cpu_now()
        announce()
        wait_until(lambda: fib_count(topo) >= count, timeout, f"{count} routes in the leaf FIB", interval=0.05)
        after = cpu_now()
        grown = {role: round(after[role] - before.get(role, 0.0), 3) for role in sorted(after)}
        by_role.append(grown)
        cpu.append(sum(grown.values()))

    benchmark.pedantic(announce_and_wait, setup=setup, rounds=ROUNDS[count], iterations=1)
    withdraw()
    wait_until(lambda: fib_count(topo) == 0, timeout, "bulk routes withdrawn", interval=0.1)
    benchmark.extra_info["cpu_s"] = [round(c, 3) for c in cpu]
    benchmark.extra_info["cpu_s_by_process"] = by_role
    return cpu


def report(benchmark: Any, name: str, count: int, cpu: list[float]) -> None:
    stats = getattr(benchmark, "stats", None)
    if stats is None:  # --benchmark-disable: nothing measured
        return
    wall = float(stats.stats.median)
    cpu_median = sorted(cpu)[len(cpu) // 2]
    benchmark.extra_info["wall_median_s"] = round(wall, 3)
    benchmark.extra_info["cpu_median_s"] = round(cpu_median, 3)
    MEDIANS[(name, count)] = (wall, cpu_median)
    by_role = benchmark.extra_info["cpu_s_by_process"][cpu.index(cpu_median)]
    parts = ", ".join(f"{role} {s:.2f}" for role, s in by_role.items())
    rss = benchmark.extra_info.get("rss_mib_announced")
    print(
        f"\n{count} prefixes, {name}: {wall:.2f} s wall / {cpu_median:.2f} s CPU ({parts})"
        + (f", RSS announced {max(rss):.0f} MiB" if rss else "")
        + f", load average {os.getloadavg()[0]:.2f}"
    )
    if name.startswith("agent"):
        return
    for variant in AGENT_VARIANTS:
        agent = MEDIANS.get((variant, count))
        if agent is not None:
            ratios = (round(agent[0] / wall, 2), round(agent[1] / cpu_median, 2))
            benchmark.extra_info[f"{variant}_to_{name}_wall_ratio"] = ratios[0]
            benchmark.extra_info[f"{variant}_to_{name}_cpu_ratio"] = ratios[1]
            print(f"{count} prefixes: {variant}/{name} = {ratios[0]} (wall), {ratios[1]} (CPU)")


AGENT_VARIANTS = ("agent", "agent_untracked")


@pytest.fixture(scope="module", params=[pytest.param(10_000, id="10k"), pytest.param(100_000, id="100k")])
def count(request: pytest.FixtureRequest) -> int:
    """The number of prefixes. Module-scoped so that pytest runs every speaker at one size
    before the next size: the figures compared are minutes apart, not a quarter of an hour
    (the load of this shared machine changes in between)."""
    return int(request.param)


@pytest.mark.parametrize(
    "track_sent",
    # untracked: what the stop guarantee costs (ExaBGP no longer decodes and reports what it sends)
    [pytest.param(True, id="tracked"), pytest.param(False, id="untracked")],
)
def test_bgp_bulk_agent(benchmark: Any, lab: EcmpLab, count: int, track_sent: bool) -> None:
    if not track_sent and count != 10_000:
        pytest.skip("the agent without track_sent is measured at 10,000 prefixes only")
    node = lab.nodes[0]
    cfg = node.base_config(services=[], ipv6=False, directory=True, max_prefixes=count + 100, batch=BATCH)
    # the bulk service has no health check, so the agent runs none (the lab's exec check
    # would fork /usr/bin/test five times a second: CPU that is not the announcement's)
    cfg["checks"] = {}
    cfg["exabgp"]["track_sent"] = track_sent
    node.write_config(cfg)
    node.start()
    try:
        lab.wait_established(v6=False)
        text = yaml.safe_dump([{"name": "bulk", "prefixes": prefixes(count)}])
        assert node.proc is not None
        benchmark.extra_info["rss_mib_idle"] = round(process_tree_rss(node.proc.pid) / 2**20, 1)
        peak: list[int] = []

        def announce() -> None:
            tmp = node.services_dir / ".bulk.tmp"
            tmp.write_text(text)
            tmp.rename(node.services_dir / "bulk.yaml")  # atomic: the source never reads half a file

        def withdraw() -> None:
            assert node.proc is not None
            if (node.services_dir / "bulk.yaml").exists():
                peak.append(process_tree_rss(node.proc.pid))
            (node.services_dir / "bulk.yaml").unlink(missing_ok=True)

        pid = node.proc.pid
        cpu = run_rounds(benchmark, lab, count, announce, withdraw, lambda: process_tree_cpu_by_role(pid, AGENT_ROLES, "agent"))
        benchmark.extra_info["rss_mib_announced"] = [round(r / 2**20, 1) for r in peak]
        benchmark.extra_info["what"] = f"agent + ExaBGP + relay, directory source polled every 50 ms, track_sent {track_sent}"
        report(benchmark, AGENT_VARIANTS[0 if track_sent else 1], count, cpu)
    finally:
        node.stop()
        wait_until(lambda: not lab.established(node), 30, "agent session down")


def test_bgp_bulk_raw_exabgp(benchmark: Any, lab: EcmpLab, count: int, tmp_path: Any) -> None:
    node = lab.nodes[0]
    raw = RawExaBGP(node, tmp_path / "raw", prefixes(count), BATCH)
    try:
        lab.wait_established(v6=False)
        peak: list[int] = []

        def withdraw() -> None:
            peak.append(process_tree_rss(raw.proc.pid))
            raw.withdraw()

        def cpu_now() -> dict[str, float]:
            return process_tree_cpu_by_role(raw.proc.pid, RAW_ROLES, "exabgp")

        cpu = run_rounds(benchmark, lab, count, raw.announce, withdraw, cpu_now)
        benchmark.extra_info["rss_mib_announced"] = [round(r / 2**20, 1) for r in peak[1:]]
        benchmark.extra_info["what"] = f"ExaBGP 5.0.15 + minimal API script, batches of {BATCH}, reactor.speed 0.1"
        report(benchmark, "raw_exabgp", count, cpu)
        agent = MEDIANS.get(("agent", count))
        if count == 10_000 and agent is not None:
            ratio = agent[1] / MEDIANS[("raw_exabgp", count)][1]
            assert ratio <= TARGET_RATIO, f"agent/raw ExaBGP CPU {ratio:.2f} over the target {TARGET_RATIO}"
    finally:
        raw.stop()
        wait_until(lambda: not lab.established(node), 30, "raw ExaBGP session down")


def test_bgp_bulk_gobgp(benchmark: Any, lab: EcmpLab, count: int, tmp_path: Any) -> None:
    node = lab.nodes[0]
    gobgp = GoBGP(node, tmp_path / "gobgp", prefixes(count))
    try:
        lab.wait_established(v6=False)
        peak: list[int] = []

        def withdraw() -> None:
            peak.append(process_tree_rss(gobgp.proc.pid))
            gobgp.withdraw()

        cpu = run_rounds(benchmark, lab, count, gobgp.announce, withdraw, gobgp.cpu)
        benchmark.extra_info["rss_mib_announced"] = [round(r / 2**20, 1) for r in peak[1:]]
        benchmark.extra_info["what"] = "gobgpd, routes injected by `gobgp mrt inject global` (one gRPC stream)"
        report(benchmark, "gobgp", count, cpu)
    finally:
        gobgp.stop()
        wait_until(lambda: not lab.established(node), 30, "GoBGP session down")
        time.sleep(0.1)
