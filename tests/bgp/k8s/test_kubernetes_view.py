"""Tables for the pure half of the Kubernetes source: parsing and the announce set."""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any

import pytest
from k8s_harness import endpoint_slice, service

from bgp.sources.base import DesiredService
from bgp.sources.kubernetes_view import (
    ServiceView,
    SliceView,
    compute_snapshot,
    parse_service,
    parse_slice,
)


def nets(*prefixes: str) -> frozenset[Any]:
    return frozenset(ip_network(p) for p in prefixes)


# (id, Service object, expected view)
SERVICE_CASES: list[tuple[str, dict[str, Any], ServiceView]] = [
    ("lb-v4-v6", service("a", lb_ips=("192.0.2.1", "2001:db8::1")),
     ServiceView("default", "a", addresses=nets("192.0.2.1/32", "2001:db8::1/128"))),
    ("lb-plus-external-ip", service("a", lb_ips=("192.0.2.1",), external_ips=("198.51.100.1",)),
     ServiceView("default", "a", addresses=nets("192.0.2.1/32", "198.51.100.1/32"))),
    ("lb-pending", service("a"), ServiceView("default", "a")),
    ("clusterip-external-ip", service("a", svc_type="ClusterIP", external_ips=("198.51.100.1",)),
     ServiceView("default", "a", addresses=nets("198.51.100.1/32"))),
    ("local-policy", service("a", lb_ips=("192.0.2.1",), policy="Local"),
     ServiceView("default", "a", addresses=nets("192.0.2.1/32"), local=True)),
    ("opt-out", service("a", lb_ips=("192.0.2.1",), annotations={"leafspine.io/announce": "False"}),
     ServiceView("default", "a", announce=False)),
    ("opt-out-skips-other-checks", service("a", annotations={"leafspine.io/announce": "false", "leafspine.io/check": "?"}),
     ServiceView("default", "a", announce=False)),
    ("opt-in-explicit", service("a", lb_ips=("192.0.2.1",), annotations={"leafspine.io/announce": " true "}),
     ServiceView("default", "a", addresses=nets("192.0.2.1/32"))),
    ("attributes", service("a", lb_ips=("192.0.2.1",), annotations={
        "leafspine.io/communities": "65000:100, 65000:200 65000:100",
        "leafspine.io/large-communities": "4200000000:1:2",
        "leafspine.io/check": "dns_probe-1",
        "metallb.universe.tf/address-pool": "public",  # other prefixes are not ours
    }), ServiceView("default", "a", addresses=nets("192.0.2.1/32"), check="dns_probe-1",
                    communities=("65000:100", "65000:200"), large_communities=("4200000000:1:2",))),
]

# Hostname-only ingress and ExternalName have nothing to announce.
SERVICE_CASES.append(("hostname-ingress", {**service("a"), "status": {"loadBalancer": {"ingress": [{"hostname": "lb.example"}]}}},
                      ServiceView("default", "a")))
SERVICE_CASES.append(("external-name", {**service("a", svc_type="ExternalName", external_ips=("198.51.100.1",))},
                      ServiceView("default", "a")))

# (id, Service object, text the error must contain)
REFUSED_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("announce-maybe", service("a", annotations={"leafspine.io/announce": "maybe"}), "leafspine.io/announce"),
    ("community-too-big", service("a", annotations={"leafspine.io/communities": "65536:1"}), "'65536:1'"),
    ("community-newline", service("a", annotations={"leafspine.io/communities": "65000:1\nannounce route 0.0.0.0/0"}),
     "'announce'"),
    ("community-word", service("a", annotations={"leafspine.io/communities": "no-export"}), "'no-export'"),
    ("too-many-communities", service("a", annotations={"leafspine.io/communities": " ".join(f"1:{i}" for i in range(33))}),
     "more than 32"),
    ("large-two-parts", service("a", annotations={"leafspine.io/large-communities": "1:2"}), "'1:2'"),
    ("large-too-big", service("a", annotations={"leafspine.io/large-communities": "4294967296:1:1"}), "'4294967296:1:1'"),
    ("check-with-space", service("a", annotations={"leafspine.io/check": "dns probe"}), "leafspine.io/check"),
    ("check-control-char", service("a", annotations={"leafspine.io/check": "dns\x00"}), "leafspine.io/check"),
    ("unknown-annotation", service("a", annotations={"leafspine.io/comunities": "65000:1"}), "unknown annotation"),
    ("bad-policy", service("a", policy="Sometimes"), "externalTrafficPolicy"),
    ("not-an-ip", service("a", lb_ips=("192.0.2.300",)), "status.loadBalancer.ingress[0].ip"),
    ("unspecified", service("a", external_ips=("0.0.0.0",)), "spec.externalIPs[0]"),
    ("loopback", service("a", lb_ips=("192.0.2.1", "127.0.0.1")), "ingress[1]"),
    ("multicast", service("a", lb_ips=("ff02::1",)), "not a usable"),
    ("link-local", service("a", lb_ips=("169.254.1.1",)), "not a usable"),
    ("bad-name", service("A_b", lb_ips=("192.0.2.1",)), "DNS label"),
]


