"""Kubernetes source: Services (LoadBalancer ingress IPs, externalIPs) and EndpointSlices.

Embedding (for the agent config)::

    from bgp.sources.kubernetes import KubernetesSource, KubernetesSourceConfig

    cfg = KubernetesSourceConfig(node_name="node1")      # pydantic model, extra="forbid"
    source = KubernetesSource(cfg)                        # raises KubernetesSourceError
    task = asyncio.create_task(source.run(publish))       #   if no node name is known

``KubernetesSourceConfig`` fields (all optional):

* ``node_name``: this node as Kubernetes names it; default the ``NODE_NAME`` environment
  variable (set it from ``spec.nodeName`` with the downward API).
* ``kubeconfig`` / ``context``: use this kubeconfig file; neither set (and no ``host``):
  the in-cluster service account.
* ``default_check``: check name for services without a ``leafspine.io/check`` annotation
  (the agent config checks that it exists).
* ``host``: talk to this URL without credentials (``kubectl proxy``, tests).
* ``namespaces``: watch only these namespaces (one list+watch per namespace and kind, so a
  namespaced Role suffices); empty (default): all namespaces.
* ``watch_timeout``: seconds a watch request lasts before it is renewed (server side).
* ``resync_interval``: seconds between full relists as a safety net; 0 disables.
* ``connect_timeout``, ``backoff_initial``, ``backoff_max``: retry timing after errors.
* ``page_size``: objects per list request (``limit``/``continue``, default 500, as
  client-go's informers); 0 lists everything in one response.

Behaviour a caller may rely on:

* ``run`` publishes the complete view only once every list+watch has listed once, and
  afterwards only when the view changed. A relist (after 410 Gone, or resync) replaces the
  view of that collection in one step, so a service that is still valid is never withdrawn
  and re-announced in between.
* On API errors nothing is published: the last snapshot stays in force. ``status()`` then
  says ``stale=True``, ``sync_errors`` counts each failed request, ``last_contact`` keeps the
  time of the last successful exchange, and the error is logged. The source retries with
  exponential backoff and clears ``stale`` when every collection is back in contact.
* Services refused for bad annotations or addresses are counted in
  ``status().detail["rejected_services"]`` and named with their reason in
  ``status().detail["rejected"]``; ``detail["relists"]`` counts lists after the first;
  ``detail["resource_version/<kind>/<namespace or *>"]`` is the last listed or bookmarked
  resourceVersion of each collection.
* ``run`` never blocks the event loop (the blocking client runs in one thread per
  collection) and returns promptly when cancelled (open watches are shut down).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from bgp.sources.base import DesiredService, Publish, Source, SourceStatus
from bgp.sources.kubernetes_view import (
    ServiceView,
    SliceView,
    Snapshot,
    compute_snapshot,
    object_key,
    parse_service,
    parse_slice,
)

log = logging.getLogger(__name__)

Kind = Literal["services", "endpointslices"]
T = TypeVar("T")


class KubernetesSourceError(Exception):
    """The source cannot be built from its config (e.g. no node name)."""


class KubernetesSourceConfig(BaseModel):
    """Settings of the Kubernetes source; see the module docstring for each field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    node_name: str | None = None
    kubeconfig: Path | None = None
    context: str | None = None
    default_check: str | None = None
    host: str | None = None
    namespaces: tuple[str, ...] = ()
    watch_timeout: float = Field(default=300.0, gt=0)
    resync_interval: float = Field(default=0.0, ge=0)
    connect_timeout: float = Field(default=5.0, gt=0)
    backoff_initial: float = Field(default=0.5, gt=0)
    backoff_max: float = Field(default=30.0, gt=0)
    page_size: int = Field(default=500, ge=0)


# Messages from the watch threads to the event loop. Each carries the id of its reflector.
@dataclass(frozen=True)
class _Listed(Generic[T]):
    rid: str
    items: dict[str, T]
    relist: bool
    rv: str


@dataclass(frozen=True)
class _Upsert(Generic[T]):
    rid: str
    key: str
    item: T


@dataclass(frozen=True)
class _Delete:
    rid: str
    key: str


@dataclass(frozen=True)
class _Contact:
    rid: str
    rv: str | None = None  # set by bookmarks: where a resumed watch will start


@dataclass(frozen=True)
class _Failed:
    rid: str
    error: str


_Msg = _Listed[Any] | _Upsert[Any] | _Delete | _Contact | _Failed


class _Gone(Exception):
    """The watch's resourceVersion is too old: relist."""


class _Stopped(Exception):
    """The source is shutting down."""


def _iter_lines(resp: Any) -> Iterator[bytes]:
    """Lines of a chunked watch response, as they arrive."""
    buffer = b""
    for chunk in resp.stream(amt=None, decode_content=False):
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield line
    if buffer.strip():
        yield buffer


