"""End to end: real bgp-agent + real ExaBGP in three node namespaces, one real FRR leaf.

Every assertion is on the leaf: its kernel FIB (``ip -j route`` in the leaf namespace) and,
where the FIB cannot tell (a drained path, a refused route), its BGP table.
"""

from __future__ import annotations

import json
import re
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from fabric.lab import cleanup_stale, wait_until
from tests.bgp.e2e.ecmp_lab import OUTSIDE_V4, REPO, SERVICE_V4, SERVICE_V6, AgentNode, EcmpLab, fabric_policy

pytestmark = [pytest.mark.lab, pytest.mark.slow]

FAMILIES = [pytest.param(4, id="ipv4"), pytest.param(6, id="ipv6")]


def service(family: int) -> str:
    return SERVICE_V4 if family == 4 else SERVICE_V6


def addr(node: AgentNode, family: int) -> str:
    return node.v4 if family == 4 else node.v6


def start_all(ecmp: EcmpLab, **cfg: Any) -> None:
    for n in ecmp.nodes:
        n.write_config(n.base_config(**cfg))
        n.start()


def all_gateways(ecmp: EcmpLab, family: int, nodes: list[AgentNode] | None = None) -> set[str]:
    return {addr(n, family) for n in (ecmp.nodes if nodes is None else nodes)}


@pytest.mark.parametrize("family", FAMILIES)
def test_three_nodes_ecmp_follows_health(ecmp: EcmpLab, family: int) -> None:
    start_all(ecmp)
    n1, n2, n3 = ecmp.nodes
    prefix = service(family)
    ecmp.wait_gateways(prefix, all_gateways(ecmp, family))
    route = ecmp.route(prefix)
    assert route is not None and len(route.nexthops) == 3 and route.protocol == "bgp"

    n2.set_healthy(False)  # fall=2 x interval=0.2 s
    ecmp.wait_gateways(prefix, all_gateways(ecmp, family, [n1, n3]))
    assert {p["prefix"]: p["state"] for p in n2.status()["prefixes"]}[prefix] == "withdrawn-unhealthy"

    n2.set_healthy(True)
    ecmp.wait_gateways(prefix, all_gateways(ecmp, family))


@pytest.mark.parametrize("family", FAMILIES)
def test_drain_leaves_ecmp_group_while_route_stays(ecmp: EcmpLab, family: int) -> None:
    start_all(ecmp, drain_delay="120s")
    n1, n2, n3 = ecmp.nodes
    prefix = service(family)
    ecmp.wait_gateways(prefix, all_gateways(ecmp, family))

    n1.cli("drain")
    ecmp.wait_gateways(prefix, all_gateways(ecmp, family, [n2, n3]))
    # the drained path is still there (no blackhole if the others go), just least preferred
    paths = {p.get("peer", {}).get("peerId"): p for p in ecmp.bgp_paths(prefix)}
    drained = paths[addr(n1, family)]
    assert drained.get("locPrf") == 0
    assert drained.get("community", {}).get("string") == "graceful-shutdown"  # FRR's name for 65535:0
    assert all(paths[addr(n, family)].get("multipath") for n in (n2, n3))
    assert n1.status()["draining"] is True

    n1.cli("undrain")
    ecmp.wait_gateways(prefix, all_gateways(ecmp, family))


def test_drain_withdraws_after_the_delay(ecmp: EcmpLab) -> None:
    start_all(ecmp, drain_delay="1s")
    n1, n2, n3 = ecmp.nodes
    ecmp.wait_gateways(SERVICE_V4, all_gateways(ecmp, 4))
    n1.send_signal(signal.SIGUSR1)  # the signal form of `bgp-agent drain`
    ecmp.wait_gateways(SERVICE_V4, all_gateways(ecmp, 4, [n2, n3]))

    def n1_path_gone() -> bool:
        return n1.v4 not in {p.get("peer", {}).get("peerId") for p in ecmp.bgp_paths(SERVICE_V4)}

    wait_until(n1_path_gone, 15, "n1's drained path to be withdrawn after drain.delay")
    assert n1.proc is not None and n1.proc.poll() is None  # drained, still running