@pytest.mark.parametrize(("obj", "expected"), [c[1:] for c in SERVICE_CASES], ids=[c[0] for c in SERVICE_CASES])
def test_parse_service(obj: dict[str, Any], expected: ServiceView) -> None:
    assert parse_service(obj) == expected


@pytest.mark.parametrize(("obj", "fragment"), [c[1:] for c in REFUSED_CASES], ids=[c[0] for c in REFUSED_CASES])
def test_parse_service_refuses(obj: dict[str, Any], fragment: str) -> None:
    view = parse_service(obj)
    assert view.error is not None and fragment in view.error, view.error
    assert view.key == f"k8s/default/{obj['metadata']['name']}"


def test_parse_without_name_raises() -> None:
    with pytest.raises(ValueError, match="metadata"):
        parse_service({"metadata": {"namespace": "default"}, "spec": {}})
    with pytest.raises(ValueError, match="metadata"):
        parse_slice({"metadata": {"name": "x"}})


SLICE_CASES: list[tuple[str, dict[str, Any], SliceView]] = [
    ("ready-states", endpoint_slice("dns", [("10.0.0.1", "n1", True), ("10.0.0.2", "n2", False), ("10.0.0.3", "n3", None)]),
     SliceView("default", "dns-ipv4", service="dns", family=4, ready_nodes=frozenset({"n1", "n3"}), any_ready=True)),
    ("none-ready", endpoint_slice("dns", [("10.0.0.2", "n2", False)]),
     SliceView("default", "dns-ipv4", service="dns", family=4)),
    ("ipv6", endpoint_slice("dns", [("fd00::1", "n1", True)], family="IPv6"),
     SliceView("default", "dns-ipv6", service="dns", family=6, ready_nodes=frozenset({"n1"}), any_ready=True)),
    ("fqdn", endpoint_slice("dns", [("db.example", "n1", True)], family="FQDN"),
     SliceView("default", "dns-fqdn", service="dns", family=None, ready_nodes=frozenset({"n1"}), any_ready=True)),
    ("no-node-no-label", {"metadata": {"namespace": "default", "name": "s"}, "addressType": "IPv4",
                          "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": True}}]},
     SliceView("default", "s", service=None, family=4, any_ready=True)),
]


@pytest.mark.parametrize(("obj", "expected"), [c[1:] for c in SLICE_CASES], ids=[c[0] for c in SLICE_CASES])
def test_parse_slice(obj: dict[str, Any], expected: SliceView) -> None:
    assert parse_slice(obj) == expected


def svc(name: str, *prefixes: str, local: bool = False, ns: str = "default", **kw: Any) -> ServiceView:
    return ServiceView(ns, name, addresses=nets(*prefixes), local=local, **kw)


def sl(service_name: str, family: int, *nodes: str, ns: str = "default", name: str | None = None,
       ready: bool | None = None) -> SliceView:
    """A slice with ready endpoints on ``nodes``; ``ready`` overrides whether any endpoint
    is ready (an endpoint without a node, or none ready)."""
    return SliceView(ns, name or f"{service_name}-{family}", service=service_name, family=family, ready_nodes=frozenset(nodes),
                     any_ready=bool(nodes) if ready is None else ready)


