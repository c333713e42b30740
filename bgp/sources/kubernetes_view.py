"""Pure half of the Kubernetes source: API objects -> announce set.

Nothing here does I/O or reads a clock. ``parse_service`` and ``parse_slice`` turn the raw
JSON dicts of the API (``v1 Service``, ``discovery.k8s.io/v1 EndpointSlice``) into small
typed views, and ``compute_snapshot`` turns those views plus this node's name into the
``{key: DesiredService}`` snapshot the source publishes. Tests drive both with tables.

Rules (see docs/bgp-agent-kubernetes.md):

* A Service contributes its ``status.loadBalancer.ingress[].ip`` (type LoadBalancer only)
  and its ``spec.externalIPs`` (any type but ExternalName), each as a /32 or /128.
* ``externalTrafficPolicy: Local``: a prefix of family F is announced only while an
  EndpointSlice of the service with ``addressType`` F has an endpoint with
  ``nodeName`` == this node and ``conditions.ready`` (absent means ready, as the API
  defines). ``Cluster`` (or unset): every node announces a prefix of family F while the
  service has at least one ready endpoint of family F on any node (as MetalLB does): with
  none, kube-proxy would drop what the announcement attracts. A ready endpoint without a
  ``nodeName`` counts for ``Cluster`` (it can be reached), not for ``Local``.
* Annotations (``leafspine.io/``): ``announce: "false"`` opts out; ``communities``,
  ``large-communities`` (whitespace or comma separated) and ``check`` are passed on.
  A service with an obviously bad value, or an unknown ``leafspine.io/`` annotation (a
  typo must not silently drop a community), is refused: not announced, and reported in
  ``Snapshot.rejected``. The agent's guard rails validate again; this is the first fence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from ipaddress import ip_address, ip_network
from typing import Any

from bgp.community import parse_community, parse_large_community
from bgp.sources.base import DesiredService, IPNet

ANNOTATION_PREFIX = "leafspine.io/"
ANNOUNCE = ANNOTATION_PREFIX + "announce"
COMMUNITIES = ANNOTATION_PREFIX + "communities"
LARGE_COMMUNITIES = ANNOTATION_PREFIX + "large-communities"
CHECK = ANNOTATION_PREFIX + "check"
KNOWN_ANNOTATIONS = frozenset({ANNOUNCE, COMMUNITIES, LARGE_COMMUNITIES, CHECK})

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
KEY_PREFIX = "k8s/"

MAX_COMMUNITIES = 32
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_CHECK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class ServiceView:
    """What the source needs of one Service.

    ``addresses`` are host prefixes (/32, /128). ``error`` is set when the service is
    refused (a bad annotation or address); the other fields are then not meaningful."""

    namespace: str
    name: str
    addresses: frozenset[IPNet] = frozenset()
    local: bool = False
    announce: bool = True
    check: str | None = None
    communities: tuple[str, ...] = ()
    large_communities: tuple[str, ...] = ()
    error: str | None = None

    @property
    def key(self) -> str:
        """The DesiredService key: ``k8s/<namespace>/<name>``."""
        return f"{KEY_PREFIX}{self.namespace}/{self.name}"


@dataclass(frozen=True)
class SliceView:
    """What the source needs of one EndpointSlice: its service, address family (4, 6, or
    None for FQDN slices), the nodes that have at least one ready endpoint in it, and
    whether any endpoint (with or without a node) is ready."""

    namespace: str
    name: str
    service: str | None
    family: int | None
    ready_nodes: frozenset[str] = frozenset()
    any_ready: bool = False


@dataclass(frozen=True)
class Snapshot:
    """Result of ``compute_snapshot``: what to publish, and refused services with why."""

    services: Mapping[str, DesiredService]
    rejected: Mapping[str, str]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def object_key(obj: Mapping[str, Any]) -> str:
    """``namespace/name`` of a raw API object; ValueError when either is missing."""
    meta = _dict(obj.get("metadata"))
    namespace, name = meta.get("namespace"), meta.get("name")
    if not isinstance(namespace, str) or not isinstance(name, str) or not namespace or not name:
        raise ValueError("object without metadata.namespace/metadata.name")
    return f"{namespace}/{name}"


def _host_prefix(raw: Any, where: str) -> IPNet:
    if not isinstance(raw, str):
        raise ValueError(f"{where}: {raw!r} is not an IP address")
    try:
        addr = ip_address(raw)
    except ValueError:
        raise ValueError(f"{where}: {raw!r} is not an IP address") from None
    # These can never be a service address; announcing one would hijack something else.
    if addr.is_unspecified or addr.is_loopback or addr.is_multicast or addr.is_link_local:
        raise ValueError(f"{where}: {raw} is not a usable service address")
    return ip_network(f"{addr}/{addr.max_prefixlen}")


def _split(value: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in _SEPARATORS.split(value.strip()):
        if item:
            seen[item] = None
    return tuple(seen)


def _parse_each(value: str, annotation: str, what: str, parse: Callable[[str], str]) -> tuple[str, ...]:
    items = _split(value)
    if len(items) > MAX_COMMUNITIES:
        raise ValueError(f"{annotation}: more than {MAX_COMMUNITIES} {what}")
    for item in items:
        try:
            parse(item)
        except ValueError as e:
            raise ValueError(f"{annotation}: {e}") from None
    return items


def parse_communities(value: str) -> tuple[str, ...]:
    """Standard communities ``ASN:value`` (both 0..65535); ValueError names the bad one."""
    return _parse_each(value, COMMUNITIES, "communities", parse_community)


def parse_large_communities(value: str) -> tuple[str, ...]:
    """Large communities ``a:b:c`` (each 0..2^32-1); ValueError names the bad one."""
    return _parse_each(value, LARGE_COMMUNITIES, "large communities", parse_large_community)


def _parse_annotations(annotations: Mapping[str, Any]) -> dict[str, Any]:
    ours = {k: v for k, v in annotations.items() if isinstance(k, str) and k.startswith(ANNOTATION_PREFIX)}
    out: dict[str, Any] = {}
    announce = ours.get(ANNOUNCE)
    if announce is not None:
        flag = announce.strip().lower() if isinstance(announce, str) else None
        if flag not in ("true", "false"):
            raise ValueError(f"{ANNOUNCE}: {announce!r} is neither 'true' nor 'false'")
        out["announce"] = flag == "true"
        if not out["announce"]:
            return out  # opted out: the other annotations no longer matter
    for key, value in ours.items():
        if key not in KNOWN_ANNOTATIONS:
            raise ValueError(f"unknown annotation {key!r} (known: {', '.join(sorted(KNOWN_ANNOTATIONS))})")
        if not isinstance(value, str):
            raise ValueError(f"{key}: value must be a string")
    if COMMUNITIES in ours:
        out["communities"] = parse_communities(ours[COMMUNITIES])
    if LARGE_COMMUNITIES in ours:
        out["large_communities"] = parse_large_communities(ours[LARGE_COMMUNITIES])
    check = ours.get(CHECK)
    if check is not None:
        if _CHECK_NAME.fullmatch(check.strip()) is None:
            raise ValueError(f"{CHECK}: {check!r} is not a check name")
        out["check"] = check.strip()
    return out


def parse_service(obj: Mapping[str, Any]) -> ServiceView:
    """A raw ``v1 Service`` -> ServiceView. Bad values give a view with ``error`` set;
    only an object without namespace/name raises ValueError (it cannot even be keyed)."""
    namespace, name = object_key(obj).split("/", 1)
    meta = _dict(obj.get("metadata"))
    spec = _dict(obj.get("spec"))
    try:
        if _DNS_LABEL.fullmatch(namespace) is None or _DNS_LABEL.fullmatch(name) is None:
            raise ValueError("namespace or name is not a DNS label")
        opts = _parse_annotations(_dict(meta.get("annotations")))
        if not opts.get("announce", True):
            return ServiceView(namespace, name, announce=False)
        policy = spec.get("externalTrafficPolicy") or "Cluster"
        if policy not in ("Cluster", "Local"):
            raise ValueError(f"spec.externalTrafficPolicy: unknown value {policy!r}")
        svc_type = spec.get("type") or "ClusterIP"
        addresses: set[IPNet] = set()
        if svc_type != "ExternalName":
            for i, raw in enumerate(_list(spec.get("externalIPs"))):
                addresses.add(_host_prefix(raw, f"spec.externalIPs[{i}]"))
        if svc_type == "LoadBalancer":
            ingress = _list(_dict(_dict(obj.get("status")).get("loadBalancer")).get("ingress"))
            for i, entry in enumerate(ingress):
                raw = _dict(entry).get("ip")
                if raw is not None:  # hostname-only ingress (cloud LBs) has nothing to announce
                    addresses.add(_host_prefix(raw, f"status.loadBalancer.ingress[{i}].ip"))
    except ValueError as exc:
        return ServiceView(namespace, name, error=str(exc))
    return ServiceView(
        namespace,
        name,
        addresses=frozenset(addresses),
        local=policy == "Local",
        check=opts.get("check"),
        communities=opts.get("communities", ()),
        large_communities=opts.get("large_communities", ()),
    )


def parse_slice(obj: Mapping[str, Any]) -> SliceView:
    """A raw ``discovery.k8s.io/v1 EndpointSlice`` -> SliceView (ValueError only without
    namespace/name). An endpoint counts as ready unless ``conditions.ready`` is false."""
    namespace, name = object_key(obj).split("/", 1)
    labels = _dict(_dict(obj.get("metadata")).get("labels"))
    service = labels.get(SERVICE_NAME_LABEL)
    family = {"IPv4": 4, "IPv6": 6}.get(str(obj.get("addressType")))
    ready: set[str] = set()
    any_ready = False
    for endpoint in _list(obj.get("endpoints")):
        endpoint = _dict(endpoint)
        node = endpoint.get("nodeName")
        # The API says a nil ready condition means "unknown, treat as ready".
        if _dict(endpoint.get("conditions")).get("ready") is not False:
            any_ready = True
            if isinstance(node, str):
                ready.add(node)
    return SliceView(
        namespace,
        name,
        service=service if isinstance(service, str) else None,
        family=family,
        ready_nodes=frozenset(ready),
        any_ready=any_ready,
    )


def compute_snapshot(
    services: Iterable[ServiceView],
    slices: Iterable[SliceView],
    node_name: str,
    source: str = "kubernetes",
    default_check: str | None = None,
) -> Snapshot:
    """The announce set of this node. Pure: same inputs, same snapshot. ``default_check``
    applies to services without a ``leafspine.io/check`` annotation."""
    local_families: dict[tuple[str, str], set[int]] = {}
    ready_families: dict[tuple[str, str], set[int]] = {}
    for sl in slices:
        if sl.service is None or sl.family is None:
            continue
        if node_name in sl.ready_nodes:
            local_families.setdefault((sl.namespace, sl.service), set()).add(sl.family)
        if sl.any_ready:
            ready_families.setdefault((sl.namespace, sl.service), set()).add(sl.family)
    desired: dict[str, DesiredService] = {}
    rejected: dict[str, str] = {}
    for svc in services:
        if svc.error is not None:
            rejected[svc.key] = svc.error
            continue
        if not svc.announce:
            continue
        where = local_families if svc.local else ready_families
        families = where.get((svc.namespace, svc.name), set())
        prefixes = frozenset(p for p in svc.addresses if p.version in families)
        if prefixes:
            desired[svc.key] = DesiredService(
                key=svc.key,
                prefixes=prefixes,
                check=svc.check if svc.check is not None else default_check,
                communities=svc.communities,
                large_communities=svc.large_communities,
                source=source,
            )
    return Snapshot(services=desired, rejected=rejected)