@pytest.mark.parametrize("family", FAMILIES)
def test_sigterm_withdraws_before_exit(ecmp: EcmpLab, family: int) -> None:
    start_all(ecmp)
    n1, n2, n3 = ecmp.nodes
    prefix = service(family)
    ecmp.wait_gateways(prefix, all_gateways(ecmp, family))

    ecmp.leaf.vtysh("debug bgp updates in")
    assert n1.stop(signal.SIGTERM) == 0
    # graceful restart is on: had the agent not withdrawn first, the leaf would keep n1's
    # path as stale for restart_time (15 s) and the FIB would still show three next hops
    ecmp.wait_gateways(prefix, all_gateways(ecmp, family, [n2, n3]), timeout=10)
    assert addr(n1, family) not in {p.get("peer", {}).get("peerId") for p in ecmp.bgp_paths(prefix)}
    # and the leaf's log shows why: an explicit withdrawal, then the session going down
    peer = re.escape(addr(n1, family))
    log = (ecmp.leaf.rundir / "bgpd.log").read_text()
    withdrawn = re.search(rf"{peer}\S* rcvd UPDATE about {re.escape(prefix)} .*-- withdrawn", log)
    downs = list(re.finditer(rf"neighbor {peer}\S* .*Down", log))  # the last one is the stop
    assert withdrawn and downs and withdrawn.start() < downs[-1].start(), log[-2000:]


def test_announcement_outside_the_service_ranges_is_refused_by_the_leaf(ecmp: EcmpLab) -> None:
    # The leaf policy here is our own (handwritten_policy in ecmp_lab.py), the one the other
    # tests use; the next test runs the same refusal against the policy fabric renders.
    n1 = ecmp.nodes[0]
    too_wide = "192.0.2.128/28"  # inside the range but not a host route
    cfg = n1.base_config(
        services=[
            {"name": "dns", "prefixes": [SERVICE_V4], "check": "flag"},
            {"name": "rogue", "prefixes": [OUTSIDE_V4, too_wide]},
        ],
        ipv6=False,
        allowed=("192.0.2.0/24", "198.51.100.0/24"),  # the node's own guard is (mis)configured wider
    )
    cfg["guard"]["ipv4_lengths"] = [28, 32]
    n1.write_config(cfg)
    n1.start()
    ecmp.wait_gateways(SERVICE_V4, {n1.v4})
    # the leaf did receive both (soft-reconfiguration keeps them) ...
    wait_until(lambda: {OUTSIDE_V4, too_wide} <= ecmp.received(n1), 20, "the leaf to receive the rogue prefixes")
    # ... and its import policy refused them: not in BGP, not in the FIB
    assert ecmp.bgp_paths(OUTSIDE_V4) == [] and ecmp.route(OUTSIDE_V4) is None
    assert ecmp.bgp_paths(too_wide) == [] and ecmp.route(too_wide) is None


