"""Bulk announcement speed, side by side in one run on one machine: the agent, raw ExaBGP
5.0.15 driven by a minimal API script, and GoBGP, each alone on the same node, into the same
real FRR leaf. Timed: from the request (services file written / command to the API script /
``gobgp mrt inject`` started) until every route is in the leaf's kernel FIB.

Run: ``.venv/bin/pytest tests/bench/test_bgp_speed.py --benchmark-only -s`` (root + FRR +
gobgpd). ``-s`` shows the ratios; ``--benchmark-json=FILE`` also records them and the RSS
(``extra_info``). The references are described in tests/bench/bgp_references.py.
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
from tests.bench.bgp_references import GoBGP, RawExaBGP, process_tree_rss
from tests.bgp.e2e.ecmp_lab import BGP_AGENT, BULK_RANGE, EcmpLab

_reason = (
    missing_requirements()
    or (None if os.access(BGP_AGENT, os.X_OK) else f"{BGP_AGENT} is not installed")
    or (None if shutil.which("gobgpd") else "gobgpd is not installed (Debian package gobgpd, make setup)")
)
pytestmark = [pytest.mark.lab, pytest.mark.skipif(_reason is not None, reason=_reason or "")]

SIZES = [pytest.param(10_000, id="10k"), pytest.param(100_000, id="100k")]
ROUNDS = {10_000: 3, 100_000: 1}
BATCH = 1000
MEDIANS: dict[tuple[str, int], float] = {}


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
    benchmark: Any, topo: EcmpLab, count: int, announce: Callable[[], None], withdraw: Callable[[], None]
) -> float:
    timeout = 60 + count / 250  # generous: the leaf installs every route in its kernel

    def setup() -> tuple[tuple[()], dict[str, Any]]:
        withdraw()
        wait_until(lambda: fib_count(topo) == 0, timeout, "bulk routes withdrawn", interval=0.1)
        return (), {}

    def announce_and_wait() -> None:
        announce()
        wait_until(lambda: fib_count(topo) >= count, timeout, f"{count} routes in the leaf FIB", interval=0.05)

    benchmark.pedantic(announce_and_wait, setup=setup, rounds=ROUNDS[count], iterations=1)
    withdraw()
    wait_until(lambda: fib_count(topo) == 0, timeout, "bulk routes withdrawn", interval=0.1)
    return float(benchmark.stats.stats.median)


def report(benchmark: Any, name: str, count: int, median: float) -> None:
    MEDIANS[(name, count)] = median
    agent = MEDIANS.get(("agent", count))
    if agent is not None and name != "agent":
        ratio = round(agent / median, 2)
        benchmark.extra_info[f"agent_to_{name}_ratio"] = ratio
        print(f"\n{count} prefixes: agent {agent:.2f} s, {name} {median:.2f} s: agent/{name} = {ratio}")


@pytest.mark.parametrize("count", SIZES)
def test_bgp_bulk_agent(benchmark: Any, lab: EcmpLab, count: int) -> None:
    node = lab.nodes[0]
    cfg = node.base_config(services=[], ipv6=False, directory=True, max_prefixes=count + 100, batch=BATCH)
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

        median = run_rounds(benchmark, lab, count, announce, withdraw)
        benchmark.extra_info["rss_mib_announced"] = [round(r / 2**20, 1) for r in peak]
        benchmark.extra_info["what"] = "agent + ExaBGP + relay, directory source polled every 50 ms"
        report(benchmark, "agent", count, median)
    finally:
        node.stop()
        wait_until(lambda: not lab.established(node), 30, "agent session down")


@pytest.mark.parametrize("count", SIZES)
def test_bgp_bulk_raw_exabgp(benchmark: Any, lab: EcmpLab, count: int, tmp_path: Any) -> None:
    node = lab.nodes[0]
    raw = RawExaBGP(node, tmp_path / "raw", prefixes(count), BATCH)
    try:
        lab.wait_established(v6=False)
        peak: list[int] = []

        def withdraw() -> None:
            peak.append(process_tree_rss(raw.proc.pid))
            raw.withdraw()

        median = run_rounds(benchmark, lab, count, raw.announce, withdraw)
        benchmark.extra_info["rss_mib_announced"] = [round(r / 2**20, 1) for r in peak[1:]]
        benchmark.extra_info["what"] = f"ExaBGP 5.0.15 + minimal API script, batches of {BATCH}, reactor.speed 0.1"
        report(benchmark, "raw_exabgp", count, median)
    finally:
        raw.stop()
        wait_until(lambda: not lab.established(node), 30, "raw ExaBGP session down")


@pytest.mark.parametrize("count", SIZES)
def test_bgp_bulk_gobgp(benchmark: Any, lab: EcmpLab, count: int, tmp_path: Any) -> None:
    node = lab.nodes[0]
    gobgp = GoBGP(node, tmp_path / "gobgp", prefixes(count))
    try:
        lab.wait_established(v6=False)
        peak: list[int] = []

        def withdraw() -> None:
            peak.append(process_tree_rss(gobgp.proc.pid))
            gobgp.withdraw()

        median = run_rounds(benchmark, lab, count, gobgp.announce, withdraw)
        benchmark.extra_info["rss_mib_announced"] = [round(r / 2**20, 1) for r in peak[1:]]
        benchmark.extra_info["what"] = "gobgpd, routes injected by `gobgp mrt inject global` (one gRPC stream)"
        report(benchmark, "gobgp", count, median)
    finally:
        gobgp.stop()
        wait_until(lambda: not lab.established(node), 30, "GoBGP session down")
        time.sleep(0.1)