V4, V6 = "192.0.2.1/32", "2001:db8::1/128"
# (id, services, slices, expected {key: prefixes}, expected rejected keys); this node is "me"
SNAPSHOT_CASES: list[tuple[str, list[ServiceView], list[SliceView], dict[str, set[str]], set[str]]] = [
    ("nothing", [], [], {}, set()),
    ("cluster-no-endpoints", [svc("a", V4)], [], {}, set()),
    ("cluster-endpoint-not-ready", [svc("a", V4)], [sl("a", 4, ready=False)], {}, set()),
    ("cluster-ready-on-other-node", [svc("a", V4)], [sl("a", 4, "other")], {"k8s/default/a": {V4}}, set()),
    ("cluster-ready-without-node", [svc("a", V4)], [sl("a", 4, ready=True)], {"k8s/default/a": {V4}}, set()),
    ("cluster-per-family", [svc("a", V4, V6)], [sl("a", 6, "other")], {"k8s/default/a": {V6}}, set()),
    ("cluster-slice-of-other-service", [svc("a", V4)], [sl("b", 4, "other")], {}, set()),
    ("local-no-endpoints", [svc("a", V4, local=True)], [], {}, set()),
    ("local-other-node", [svc("a", V4, local=True)], [sl("a", 4, "other")], {}, set()),
    ("local-this-node", [svc("a", V4, local=True)], [sl("a", 4, "other", "me")], {"k8s/default/a": {V4}}, set()),
    ("local-slice-of-other-service", [svc("a", V4, local=True)], [sl("b", 4, "me")], {}, set()),
    ("local-same-name-other-namespace", [svc("a", V4, local=True)], [sl("a", 4, "me", ns="other")], {}, set()),
    ("local-second-slice", [svc("a", V4, local=True)], [sl("a", 4, "x", name="a-1"), sl("a", 4, "me", name="a-2")],
     {"k8s/default/a": {V4}}, set()),
    ("local-v6-only-ready", [svc("a", V4, V6, local=True)], [sl("a", 6, "me"), sl("a", 4, "other")],
     {"k8s/default/a": {V6}}, set()),
    ("local-dual-ready", [svc("a", V4, V6, local=True)], [sl("a", 6, "me"), sl("a", 4, "me")],
     {"k8s/default/a": {V4, V6}}, set()),
    ("cluster-dual", [svc("a", V4, V6)], [sl("a", 4, "x"), sl("a", 6, "y")], {"k8s/default/a": {V4, V6}}, set()),
    ("no-addresses", [svc("a")], [sl("a", 4, "x")], {}, set()),
    ("opted-out", [svc("a", V4, announce=False)], [sl("a", 4, "x")], {}, set()),
    ("refused", [svc("a", error="bad"), svc("b", V4)], [sl("b", 4, "x")], {"k8s/default/b": {V4}}, {"k8s/default/a"}),
]


@pytest.mark.parametrize(("services", "slices", "expected", "rejected"), [c[1:] for c in SNAPSHOT_CASES],
                         ids=[c[0] for c in SNAPSHOT_CASES])
def test_compute_snapshot(services: list[ServiceView], slices: list[SliceView], expected: dict[str, set[str]],
                          rejected: set[str]) -> None:
    snap = compute_snapshot(services, slices, "me")
    assert {k: {str(p) for p in v.prefixes} for k, v in snap.services.items()} == expected
    assert set(snap.rejected) == rejected


def test_snapshot_carries_attributes() -> None:
    view = svc("a", V4, check="dns", communities=("65000:1",), large_communities=("1:2:3",))
    snap = compute_snapshot([view], [sl("a", 4, "x")], "me", source="k8s-east")
    assert snap.services == {"k8s/default/a": DesiredService(
        key="k8s/default/a", prefixes=nets(V4), check="dns", communities=("65000:1",),
        large_communities=("1:2:3",), source="k8s-east")}


def test_default_check_applies_only_without_annotation() -> None:
    views = [svc("a", V4), svc("b", V4, check="own")]
    snap = compute_snapshot(views, [sl("a", 4, "x"), sl("b", 4, "x")], "me", default_check="dns")
    assert {k: v.check for k, v in snap.services.items()} == {"k8s/default/a": "dns", "k8s/default/b": "own"}