def test_leaf_policy_rendered_by_fabric_refuses_out_of_range_and_honours_drain(tmp_path: Path) -> None:
    """The leaf runs the Kubernetes import policy that `fabric` renders for leaf1 of
    inventories/lab (prefix lists from the cluster's service ranges, GSHUT route-maps)."""
    policy = fabric_policy(REPO / "inventories" / "lab", "leaf1")
    assert policy.ranges4 == ("198.51.100.0/24",) and policy.ranges6 == ("2001:db8:5e::/64",)
    inside4, inside6 = "198.51.100.53/32", "2001:db8:5e::53/128"
    outside4, outside6, too_wide = "192.0.2.99/32", "2001:db8:53::99/128", "198.51.100.128/28"
    cleanup_stale()
    ecmp = EcmpLab.build(tmp_path, policy=policy)
    try:
        n1, n2, n3 = ecmp.nodes
        for n in ecmp.nodes:
            services: list[dict[str, object]] = [{"name": "dns", "prefixes": [inside4, inside6], "check": "flag"}]
            if n is n1:  # n1's own guard is (mis)configured too wide: only the leaf stops it
                services.append({"name": "rogue", "prefixes": [outside4, outside6, too_wide]})
            cfg = n.base_config(services=services, allowed=("192.0.2.0/24", "198.51.100.0/24", "2001:db8::/32"))
            cfg["guard"]["ipv4_lengths"] = [28, 32]
            n.write_config(cfg)
            n.start()
        ecmp.wait_gateways(inside4, {n.v4 for n in ecmp.nodes})
        ecmp.wait_gateways(inside6, {n.v6 for n in ecmp.nodes})
        wait_until(lambda: {outside4, too_wide} <= ecmp.received(n1), 20, "the leaf to receive n1's rogue v4 prefixes")
        wait_until(lambda: outside6 in ecmp.received(n1, v6=True), 20, "the leaf to receive n1's rogue v6 prefix")
        for prefix in (outside4, outside6, too_wide):
            assert ecmp.bgp_paths(prefix) == [] and ecmp.route(prefix) is None, prefix

        n2.cli("drain")  # the fabric's GSHUT route-map takes n2 out of the ECMP group
        ecmp.wait_gateways(inside4, {n1.v4, n3.v4})
        ecmp.wait_gateways(inside6, {n1.v6, n3.v6})
        assert any(p.get("peer", {}).get("peerId") == n2.v4 for p in ecmp.bgp_paths(inside4))
    finally:
        ecmp.close()


CLIENT_QUERIES = """
import json, sys
import dns.message, dns.query
answers = []
for i in range(int(sys.argv[2])):
    q = dns.message.make_query(sys.argv[1], "A")
    try:
        r = dns.query.udp(q, "192.0.2.53", timeout=1)  # a new source port each time
        answers.append(r.answer[0][0].address if r.answer else "")
    except Exception as e:
        answers.append("error: " + type(e).__name__)
print(json.dumps(answers))
"""


def test_shownet_anycast_dns_spread_by_ecmp_and_withdrawn_when_unhealthy(ecmp: EcmpLab) -> None:
    """The ShowNet case: every node runs a resolver on the anycast address 192.0.2.53 and
    announces it while a dns check against it answers; a client behind the leaf is served
    by several nodes (ECMP), and a node whose resolver dies leaves the group."""
    name = "resolver.shownet.example."
    responder = str(Path(__file__).with_name("dns_responder.py"))
    client = ecmp.add_client()
    resolvers = {}
    for n in ecmp.nodes:
        n.host.add_loopback(SERVICE_V4)
        resolvers[n.host.name] = n.host.popen([sys.executable, responder, "192.0.2.53", name, n.v4])
        cfg = n.base_config(services=[{"name": "dns", "prefixes": [SERVICE_V4], "check": "dns"}], ipv6=False)
        cfg["checks"]["dns"] = {
            "kind": "dns",
            "server": "192.0.2.53",
            "qname": name,
            "interval": 0.2,
            "timeout": 0.2,
            "rise": 2,
            "fall": 2,
        }
        n.write_config(cfg)
        n.start()
    ecmp.wait_gateways(SERVICE_V4, all_gateways(ecmp, 4))

    def ask(count: int) -> list[str]:
        out = client.exec(sys.executable, "-c", CLIENT_QUERIES, name, str(count), timeout=60).stdout
        return list(json.loads(out))

    answers = ask(30)
    assert set(answers) <= all_gateways(ecmp, 4), answers  # every query answered by some node
    assert len(set(answers)) >= 2, f"ECMP should spread 30 queries over several nodes: {answers}"

    n2 = ecmp.nodes[1]
    resolvers[n2.host.name].kill()
    resolvers[n2.host.name].wait()
    ecmp.wait_gateways(SERVICE_V4, all_gateways(ecmp, 4, [ecmp.nodes[0], ecmp.nodes[2]]))
    answers = ask(20)
    assert n2.v4 not in answers and set(answers) <= all_gateways(ecmp, 4), answers