class _Reflector(Generic[T]):
    """List, then watch, one collection (one kind, one namespace or all) in its own thread.

    Keeps only the resourceVersion; the objects live on the event loop side, which gets
    them through ``post``. On 410 Gone it relists at once; on other errors it posts
    ``_Failed`` and retries with backoff (a watch resumes from its resourceVersion)."""

    def __init__(
        self,
        kind: Kind,
        namespace: str | None,
        api_client: Any,
        parse: Callable[[Mapping[str, Any]], T],
        post: Callable[[_Msg], None],
        config: KubernetesSourceConfig,
        stop: threading.Event,
    ) -> None:
        self.kind = kind
        self.namespace = namespace
        self.rid = f"{kind}/{namespace or '*'}"
        self._api_client = api_client
        self._parse = parse
        self._post = post
        self._config = config
        self._stop = stop
        self._lock = threading.Lock()
        self._resp: Any = None
        self._listed = 0
        self.rv: str | None = None  # where the next watch starts; None: list first
        # Daemon: a read stuck on a dead connection must never keep the agent from exiting.
        self.thread = threading.Thread(target=self._run, name=f"k8s-{self.rid}", daemon=True)

    def _call(self, **kwargs: Any) -> Any:
        # Imported here: the kubernetes package takes about a second to import, and agents
        # without this source should not pay for it.
        from kubernetes import client

        kwargs["_preload_content"] = False
        if self.kind == "services":
            core = client.CoreV1Api(self._api_client)
            if self.namespace is None:
                return core.list_service_for_all_namespaces(**kwargs)
            return core.list_namespaced_service(self.namespace, **kwargs)
        discovery = client.DiscoveryV1Api(self._api_client)
        if self.namespace is None:
            return discovery.list_endpoint_slice_for_all_namespaces(**kwargs)
        return discovery.list_namespaced_endpoint_slice(self.namespace, **kwargs)

    def _open(self, **kwargs: Any) -> Any:
        resp = self._call(**kwargs)
        with self._lock:
            self._resp = resp
        # abort() may have run between the stop check and the request; do not hang on it.
        if self._stop.is_set():
            self._close(resp)
            raise _Stopped
        return resp

    def _close(self, resp: Any) -> None:
        with self._lock:
            if self._resp is resp:
                self._resp = None
        try:
            resp.close()
            resp.release_conn()
        except Exception:  # closing a broken connection may fail; it is gone either way
            log.debug("closing %s response failed", self.rid, exc_info=True)

    def abort(self) -> None:
        """Unblock a thread waiting on the API (called from the loop on shutdown)."""
        with self._lock:
            resp = self._resp
        if resp is not None:
            try:
                resp.shutdown()
            except Exception:
                log.debug("shutting down %s response failed", self.rid, exc_info=True)

    def _list(self) -> None:
        """List in pages of ``page_size`` (``limit``/``continue``): the API server never
        builds one huge response, and only one page of raw JSON is held at a time (the
        rest is kept as small parsed views). Every page belongs to the snapshot of the
        first one, whose resourceVersion the watch then starts from. A continue token that
        expired (410) restarts the list from the first page."""
        items: dict[str, T] = {}
        token: str | None = None
        rv: Any = None
        while True:
            kwargs: dict[str, Any] = {"_request_timeout": (self._config.connect_timeout, self._config.watch_timeout)}
            if self._config.page_size:
                kwargs["limit"] = self._config.page_size
            if token:
                kwargs["_continue"] = token
            resp = self._open(**kwargs)
            try:
                body = json.loads(resp.data)
            finally:
                self._close(resp)
            for raw in body.get("items") or []:
                try:
                    items[object_key(raw)] = self._parse(raw)
                except ValueError as exc:
                    log.warning("kubernetes %s: ignoring malformed object: %s", self.rid, exc)
            meta = body.get("metadata") or {}
            if rv is None:
                rv = meta.get("resourceVersion")
            token = meta.get("continue") or None
            del body
            if not token:
                break
        if not isinstance(rv, str) or not rv:
            raise ValueError(f"{self.rid}: list without metadata.resourceVersion")
        self._listed += 1
        self._post(_Listed(self.rid, items, relist=self._listed > 1, rv=rv))
        self.rv = rv

    def _watch(self, rv: str, until: float | None) -> None:
        """Stream events from ``rv``. ``self.rv`` follows every event, so a watch cut in
        the middle resumes where it stopped rather than where it started."""
        timeout = self._config.watch_timeout
        if until is not None:
            timeout = max(1.0, min(timeout, until - time.monotonic()))
        resp = self._open(
            watch=True,
            resource_version=rv,
            allow_watch_bookmarks=True,
            timeout_seconds=max(1, int(timeout)),
            # The server ends the watch after timeout_seconds; a silent connection beyond
            # that (plus slack) is dead, so the read timeout bounds it.
            _request_timeout=(self._config.connect_timeout, timeout + 30.0),
        )
        try:
            self._post(_Contact(self.rid))
            for line in _iter_lines(resp):
                event = json.loads(line)
                etype, obj = event.get("type"), event.get("object") or {}
                if etype == "ERROR":
                    if obj.get("code") == 410:
                        raise _Gone
                    raise RuntimeError(f"watch error {obj.get('code')} {obj.get('reason')}: {obj.get('message')}")
                new_rv = obj.get("metadata", {}).get("resourceVersion")
                if etype in ("ADDED", "MODIFIED", "DELETED"):
                    try:
                        key = object_key(obj)
                        if etype == "DELETED":
                            self._post(_Delete(self.rid, key))
                        else:
                            self._post(_Upsert(self.rid, key, self._parse(obj)))
                    except ValueError as exc:
                        log.warning("kubernetes %s: ignoring malformed object: %s", self.rid, exc)
                if isinstance(new_rv, str) and new_rv:
                    self.rv = new_rv
                if etype == "BOOKMARK":
                    self._post(_Contact(self.rid, self.rv))
        finally:
            self._close(resp)

    def _run(self) -> None:
        from kubernetes.client.exceptions import ApiException

        backoff = self._config.backoff_initial
        resync = self._config.resync_interval
        next_resync: float | None = None
        while not self._stop.is_set():
            try:
                if self.rv is None or (next_resync is not None and time.monotonic() >= next_resync):
                    self._list()
                    next_resync = time.monotonic() + resync if resync else None
                    backoff = self._config.backoff_initial
                started = time.monotonic()
                if self.rv is not None:  # always true after _list; narrows the type
                    self._watch(self.rv, next_resync)
                backoff = self._config.backoff_initial
                if time.monotonic() - started < 1.0:
                    # A server (or proxy) that ends every watch at once must not make us spin.
                    self._stop.wait(self._config.backoff_initial)
            except _Stopped:
                return
            except _Gone:
                log.info("kubernetes %s: resourceVersion %s expired, relisting", self.rid, self.rv)
                self.rv = None
            except Exception as exc:
                if self._stop.is_set():
                    return
                if isinstance(exc, ApiException) and exc.status == 410:
                    log.info("kubernetes %s: resourceVersion %s expired, relisting", self.rid, self.rv)
                    self.rv = None
                    continue
                reason = f"{type(exc).__name__}: {exc}".strip()
                if isinstance(exc, ApiException):
                    reason = f"HTTP {exc.status} {exc.reason}"
                self._post(_Failed(self.rid, reason))
                # Jitter keeps a fleet of agents from reconnecting in lockstep after an outage.
                self._stop.wait(backoff * random.uniform(0.8, 1.2))
                backoff = min(backoff * 2, self._config.backoff_max)


