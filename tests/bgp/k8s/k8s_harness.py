"""Helpers for the Kubernetes source tests: object builders, a publish recorder, and a
runner that drives ``KubernetesSource`` (real ``kubernetes`` client) against
``LocalApiServer``."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from k8s_apiserver import LocalApiServer

from bgp.sources.base import DesiredService
from bgp.sources.kubernetes import KubernetesSource, KubernetesSourceConfig

NODE = "node-a"
TIMEOUT = 20.0  # generous: the first test also pays for importing the kubernetes client, slow on a loaded machine


def service(
    name: str,
    *,
    namespace: str = "default",
    lb_ips: tuple[str, ...] = (),
    external_ips: tuple[str, ...] = (),
    policy: str = "Cluster",
    svc_type: str = "LoadBalancer",
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A v1 Service as the API serves it."""
    spec: dict[str, Any] = {"type": svc_type, "ports": [{"port": 53, "protocol": "UDP"}]}
    if svc_type in ("LoadBalancer", "NodePort"):
        spec["externalTrafficPolicy"] = policy
    if external_ips:
        spec["externalIPs"] = list(external_ips)
    return {
        "metadata": {"namespace": namespace, "name": name, "annotations": dict(annotations or {})},
        "spec": spec,
        "status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in lb_ips]} if lb_ips else {}},
    }


def endpoint_slice(
    service_name: str,
    endpoints: list[tuple[str, str, bool | None]],
    *,
    namespace: str = "default",
    name: str | None = None,
    family: str = "IPv4",
) -> dict[str, Any]:
    """An EndpointSlice of ``service_name``; endpoints are (address, nodeName, ready),
    ready None leaves the condition out."""
    eps = []
    for address, node, ready in endpoints:
        conditions = {} if ready is None else {"ready": ready, "serving": ready, "terminating": False}
        eps.append({"addresses": [address], "nodeName": node, "conditions": conditions})
    return {
        "metadata": {
            "namespace": namespace,
            "name": name or f"{service_name}-{family.lower()}",
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": family,
        "endpoints": eps,
        "ports": [{"port": 53, "protocol": "UDP"}],
    }


def ready_endpoints(api: LocalApiServer, name: str, namespace: str = "default", node: str = "node-b") -> None:
    """EndpointSlices of service ``name`` with a ready endpoint of each family on ``node``
    (another node by default)."""
    for family, address in (("IPv4", "10.0.1.5"), ("IPv6", "fd00:1::5")):
        api.apply("endpointslices", endpoint_slice(name, [(address, node, True)], namespace=namespace, family=family))


async def seen_by_watches(api: LocalApiServer, source: KubernetesSource) -> None:
    """Wait until both watches have caught up with the server (a bookmark at the current
    resourceVersion reached the source), so that a change made now is not mixed up with
    earlier ones still in flight."""
    rv = str(api.resource_version)
    await wait_until(lambda: api.active_watches == 2, "both watches open")
    api.bookmark()
    keys = ("resource_version/services/*", "resource_version/endpointslices/*")
    await wait_until(lambda: all(source.status().detail.get(k) == rv for k in keys), "watches caught up")


def serve(api: LocalApiServer, svc: dict[str, Any], node: str = "node-b") -> None:
    """Apply ``svc`` after :func:`ready_endpoints` for it: a ``Cluster`` service is
    announced only while it has a ready endpoint."""
    ready_endpoints(api, svc["metadata"]["name"], svc["metadata"]["namespace"], node)
    api.apply("services", svc)


def announced(snapshot: Mapping[str, DesiredService]) -> dict[str, tuple[str, ...]]:
    """The announce set in a form to compare exactly: key -> sorted prefixes."""
    return {key: tuple(sorted(str(p) for p in svc.prefixes)) for key, svc in snapshot.items()}


class Recorder:
    """The ``publish`` callback: keeps every snapshot and wakes waiters."""

    def __init__(self) -> None:
        self.snapshots: list[dict[str, DesiredService]] = []
        self.names: set[str] = set()
        self._changed = asyncio.Event()

    def __call__(self, name: str, snapshot: Mapping[str, DesiredService]) -> None:
        self.names.add(name)
        self.snapshots.append(dict(snapshot))
        self._changed.set()

    @property
    def last(self) -> dict[str, tuple[str, ...]]:
        return announced(self.snapshots[-1])

    async def wait_for(self, expected: dict[str, tuple[str, ...]], timeout: float = TIMEOUT) -> None:
        """Wait until the latest published announce set equals ``expected``."""
        try:
            async with asyncio.timeout(timeout):
                while not (self.snapshots and self.last == expected):
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            seen = [announced(s) for s in self.snapshots]
            raise AssertionError(f"never published {expected}; published: {seen}") from None


async def wait_until(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    """Poll ``condition`` (cheap, in-process state) until true, or fail naming ``what``."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def fast_config(server: LocalApiServer, **overrides: Any) -> KubernetesSourceConfig:
    values: dict[str, Any] = {
        "node_name": NODE,
        "host": server.url,
        "watch_timeout": 30.0,
        "connect_timeout": 1.0,
        "backoff_initial": 0.05,
        "backoff_max": 0.2,
    }
    values.update(overrides)
    return KubernetesSourceConfig(**values)


def run_source(
    server: LocalApiServer,
    scenario: Callable[[KubernetesSource, Recorder], Awaitable[None]],
    **config: Any,
) -> KubernetesSource:
    """Run the source against ``server`` while ``scenario`` plays, then cancel it and
    check that it stopped cleanly."""
    source = KubernetesSource(fast_config(server, **config))
    recorder = Recorder()

    async def main() -> None:
        task = asyncio.create_task(source.run(recorder))
        try:
            await scenario(source, recorder)
        finally:
            task.cancel()
            async with asyncio.timeout(TIMEOUT):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        assert recorder.names <= {"kubernetes"}
        # run() joins its watch threads when cancelled: none may outlive it.
        assert not [t.name for t in threading.enumerate() if t.name.startswith("k8s-")]

    asyncio.run(main())
    return source
