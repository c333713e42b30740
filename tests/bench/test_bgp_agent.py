"""Benchmarks of bgp-agent against a real FRR leaf (real ExaBGP, network namespaces).

Run: ``.venv/bin/pytest tests/bench --benchmark-only -k bgp`` (root + FRR). Each benchmark
times one event end to end, from the change on the node to the leaf's kernel FIB:

- health failure -> withdrawal in the leaf FIB   (target: fall x interval + 100 ms)
- new desired prefix -> route in the leaf FIB    (target: < 200 ms + rise time; no check here)
- 10,000 prefixes from one node -> all in FIB    (target: < 4 s); also the agent's RSS
- SIGKILL of the agent, restart -> leaf refreshed (graceful restart; the FIB never changes,
  asserted in tests/bgp/e2e)

Each benchmark with a target asserts it on the median. The latencies are asserted on wall
time (they are timer-bound: poll and check intervals, not CPU); the 10,000-prefix target is
asserted on the CPU time the agent's process tree (agent, ExaBGP, relay) spends, because its
wall time mostly measures how busy the shared 2-core machine and the leaf are (1.4 s on one
machine, 4.6 s on another); the wall median is reported next to it.

The agent's RSS (agent + ExaBGP + relay, idle and with 10,000 prefixes) is recorded in the
10k benchmark's ``extra_info``: add ``--benchmark-json=FILE`` to see it.
"""

from __future__ import annotations

import ipaddress
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from fabric.lab import cleanup_stale, missing_requirements, wait_until
from tests.bgp.e2e.ecmp_lab import BGP_AGENT, BULK_RANGE, SERVICE_V4, AgentNode, EcmpLab

_reason = missing_requirements() or (None if os.access(BGP_AGENT, os.X_OK) else f"{BGP_AGENT} is not installed")
pytestmark = [pytest.mark.lab, pytest.mark.skipif(_reason is not None, reason=_reason or "")]

INTERVAL, FALL, RISE = 0.2, 2, 2
BULK = 10_000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def assert_median_within(benchmark: Any, target_s: float, samples: list[float] | None = None, what: str = "wall") -> None:
    """The median of ``samples`` (default: the benchmark's own wall times) is at most
    ``target_s``. With ``--benchmark-disable`` there are no statistics: nothing to assert."""
    if samples is None:
        stats = getattr(benchmark, "stats", None)
        if stats is None:
            return
        median = float(stats.stats.median)
    else:
        median = sorted(samples)[len(samples) // 2]
    benchmark.extra_info[f"{what}_median_s"] = round(median, 3)
    assert median <= target_s, f"{what} median {median:.3f} s over the target {target_s} s"


@pytest.fixture(scope="module")
def bench_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EcmpLab]:
    """One leaf and one node whose agent runs for the whole module (health check on its
    flag file, directory source polled every 50 ms)."""
    cleanup_stale()
    topo = EcmpLab.build(tmp_path_factory.mktemp("bgp-bench"), n_nodes=1, max_prefixes=BULK + 1000)
    try:
        node = topo.nodes[0]
        cfg = node.base_config(
            ipv6=False, interval=INTERVAL, rise=RISE, fall=FALL, directory=True, max_prefixes=BULK + 100, batch=1000
        )
        node.write_config(cfg)
        node.start()
        topo.wait_established(v6=False)
        topo.wait_gateways(SERVICE_V4, {node.v4})
        yield topo
    finally:
        topo.close()


def bgp_route_count(topo: EcmpLab) -> int:
    # text output and a line count: parsing 10,000 routes as JSON at every poll would steal
    # the CPU the leaf needs to install them
    out = topo.leaf.ip("-4", "route", "show", "proto", "bgp", "root", BULK_RANGE).stdout
    return out.count("\n")


def test_bgp_health_failure_to_withdrawal(benchmark: Any, bench_lab: EcmpLab) -> None:
    node = bench_lab.nodes[0]

    def setup() -> tuple[tuple[()], dict[str, Any]]:
        node.set_healthy(True)
        bench_lab.wait_gateways(SERVICE_V4, {node.v4})
        # let the check settle at UP with a full success run
        wait_until(lambda: node.status().get("checks", {}).get("flag", {}).get("status") == "up", 10, "check up")
        return (), {}

    def fail_and_wait() -> None:
        node.set_healthy(False)
        wait_until(lambda: bench_lab.route(SERVICE_V4) is None, 10, "withdrawal in the leaf FIB", interval=0.002)

    benchmark.extra_info["target_s"] = FALL * INTERVAL + 0.1
    benchmark.pedantic(fail_and_wait, setup=setup, rounds=10, iterations=1)
    node.set_healthy(True)
    assert_median_within(benchmark, FALL * INTERVAL + 0.1)