class KubernetesSource:
    """The Kubernetes source plugin (implements ``bgp.sources.base.Source``).

    See the module docstring for what it publishes and how it behaves on errors.
    ``api_client`` may be given (a ``kubernetes.client.ApiClient``); otherwise one is built
    from the config when ``run`` starts."""

    def __init__(
        self,
        config: KubernetesSourceConfig,
        *,
        name: str = "kubernetes",
        api_client: Any = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        node = config.node_name or env.get("NODE_NAME")
        if not node:
            raise KubernetesSourceError("kubernetes source: no node name (set node_name or the NODE_NAME environment variable)")
        self.name = name
        self.node_name = node
        self._config = config
        self._api_client = api_client
        self._status = SourceStatus(name=name)
        self._failing: set[str] = set()
        self._relists = 0
        self._rejected: Mapping[str, str] = {}
        self._versions: dict[str, str] = {}

    def status(self) -> SourceStatus:
        """A copy of the current status."""
        s = self._status
        detail = dict(s.detail)
        detail["relists"] = str(self._relists)
        detail["rejected_services"] = str(len(self._rejected))
        for rid, rv in sorted(self._versions.items()):
            detail[f"resource_version/{rid}"] = rv
        if self._rejected:
            detail["rejected"] = "; ".join(f"{k}: {v}" for k, v in sorted(self._rejected.items()))
        return SourceStatus(
            name=s.name,
            synced=s.synced,
            stale=s.stale,
            sync_errors=s.sync_errors,
            last_contact=s.last_contact,
            last_error=s.last_error,
            detail=detail,
        )

    def _build_api_client(self) -> Any:
        from kubernetes import client, config

        cfg = client.Configuration()
        if self._config.host:
            cfg.host = self._config.host
        elif self._config.kubeconfig or self._config.context:
            # kubernetes.config is partly typed; its loaders are not.
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=str(self._config.kubeconfig) if self._config.kubeconfig else None,
                context=self._config.context,
                client_configuration=cfg,
                persist_config=False,
            )
        else:
            config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
        return client.ApiClient(cfg)

    async def _connect(self) -> Any:
        backoff = self._config.backoff_initial
        while True:
            try:
                return await asyncio.to_thread(self._build_api_client)
            except Exception as exc:
                self._status.sync_errors += 1
                self._status.last_error = f"client config: {exc}"
                log.warning("kubernetes source: cannot build API client: %s (retrying)", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._config.backoff_max)

    async def run(self, publish: Publish) -> None:
        """Watch until cancelled, publishing full snapshots on change (see module doc)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[_Msg] = asyncio.Queue()
        stop = threading.Event()

        def post(msg: _Msg) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, msg)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                stop.set()

        own_client = self._api_client is None
        api_client = self._api_client if not own_client else await self._connect()
        namespaces: tuple[str | None, ...] = self._config.namespaces or (None,)
        reflectors: list[_Reflector[Any]] = []
        for ns in namespaces:
            reflectors.append(_Reflector("services", ns, api_client, parse_service, post, self._config, stop))
            reflectors.append(_Reflector("endpointslices", ns, api_client, parse_slice, post, self._config, stop))
        stores: dict[str, dict[str, Any]] = {}
        last: Mapping[str, DesiredService] | None = None
        for r in reflectors:
            r.thread.start()
        try:
            while True:
                batch = [await queue.get()]
                # Coalesce a burst (a relist, a rollout) into one recomputation.
                while not queue.empty():
                    batch.append(queue.get_nowait())
                for msg in batch:
                    self._apply(msg, stores)
                if len(stores) < len(reflectors):
                    continue  # publish nothing until every collection listed once
                if not self._status.synced:
                    self._status.synced = True
                    self._status.stale = bool(self._failing)
                snap = self._snapshot(stores, reflectors)
                if snap.rejected != self._rejected:
                    for key, why in sorted(snap.rejected.items()):
                        if self._rejected.get(key) != why:
                            log.warning("kubernetes source: refusing service %s: %s", key, why)
                    self._rejected = snap.rejected
                if last is None or snap.services != last:
                    last = snap.services
                    publish(self.name, dict(snap.services))
        finally:
            stop.set()
            for r in reflectors:
                r.abort()
            await self._join(reflectors)
            if own_client:
                api_client.close()

    @staticmethod
    async def _join(reflectors: list[_Reflector[Any]]) -> None:
        def join_all() -> None:
            deadline = time.monotonic() + 5.0
            for r in reflectors:
                if r.thread.is_alive():
                    r.thread.join(max(0.0, deadline - time.monotonic()))

        # Cancelled again while stopping: the daemon threads still finish on their own.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(asyncio.to_thread(join_all))

    def _snapshot(self, stores: dict[str, dict[str, Any]], reflectors: list[_Reflector[Any]]) -> Snapshot:
        services: list[ServiceView] = []
        slices: list[SliceView] = []
        for r in reflectors:
            (services if r.kind == "services" else slices).extend(stores[r.rid].values())
        return compute_snapshot(services, slices, self.node_name, source=self.name, default_check=self._config.default_check)

    def _apply(self, msg: _Msg, stores: dict[str, dict[str, Any]]) -> None:
        st = self._status
        if isinstance(msg, _Failed):
            st.sync_errors += 1
            st.last_error = f"{msg.rid}: {msg.error}"
            first = not self._failing
            self._failing.add(msg.rid)
            if st.synced:
                st.stale = True
            if first:
                log.warning("kubernetes API error (%s); keeping the last known services: %s", msg.rid, msg.error)
            else:
                log.info("kubernetes API still failing (%s, %d errors): %s", msg.rid, st.sync_errors, msg.error)
            return
        st.last_contact = time.time()
        if msg.rid in self._failing:
            self._failing.discard(msg.rid)
            if not self._failing:
                st.stale = False
                log.warning("kubernetes API reachable again (%s)", msg.rid)
        if isinstance(msg, _Contact) and msg.rv is not None:
            self._versions[msg.rid] = msg.rv
        if isinstance(msg, _Listed):
            self._versions[msg.rid] = msg.rv
            stores[msg.rid] = dict(msg.items)
            if msg.relist:
                self._relists += 1
        elif isinstance(msg, _Upsert):
            stores.setdefault(msg.rid, {})[msg.key] = msg.item
        elif isinstance(msg, _Delete):
            stores.setdefault(msg.rid, {}).pop(msg.key, None)


if TYPE_CHECKING:  # mypy proves the plugin contract is met; nothing runs
    _contract: Source = KubernetesSource(KubernetesSourceConfig())
