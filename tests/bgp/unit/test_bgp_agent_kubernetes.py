"""The agent with its Kubernetes source: the real ``kubernetes`` client against the local
test API server (tests/bgp/k8s), the real ExaBGP behind it. No BGP session is needed: a
prefix counts as announced once ExaBGP has acknowledged it into its RIB."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.bgp.k8s.k8s_apiserver import LocalApiServer

BGP_AGENT = str(Path(sys.executable).with_name("bgp-agent"))


def lb_service(name: str, ip: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"namespace": "default", "name": name, "annotations": annotations or {}},
        "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Cluster", "ports": [{"port": 53, "protocol": "UDP"}]},
        "status": {"loadBalancer": {"ingress": [{"ip": ip}]}},
    }


def ready_slice(service: str) -> dict[str, Any]:
    """An EndpointSlice with one ready endpoint on another node: a Cluster service is
    announced only while it has one."""
    return {
        "metadata": {"namespace": "default", "name": f"{service}-1", "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.0.1.5"], "nodeName": "node-b", "conditions": {"ready": True}}],
        "ports": [{"port": 53, "protocol": "UDP"}],
    }


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


@pytest.fixture
def apiserver() -> Iterator[LocalApiServer]:
    server = LocalApiServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_agent_follows_kubernetes_services(tmp_path: Path, apiserver: LocalApiServer) -> None:
    state = tmp_path / "state"
    cfg = {
        "asn": 65101,
        "router_id": "127.0.0.1",
        "metrics": None,
        "state_dir": str(state),
        # a peer that never answers: ExaBGP keeps trying, and still acks RIB changes
        "peers": [{"address": "127.0.0.2", "asn": 65001, "local_address": "127.0.0.1"}],
        "guard": {"allowed_ranges": ["192.0.2.0/24"]},
        "sources": {"kubernetes": {"node_name": "node-a", "host": apiserver.url, "backoff_initial": 0.1, "backoff_max": 0.5}},
        "log": {"format": "text", "level": "info"},
    }
    (tmp_path / "agent.yaml").write_text(yaml.safe_dump(cfg))
    log = (tmp_path / "agent.log").open("wb")
    proc = subprocess.Popen([BGP_AGENT, "run", "-c", str(tmp_path / "agent.yaml")], stdout=log, stderr=subprocess.STDOUT)

    def status() -> dict[str, Any]:
        r = subprocess.run([BGP_AGENT, "status", "--json", "--state-dir", str(state)], capture_output=True, text=True)
        return dict(json.loads(r.stdout)) if r.returncode == 0 else {}

    def prefixes() -> dict[str, str]:
        return {p["prefix"]: p["state"] for p in status().get("prefixes", [])}

    try:
        wait_for("the agent", status)
        # a second agent on the same state dir refuses to start
        second = subprocess.run([BGP_AGENT, "run", "-c", str(tmp_path / "agent.yaml")], capture_output=True, text=True,
                                timeout=20)
        assert second.returncode == 1
        assert "another bgp-agent is running" in second.stderr
        assert status(), "the first agent still answers"
        for name in ("dns", "outside", "web"):
            apiserver.apply("endpointslices", ready_slice(name))
        apiserver.apply("services", lb_service("dns", "192.0.2.53"))
        apiserver.apply("services", lb_service("outside", "198.51.100.1"))
        apiserver.apply("services", lb_service("optout", "192.0.2.99", {"leafspine.io/announce": "false"}))
        wait_for("dns announced", lambda: prefixes() == {"192.0.2.53/32": "announced", "198.51.100.1/32": "refused"})

        apiserver.delete("services", "default", "dns")
        wait_for("dns withdrawn", lambda: "192.0.2.53/32" not in prefixes())

        # An API outage keeps the last known set, and says so.
        apiserver.apply("services", lb_service("web", "192.0.2.80"))
        wait_for("web announced", lambda: prefixes().get("192.0.2.80/32") == "announced")
        apiserver.stop()
        src = wait_for("source stale", lambda: [s for s in status().get("sources", []) if s["stale"]])
        assert src[0]["name"] == "kubernetes" and src[0]["sync_errors"] >= 1
        assert prefixes().get("192.0.2.80/32") == "announced"

        # Killed and restarted while the API is still down: the last known view, saved in
        # the state dir, is announced again (so the restart stays hitless for the leaves).
        time.sleep(1.2)  # the view is saved at most once a second
        proc.kill()
        proc.wait()
        proc = subprocess.Popen([BGP_AGENT, "run", "-c", str(tmp_path / "agent.yaml")], stdout=log, stderr=subprocess.STDOUT)
        wait_for("web announced from the saved view", lambda: prefixes().get("192.0.2.80/32") == "announced")
        assert [s["synced"] for s in status()["sources"]] == [False]

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
