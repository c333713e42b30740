"""KubernetesSource with the real ``kubernetes`` client against LocalApiServer.

Every test asserts the exact announce sets published, in order where order matters."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path

import pytest
import yaml
from k8s_apiserver import LocalApiServer
from k8s_harness import (
    NODE,
    Recorder,
    announced,
    endpoint_slice,
    ready_endpoints,
    run_source,
    seen_by_watches,
    serve,
    service,
    wait_until,
)

from bgp.sources.kubernetes import KubernetesSource

DNS = "k8s/default/dns"


def history(recorder: Recorder) -> list[dict[str, tuple[str, ...]]]:
    return [announced(s) for s in recorder.snapshots]


def test_loadbalancer_service_is_announced(apiserver: LocalApiServer) -> None:
    async def scenario(source: KubernetesSource, rec: Recorder) -> None:
        await rec.wait_for({})  # synced with nothing to announce: an empty snapshot
        serve(apiserver, service("dns", lb_ips=("192.0.2.10", "2001:db8::10"), external_ips=("198.51.100.5",)))
        await rec.wait_for({DNS: ("192.0.2.10/32", "198.51.100.5/32", "2001:db8::10/128")})
        # a ClusterIP service with externalIPs counts too; one without addresses does not
        serve(apiserver, service("web", svc_type="ClusterIP", external_ips=("198.51.100.6",)))
        apiserver.apply("services", service("pending"))
        await rec.wait_for({
            DNS: ("192.0.2.10/32", "198.51.100.5/32", "2001:db8::10/128"),
            "k8s/default/web": ("198.51.100.6/32",),
        })
        assert rec.snapshots[-1][DNS].source == "kubernetes"
        st = source.status()
        assert st.synced and not st.stale and st.sync_errors == 0 and st.last_contact is not None

    run_source(apiserver, scenario)


def test_local_policy_follows_ready_endpoint_on_this_node(apiserver: LocalApiServer) -> None:
    async def scenario(source: KubernetesSource, rec: Recorder) -> None:
        apiserver.apply("services", service("dns", lb_ips=("192.0.2.10",), policy="Local"))
        apiserver.apply("endpointslices", endpoint_slice("dns", [("10.0.1.5", "node-b", True)]))
        await rec.wait_for({})  # only another node has an endpoint
        apiserver.apply("endpointslices", endpoint_slice("dns", [("10.0.1.5", "node-b", True), ("10.0.0.5", NODE, False)]))
        apiserver.apply("endpointslices", endpoint_slice("dns", [("10.0.1.5", "node-b", True), ("10.0.0.5", NODE, True)]))
        await rec.wait_for({DNS: ("192.0.2.10/32",)})
        apiserver.apply("endpointslices", endpoint_slice("dns", [("10.0.1.5", "node-b", True), ("10.0.0.5", NODE, False)]))
        await rec.wait_for({})
        apiserver.apply("endpointslices", endpoint_slice("dns", [("10.0.0.5", NODE, None)]))  # no condition = ready
        await rec.wait_for({DNS: ("192.0.2.10/32",)})
        apiserver.delete("endpointslices", "default", "dns-ipv4")
        await rec.wait_for({})
        assert history(rec) == [{}, {DNS: ("192.0.2.10/32",)}, {}, {DNS: ("192.0.2.10/32",)}, {}]

    run_source(apiserver, scenario)


def test_local_policy_is_per_address_family(apiserver: LocalApiServer) -> None:
    async def scenario(source: KubernetesSource, rec: Recorder) -> None:
        apiserver.apply("services", service("dns", lb_ips=("192.0.2.10", "2001:db8::10"), policy="Local"))
        apiserver.apply("endpointslices", endpoint_slice("dns", [("fd00::5", NODE, True)], family="IPv6"))
        await rec.wait_for({DNS: ("2001:db8::10/128",)})
        apiserver.apply("endpointslices", endpoint_slice("dns", [("10.0.0.5", NODE, True)], family="IPv4"))
        await rec.wait_for({DNS: ("192.0.2.10/32", "2001:db8::10/128")})

    run_source(apiserver, scenario)


def test_cluster_policy_is_announced_while_an_endpoint_is_ready_anywhere(apiserver: LocalApiServer) -> None:
    """``Cluster``: every node announces while the service has a ready endpoint of that
    family on any node (as MetalLB does); with none, nobody announces: the traffic the
    route attracts would be dropped."""

    async def scenario(source: KubernetesSource, rec: Recorder) -> None:
        apiserver.apply("services", service("dns", lb_ips=("192.0.2.10", "2001:db8::10"), policy="Cluster"))
        await rec.wait_for({})  # no endpoint at all
        apiserver.apply("endpointslices", endpoint_slice("dns", [("10.0.1.5", "node-b", False)]))
        apiserver.apply("services", service("other", lb_ips=("192.0.2.11",)))
        await rec.wait_for({})  # an endpoint, but not ready
        apiserver.apply("endpointslices", endpoint_slice("dns", [("10.0.1.5", "node-b", True)]))
        await rec.wait_for({DNS: ("192.0.2.10/32",)})  # ready on another node; IPv4 only
        # the local endpoint going unready changes nothing with Cluster
        apiserver.apply("endpointslices", endpoint_slice("dns", [("10.0.1.5", "node-b", True), ("10.0.0.5", NODE, False)]))
        apiserver.apply("endpointslices", endpoint_slice("dns", [("fd00::5", "node-c", None)], family="IPv6"))
        await rec.wait_for({DNS: ("192.0.2.10/32", "2001:db8::10/128")})
        apiserver.apply("endpointslices", endpoint_slice("dns", [("10.0.1.5", "node-b", False), ("10.0.0.5", NODE, False)]))
        await rec.wait_for({DNS: ("2001:db8::10/128",)})
        apiserver.delete("endpointslices", "default", "dns-ipv6")
        await rec.wait_for({})
        assert history(rec) == [
            {},
            {DNS: ("192.0.2.10/32",)},
            {DNS: ("192.0.2.10/32", "2001:db8::10/128")},
            {DNS: ("2001:db8::10/128",)},
            {},
        ]

    run_source(apiserver, scenario)


def test_deleting_the_service_withdraws_it(apiserver: LocalApiServer) -> None:
    async def scenario(source: KubernetesSource, rec: Recorder) -> None:
        serve(apiserver, service("dns", lb_ips=("192.0.2.10",)))
        serve(apiserver, service("keep", lb_ips=("192.0.2.11",)))
        await rec.wait_for({DNS: ("192.0.2.10/32",), "k8s/default/keep": ("192.0.2.11/32",)})
        apiserver.delete("services", "default", "dns")
        await rec.wait_for({"k8s/default/keep": ("192.0.2.11/32",)})
        # the LB controller taking the IP away withdraws as well
        apiserver.apply("services", service("keep"))
        await rec.wait_for({})

    run_source(apiserver, scenario)


def test_annotations_opt_out_and_attributes(apiserver: LocalApiServer) -> None:
    async def scenario(source: KubernetesSource, rec: Recorder) -> None:
        serve(apiserver, service("dns", lb_ips=("192.0.2.10",), annotations={
            "leafspine.io/communities": "65000:100 65000:200",
            "leafspine.io/large-communities": "65000:1:2",
            "leafspine.io/check": "dns-probe",
        }))
        serve(apiserver, service("quiet", lb_ips=("192.0.2.11",), annotations={"leafspine.io/announce": "false"}))
        apiserver.apply("services", service("bad", lb_ips=("192.0.2.12",), annotations={
            "leafspine.io/communities": "65000:100\nannounce route 0.0.0.0/0"}))
        serve(apiserver, service("typo", lb_ips=("192.0.2.13",), annotations={"leafspine.io/comunities": "65000:1"}))
        await rec.wait_for({DNS: ("192.0.2.10/32",)})
        dns = rec.snapshots[-1][DNS]
        assert (dns.communities, dns.large_communities, dns.check) == (("65000:100", "65000:200"), ("65000:1:2",), "dns-probe")
        detail = source.status().detail
        assert detail["rejected_services"] == "2"
        assert "k8s/default/bad" in detail["rejected"] and "k8s/default/typo" in detail["rejected"]
        # opting back in and fixing the annotation announce them
        serve(apiserver, service("quiet", lb_ips=("192.0.2.11",), annotations={"leafspine.io/announce": "true"}))
        serve(apiserver, service("bad", lb_ips=("192.0.2.12",), annotations={"leafspine.io/communities": "65000:100"}))
        await rec.wait_for({
            DNS: ("192.0.2.10/32",),
            "k8s/default/quiet": ("192.0.2.11/32",),
            "k8s/default/bad": ("192.0.2.12/32",),
        })
        assert source.status().detail["rejected_services"] == "1"

    run_source(apiserver, scenario)


@pytest.mark.parametrize("gone_as_http", [False, True], ids=["error-event", "http-410"])
def test_gone_relists_without_withdrawing_valid_services(apiserver: LocalApiServer, gone_as_http: bool) -> None:
    apiserver.gone_as_http = gone_as_http

    async def scenario(source: KubernetesSource, rec: Recorder) -> None:
        serve(apiserver, service("dns", lb_ips=("192.0.2.10",)))
        serve(apiserver, service("old", lb_ips=("192.0.2.11",)))
        await rec.wait_for({DNS: ("192.0.2.10/32",), "k8s/default/old": ("192.0.2.11/32",)})
        await wait_until(lambda: apiserver.active_watches == 2, "both watches open")
        before = len(rec.snapshots)
        first = len(apiserver.watch_requests)
        # The new service's endpoints exist already (a Cluster service needs one); the
        # service changes the watches never see as events: history is compacted in the same step.
        ready_endpoints(apiserver, "new")
        await seen_by_watches(apiserver, source)
        with apiserver.atomically():
            apiserver.delete("services", "default", "old")
            apiserver.apply("services", service("new", lb_ips=("192.0.2.12",)))
            if gone_as_http:
                apiserver.compact()
            apiserver.expire_watches()
        await rec.wait_for({DNS: ("192.0.2.10/32",), "k8s/default/new": ("192.0.2.12/32",)})
        await wait_until(lambda: source.status().detail["relists"] == "2", "both collections relisted")
        # One atomic replacement: dns never withdrawn, never a view with neither old nor new.
        assert history(rec)[before:] == [{DNS: ("192.0.2.10/32",), "k8s/default/new": ("192.0.2.12/32",)}]
        assert apiserver.lists == {"services": 2, "endpointslices": 2}
        st = source.status()
        assert not st.stale

        # A relist that finds nothing new publishes nothing.
        await wait_until(lambda: apiserver.watches_open_since(first) == 2, "watches reopened")
        count = len(rec.snapshots)
        first = len(apiserver.watch_requests)
        apiserver.expire_watches()
        await wait_until(lambda: source.status().detail["relists"] == "4", "second relist")
        await wait_until(lambda: apiserver.watches_open_since(first) == 2, "watches reopened again")
        assert len(rec.snapshots) == count

    run_source(apiserver, scenario)


def test_outage_keeps_last_set_marks_stale_and_recovers(apiserver: LocalApiServer) -> None:
    async def scenario(source: KubernetesSource, rec: Recorder) -> None:
        serve(apiserver, service("dns", lb_ips=("192.0.2.10",)))
        serve(apiserver, service("gone", lb_ips=("192.0.2.11",)))
        await rec.wait_for({DNS: ("192.0.2.10/32",), "k8s/default/gone": ("192.0.2.11/32",)})
        ready_endpoints(apiserver, "web")  # ready before the outage: only the service changes
        await seen_by_watches(apiserver, source)
        published = len(rec.snapshots)

        apiserver.stop()
        await wait_until(lambda: source.status().stale, "stale status")
        down = source.status()
        assert down.sync_errors >= 1 and down.last_error and down.last_contact is not None
        await wait_until(lambda: source.status().sync_errors >= down.sync_errors + 3, "retries with backoff")
        st = source.status()
        assert st.stale and st.synced and st.last_contact == down.last_contact
        assert len(rec.snapshots) == published  # the last set stays in force: no empty publish

        # While down: one service deleted, one added, and the history compacted (-> relist).
        apiserver.delete("services", "default", "gone")
        apiserver.apply("services", service("web", lb_ips=("192.0.2.12",)))
        apiserver.compact()
        apiserver.start()
        await rec.wait_for({DNS: ("192.0.2.10/32",), "k8s/default/web": ("192.0.2.12/32",)})
        await wait_until(lambda: not source.status().stale, "stale cleared")
        st = source.status()
        assert st.last_contact is not None and down.last_contact is not None and st.last_contact > down.last_contact
        assert history(rec)[published - 1 :] == [
            {DNS: ("192.0.2.10/32",), "k8s/default/gone": ("192.0.2.11/32",)},
            {DNS: ("192.0.2.10/32",), "k8s/default/web": ("192.0.2.12/32",)},
        ]

    run_source(apiserver, scenario)


def test_watch_resumes_after_a_cut_connection_without_relist(apiserver: LocalApiServer) -> None:
    async def scenario(source: KubernetesSource, rec: Recorder) -> None:
        serve(apiserver, service("dns", lb_ips=("192.0.2.10",)))
        await rec.wait_for({DNS: ("192.0.2.10/32",)})
        await wait_until(lambda: apiserver.active_watches == 2, "both watches open")
        apiserver.stop()
        serve(apiserver, service("web", lb_ips=("192.0.2.12",)))  # kept in history
        apiserver.start()
        await rec.wait_for({DNS: ("192.0.2.10/32",), "k8s/default/web": ("192.0.2.12/32",)})
        assert apiserver.lists == {"services": 1, "endpointslices": 1}

    run_source(apiserver, scenario)


def test_bookmarks_move_the_resume_point(apiserver: LocalApiServer) -> None:
    async def scenario(source: KubernetesSource, rec: Recorder) -> None:
        await rec.wait_for({})
        await wait_until(lambda: apiserver.active_watches == 2, "both watches open")
        # Services change; the slice watch sees no event, so its resourceVersion lags behind.
        serve(apiserver, service("dns", lb_ips=("192.0.2.10",)))
        await rec.wait_for({DNS: ("192.0.2.10/32",)})
        rv = str(apiserver.resource_version)
        apiserver.bookmark()
        key = "resource_version/endpointslices/*"
        await wait_until(lambda: source.status().detail.get(key) == rv, "slice watch took the bookmark")
        # History is gone and the watches are cut; resuming from the bookmark needs no relist.
        first = len(apiserver.watch_requests)
        apiserver.stop()
        apiserver.compact()
        apiserver.start()
        await wait_until(lambda: apiserver.watches_open_since(first) == 2, "watches reopened")
        assert ("endpointslices", rv, True) in apiserver.watch_requests
        assert apiserver.lists == {"services": 1, "endpointslices": 1}
        assert all(bookmarks for _, _, bookmarks in apiserver.watch_requests)

    run_source(apiserver, scenario)


def test_api_down_at_start_publishes_nothing_until_synced(apiserver: LocalApiServer) -> None:
    serve(apiserver, service("dns", lb_ips=("192.0.2.10",)))
    apiserver.stop()

    async def scenario(source: KubernetesSource, rec: Recorder) -> None:
        await wait_until(lambda: source.status().sync_errors >= 2, "failed attempts")
        st = source.status()
        assert rec.snapshots == [] and not st.synced and st.last_contact is None
        apiserver.start()
        await rec.wait_for({DNS: ("192.0.2.10/32",)})
        assert source.status().synced

    run_source(apiserver, scenario)


def test_namespaces_limit_what_is_watched(apiserver: LocalApiServer) -> None:
    async def scenario(source: KubernetesSource, rec: Recorder) -> None:
        apiserver.apply("services", service("dns", namespace="prod", lb_ips=("192.0.2.10",), policy="Local"))
        apiserver.apply("endpointslices", endpoint_slice("dns", [("10.0.0.5", NODE, True)], namespace="prod"))
        serve(apiserver, service("dns", namespace="dev", lb_ips=("192.0.2.20",)))
        await rec.wait_for({"k8s/prod/dns": ("192.0.2.10/32",)})
        await wait_until(lambda: apiserver.active_watches == 2, "both watches open")
        assert set(apiserver.paths) == {
            "/api/v1/namespaces/prod/services",
            "/apis/discovery.k8s.io/v1/namespaces/prod/endpointslices",
        }

    run_source(apiserver, scenario, namespaces=("prod",))


def test_periodic_resync_relists_without_publishing(apiserver: LocalApiServer) -> None:
    async def scenario(source: KubernetesSource, rec: Recorder) -> None:
        serve(apiserver, service("dns", lb_ips=("192.0.2.10",)))
        await rec.wait_for({DNS: ("192.0.2.10/32",)})
        await wait_until(lambda: int(source.status().detail["relists"]) >= 2, "a resync of both collections")
        assert apiserver.lists["services"] >= 2 and apiserver.lists["endpointslices"] >= 2
        assert history(rec) == [{DNS: ("192.0.2.10/32",)}]

    run_source(apiserver, scenario, resync_interval=1.0)


def test_kubeconfig_file(apiserver: LocalApiServer, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "lab", "cluster": {"server": apiserver.url}}],
        "users": [{"name": "agent", "user": {"token": "not-checked"}}],
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "agent"}}],
        "current-context": "lab",
    }))
    serve(apiserver, service("dns", lb_ips=("192.0.2.10",)))

    async def scenario(source: KubernetesSource, rec: Recorder) -> None:
        await rec.wait_for({DNS: ("192.0.2.10/32",)})
        assert apiserver.authorizations == {"Bearer not-checked"}

    run_source(apiserver, scenario, host=None, kubeconfig=kubeconfig)


def test_lists_5000_services_in_pages(apiserver: LocalApiServer) -> None:
    """5,000 LoadBalancer services and 5,000 EndpointSlices: listed in pages of
    ``page_size`` (limit/continue), every page from the first page's snapshot, the watch
    started from that snapshot's resourceVersion, and all 5,000 announced."""
    count = 5000
    for i in range(count):
        name = f"svc{i:04d}"
        serve_v4 = endpoint_slice(name, [(f"10.1.{i // 250}.{i % 250 + 1}", "node-b", True)])
        apiserver.apply("endpointslices", serve_v4)
        apiserver.apply("services", service(name, lb_ips=(f"100.64.{i // 250}.{i % 250 + 1}",)))
    listed_rv = str(apiserver.resource_version)

    async def scenario(source: KubernetesSource, rec: Recorder) -> None:
        await wait_until(lambda: bool(rec.snapshots) and len(rec.snapshots[-1]) == count, "5,000 services", timeout=180)
        await wait_until(lambda: apiserver.active_watches == 2, "both watches open", timeout=60)
        for plural in ("services", "endpointslices"):
            pages = [(limit, cont) for p, limit, cont in apiserver.list_requests if p == plural]
            assert len(pages) == count // 500 and all(limit == 500 for limit, _ in pages), pages[:3]
            assert pages[0][1] is None and all(cont for _, cont in pages[1:])
            assert (plural, listed_rv, True) in apiserver.watch_requests
        assert rec.snapshots[-1]["k8s/default/svc4999"].prefixes == frozenset({ip_network("100.64.19.250/32")})
        assert len(rec.snapshots) == 1  # one complete view, not one per page

    run_source(apiserver, scenario)


def test_an_expired_continue_token_restarts_the_list(apiserver: LocalApiServer) -> None:
    for i in range(12):
        serve(apiserver, service(f"svc{i:02d}", lb_ips=(f"100.64.0.{i + 1}",)))
    apiserver.expire_next_continue = True

    async def scenario(source: KubernetesSource, rec: Recorder) -> None:
        await wait_until(lambda: bool(rec.snapshots) and len(rec.snapshots[-1]) == 12, "12 services", timeout=60)
        # 12 services (3 pages of 5) and 24 slices (5 pages): 8 pages. A list whose
        # token expired got 410 for its second page and listed again from the first
        # (first page + 410 more). Whether the other list had begun by then depends on
        # timing, so one or both restart: 8 + 2 or 8 + 4 requests.
        requests = apiserver.list_requests
        firsts = sum(1 for _, _, cont in requests if cont is None)
        assert (len(requests), firsts) in ((10, 3), (12, 4)), requests
        assert source.status().detail["relists"] == "0"  # a restarted list is still the first

    run_source(apiserver, scenario, page_size=5)
