"""How fast a failure takes a node out of the leaf's FIB (real agent, ExaBGP, FRR leaf):

- a resolver that dies (its port now refused: ICMP port unreachable) -> the route withdrawn
  from the leaf's FIB; target interval x fall + 100 ms (the dns check takes the refusal
  as a failure at once instead of waiting for its timeout);
- a node that falls silent (nothing reaches the leaf, the link stays up) -> its path gone
  from the leaf's FIB; bounded by hold time + restart time (FRR drops the paths at
  hold-timer expiry, see docs/bgp-agent.md).

Run: ``.venv/bin/pytest tests/bench/test_bgp_failures.py --benchmark-only`` (root + FRR).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bgp.config import RESTART_TIME
from fabric.lab import cleanup_stale, missing_requirements, wait_until
from tests.bench.bgp_references import assert_median_within
from tests.bgp.e2e.ecmp_lab import BGP_AGENT, SERVICE_V4, AgentNode, EcmpLab

_reason = missing_requirements() or (None if os.access(BGP_AGENT, os.X_OK) else f"{BGP_AGENT} is not installed")
pytestmark = [pytest.mark.lab, pytest.mark.skipif(_reason is not None, reason=_reason or "")]

INTERVAL, FALL, HOLD = 0.5, 2, 3
RESPONDER = str(Path(__file__).parents[1] / "bgp" / "e2e" / "dns_responder.py")
NAME = "resolver.shownet.example."
ANYCAST = SERVICE_V4.split("/")[0]


class Resolver:
    """The node's resolver on the anycast address (dns_responder.py stands in for unbound)."""

    def __init__(self, node: AgentNode) -> None:
        self.node = node
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self.node.host.popen([sys.executable, RESPONDER, ANYCAST, NAME, self.node.v4])

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def dns_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EcmpLab, Resolver]]:
    cleanup_stale()
    topo = EcmpLab.build(tmp_path_factory.mktemp("bgp-failures"), n_nodes=1)
    resolver: Resolver | None = None
    try:
        node = topo.nodes[0]
        node.host.add_loopback(SERVICE_V4)
        resolver = Resolver(node)
        resolver.start()
        cfg = node.base_config(services=[{"name": "dns", "prefixes": [SERVICE_V4], "check": "dns"}], ipv6=False, hold_time=HOLD)
        cfg["checks"]["dns"] = {
            "kind": "dns",
            "server": ANYCAST,  # the address the resolver listens on
            "qname": NAME,
            "interval": INTERVAL,
            "timeout": INTERVAL,
            "rise": 2,
            "fall": FALL,
        }
        node.write_config(cfg)
        node.start()
        topo.wait_gateways(SERVICE_V4, {node.v4}, timeout=60)
        yield topo, resolver
    finally:
        if resolver is not None:
            resolver.kill()
        topo.close()


def test_bgp_refused_port_to_withdrawal(benchmark: Any, dns_lab: tuple[EcmpLab, Resolver]) -> None:
    topo, resolver = dns_lab
    node = topo.nodes[0]

    def setup() -> tuple[tuple[()], dict[str, Any]]:
        resolver.start()
        topo.wait_gateways(SERVICE_V4, {node.v4}, timeout=30)
        # a full run of successes: the next failure starts from a clean UP
        wait_until(lambda: node.status().get("checks", {}).get("dns", {}).get("oks", 0) >= 2, 10, "check up")
        return (), {}

    def kill_and_wait() -> None:
        resolver.kill()
        wait_until(lambda: topo.route(SERVICE_V4) is None, 10, "withdrawal in the leaf FIB", interval=0.002)

    benchmark.extra_info["target_s"] = INTERVAL * FALL + 0.1
    benchmark.extra_info["check"] = f"dns, interval {INTERVAL} s, timeout {INTERVAL} s, fall {FALL}"
    benchmark.pedantic(kill_and_wait, setup=setup, rounds=8, iterations=1)
    resolver.start()
    assert_median_within(benchmark, INTERVAL * FALL + 0.1)


def test_bgp_node_death_to_paths_gone(benchmark: Any, dns_lab: tuple[EcmpLab, Resolver]) -> None:
    topo, resolver = dns_lab
    node = topo.nodes[0]
    resolver.start()

    def setup() -> tuple[tuple[()], dict[str, Any]]:
        node.fall_silent(False)
        topo.wait_gateways(SERVICE_V4, {node.v4}, timeout=60)
        return (), {}

    def die_and_wait() -> None:
        node.fall_silent()
        wait_until(lambda: topo.route(SERVICE_V4) is None, HOLD + RESTART_TIME + 10, "paths gone", interval=0.01)

    benchmark.extra_info["bound_s"] = HOLD + RESTART_TIME
    benchmark.extra_info["how"] = f"blackhole routes node->leaf, hold time {HOLD} s, restart time {RESTART_TIME} s"
    try:
        benchmark.pedantic(die_and_wait, setup=setup, rounds=3, iterations=1)
    finally:
        node.fall_silent(False)
    assert_median_within(benchmark, HOLD + RESTART_TIME)