def test_bgp_new_prefix_to_leaf_fib(benchmark: Any, bench_lab: EcmpLab) -> None:
    node = bench_lab.nodes[0]
    counter = iter(range(1, 200))
    current: dict[str, str] = {}

    def setup() -> tuple[tuple[()], dict[str, Any]]:
        for f in node.services_dir.glob("new*.yaml"):
            f.unlink()
        if current:
            wait_until(lambda: bench_lab.route(current["prefix"]) is None, 10, "previous prefix withdrawn")
        current["prefix"] = f"192.0.2.{next(counter)}/32"
        return (), {}

    def publish_and_wait() -> None:
        prefix = current["prefix"]
        tmp = node.services_dir / ".new.tmp"
        tmp.write_text(yaml.safe_dump([{"name": "fresh", "prefixes": [prefix]}]))
        tmp.rename(node.services_dir / "new.yaml")  # atomic: the source never reads half a file
        wait_until(lambda: bench_lab.route(prefix) is not None, 10, f"{prefix} in the leaf FIB", interval=0.002)

    benchmark.extra_info["target_s"] = 0.2
    benchmark.extra_info["note"] = "directory source polled every 50 ms, service without a check (rise time 0)"
    benchmark.pedantic(publish_and_wait, setup=setup, rounds=10, iterations=1)
    for f in node.services_dir.glob("new*.yaml"):
        f.unlink()
    assert_median_within(benchmark, 0.2)


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (the agent, ExaBGP, the relay)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except FileNotFoundError:
            continue
    return found


def process_tree_cpu(pid: int, tree: bool = True) -> float:
    """CPU seconds (user + system) spent so far by ``pid`` and (``tree``) its living descendants."""
    total = 0
    for p in process_tree(pid) if tree else [pid]:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / CLOCK_TICKS


def process_tree_rss(pid: int) -> int:
    """RSS in bytes of ``pid`` and all its descendants (the agent, ExaBGP, the relay)."""
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                total += sum(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
        except FileNotFoundError:
            continue
    return total


def test_bgp_10k_prefixes_to_leaf_fib(benchmark: Any, bench_lab: EcmpLab) -> None:
    node = bench_lab.nodes[0]
    net = ipaddress.ip_network(BULK_RANGE)
    prefixes = [f"{net[i]}/32" for i in range(1, BULK + 1)]
    text = yaml.safe_dump([{"name": "bulk", "prefixes": prefixes}])
    rss: list[int] = []
    cpu: list[float] = []
    agent_cpu: list[float] = []
    assert node.proc is not None
    benchmark.extra_info["agent_tree_rss_mib_idle"] = round(process_tree_rss(node.proc.pid) / 2**20, 1)

    def setup() -> tuple[tuple[()], dict[str, Any]]:
        (node.services_dir / "bulk.yaml").unlink(missing_ok=True)
        wait_until(lambda: bgp_route_count(bench_lab) == 0, 180, "bulk prefixes withdrawn", interval=0.1)
        return (), {}

    def publish_and_wait() -> None:
        assert node.proc is not None
        cpu0, agent0 = process_tree_cpu(node.proc.pid), process_tree_cpu(node.proc.pid, tree=False)
        tmp = node.services_dir / ".bulk.tmp"
        tmp.write_text(text)
        tmp.rename(node.services_dir / "bulk.yaml")
        wait_until(lambda: bgp_route_count(bench_lab) >= BULK, 60, f"{BULK} routes in the leaf FIB", interval=0.05)
        cpu.append(process_tree_cpu(node.proc.pid) - cpu0)
        agent_cpu.append(process_tree_cpu(node.proc.pid, tree=False) - agent0)
        rss.append(process_tree_rss(node.proc.pid))

    benchmark.extra_info["target_s"] = 4.0
    benchmark.pedantic(publish_and_wait, setup=setup, rounds=3, iterations=1)
    benchmark.extra_info["agent_tree_rss_mib_with_10k"] = [round(r / 2**20, 1) for r in rss]
    benchmark.extra_info["agent_tree_cpu_s"] = [round(c, 3) for c in cpu]
    benchmark.extra_info["agent_process_cpu_s"] = [round(c, 3) for c in agent_cpu]
    (node.services_dir / "bulk.yaml").unlink(missing_ok=True)
    wait_until(lambda: bgp_route_count(bench_lab) == 0, 180, "bulk prefixes withdrawn", interval=0.1)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        benchmark.extra_info["wall_median_s"] = round(float(stats.stats.median), 3)
    assert_median_within(benchmark, 4.0, cpu, what="cpu")


def _path_of(topo: EcmpLab, node: AgentNode) -> dict[str, Any] | None:
    for p in topo.bgp_paths(SERVICE_V4):
        if p.get("peer", {}).get("peerId") == node.v4:
            return p
    return None


def test_bgp_sigkill_restart_to_refreshed(benchmark: Any, bench_lab: EcmpLab) -> None:
    """From the restart of a SIGKILLed agent until the leaf has the path refreshed (not
    stale). The route stays in the FIB all the time (tests/bgp/e2e asserts it)."""
    node = bench_lab.nodes[0]
    node.set_healthy(True)

    def setup() -> tuple[tuple[()], dict[str, Any]]:
        bench_lab.wait_gateways(SERVICE_V4, {node.v4})
        node.send_signal(signal.SIGKILL)
        assert node.proc is not None
        node.proc.wait(10)
        wait_until(lambda: not bench_lab.established(node), 20, "session down")
        return (), {}

    def restart_and_wait() -> None:
        node.start()

        def refreshed() -> bool:
            p = _path_of(bench_lab, node)
            return p is not None and not p.get("stale")

        wait_until(refreshed, 30, "path refreshed", interval=0.01)
        assert bench_lab.route(SERVICE_V4) is not None

    benchmark.pedantic(restart_and_wait, setup=setup, rounds=3, iterations=1)
