"""A dead service is noticed at once: its port is refused (ICMP port unreachable for the dns
check over UDP, a RST for the tcp check), which the checks take as a failure without
waiting for their timeout. Measured from the kill to the withdrawal in the leaf's FIB:
at most interval x fall (+ a reconcile pass and the leaf's install). Without the change,
each probe waited its timeout first: interval x fall + timeout in the worst case.

Real bgp-agent, ExaBGP and FRR; the resolver is dns_responder.py (standing in for unbound),
the TCP service a listening socket, both on the anycast address in the node.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from fabric.lab import wait_until
from tests.bgp.e2e.ecmp_lab import SERVICE_V4, EcmpLab

pytestmark = [pytest.mark.lab, pytest.mark.slow]
log = logging.getLogger(__name__)

INTERVAL, FALL = 0.5, 2
SLACK = 0.5  # reconcile, ExaBGP, the leaf's install, and a loaded machine
ANYCAST = SERVICE_V4.split("/")[0]
NAME = "resolver.shownet.example."
RESPONDER = str(Path(__file__).with_name("dns_responder.py"))
TCP_SERVER = f"""
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("{ANYCAST}", 5353))
s.listen(64)
while True:
    c, _ = s.accept()
    c.close()
"""


@pytest.mark.parametrize("kind", ["dns", "tcp"])
def test_a_refused_port_withdraws_within_interval_times_fall(ecmp: EcmpLab, kind: str) -> None:
    node = ecmp.nodes[0]
    node.host.add_loopback(SERVICE_V4)
    if kind == "dns":
        server = node.host.popen([sys.executable, RESPONDER, ANYCAST, NAME, node.v4])
        check: dict[str, Any] = {"kind": "dns", "server": ANYCAST, "qname": NAME}
    else:
        server = node.host.popen([sys.executable, "-c", TCP_SERVER])
        check = {"kind": "tcp", "host": ANYCAST, "port": 5353}
    check.update({"interval": INTERVAL, "timeout": INTERVAL, "rise": 2, "fall": FALL})
    cfg = node.base_config(services=[{"name": "svc", "prefixes": [SERVICE_V4], "check": "svc"}], ipv6=False)
    cfg["checks"]["svc"] = check
    node.write_config(cfg)
    node.start()
    try:
        ecmp.wait_gateways(SERVICE_V4, {node.v4}, timeout=60)
        wait_until(lambda: node.status().get("checks", {}).get("svc", {}).get("oks", 0) >= 2, 10, "a run of successes")
        killed = time.monotonic()
        server.kill()
        server.wait()
        ecmp.wait_gateways(SERVICE_V4, set(), timeout=10)
        took = time.monotonic() - killed
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    log.info("%s: service killed -> withdrawn from the leaf FIB in %.3f s (interval %s x fall %s)", kind, took, INTERVAL, FALL)
    assert took <= INTERVAL * FALL + SLACK, f"{took:.2f} s: the refusal was not taken as a failure at once"
    reason = node.status()["prefixes"][0]["reason"]
    assert reason.startswith("check not up"), reason
