"""A small Kubernetes API server for tests: the real list/watch protocol, nothing else.

Serves on 127.0.0.1 (random port), HTTP/1.1:

* ``GET /api/v1/services`` and ``/api/v1/namespaces/{ns}/services``
* ``GET /apis/discovery.k8s.io/v1/endpointslices`` and ``.../namespaces/{ns}/endpointslices``

A list answers ``{kind: ServiceList, metadata: {resourceVersion}, items}``. With
``?watch=true&resourceVersion=N`` it streams, chunked, one JSON event per line
(``ADDED``/``MODIFIED``/``DELETED``, and ``BOOKMARK`` when ``allowWatchBookmarks``) for
every change after N, until ``timeoutSeconds``. A resourceVersion older than the last
``compact()`` gets ``410 Gone``: an ``ERROR`` event carrying a ``Status`` with code 410, as
the real API server does, or HTTP 410 when ``gone_as_http`` is set.

A list with ``limit=N`` answers at most N items and, when more remain, a
``metadata.continue`` token; a list with that ``continue`` token answers the next page of
the same snapshot (the resourceVersion of the first page), as etcd-backed lists do.
``compact()`` expires every continue token: the next page then gets ``410`` (reason
``Expired``). ``list_requests`` records ``(plural, limit, continue)`` of every list.

Tests change objects with ``apply``/``delete``, force expiry with ``compact`` and
``expire_watches``, send ``bookmark``, and simulate an outage with ``stop``/``start`` (the
port stays the same; open connections are cut). Counters record list and watch requests.
"""

from __future__ import annotations

import contextlib
import copy
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

KINDS: dict[str, tuple[str, str]] = {
    # plural: (kind, apiVersion)
    "services": ("Service", "v1"),
    "endpointslices": ("EndpointSlice", "discovery.k8s.io/v1"),
}
PREFIXES = {"services": "/api/v1", "endpointslices": "/apis/discovery.k8s.io/v1"}


def _route(path: str) -> tuple[str, str | None] | None:
    """URL path -> (plural, namespace or None for all), or None when not served."""
    for plural, prefix in PREFIXES.items():
        if path == f"{prefix}/{plural}":
            return plural, None
        parts = path[len(prefix) :].strip("/").split("/") if path.startswith(prefix + "/") else []
        if len(parts) == 3 and parts[0] == "namespaces" and parts[2] == plural:
            return plural, parts[1]
    return None


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class LocalApiServer:
    """The server and its object store. Thread-safe; every mutation bumps one global
    resourceVersion (like etcd), records an event, and wakes the watches."""

    def __init__(self, *, gone_as_http: bool = False) -> None:
        self.gone_as_http = gone_as_http
        self._cond = threading.Condition()
        self._rv = 100
        self._objects: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}
        self._events: list[tuple[int, str, str, dict[str, Any]]] = []  # rv, plural, type, object
        self._compacted = 0
        self._expire_gen = 0
        self._bookmark_gen = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self.port = 0
        self.lists: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.watches: dict[str, int] = dict.fromkeys(KINDS, 0)
        self._streaming: set[int] = set()  # indexes into watch_requests of open watch streams
        self.watch_requests: list[tuple[str, str, bool]] = []  # plural, resourceVersion, allowWatchBookmarks
        self.paths: list[str] = []  # every request path, in order
        self.authorizations: set[str] = set()  # Authorization headers seen (not checked)
        self.list_requests: list[tuple[str, int | None, str | None]] = []  # plural, limit, continue
        self._pages: dict[str, tuple[int, list[dict[str, Any]]]] = {}  # continue snapshot id -> (rv, items)
        self.expire_next_continue = False  # the next continue request gets 410 Expired (once)
        self._page_ids = 0

    # -- lifecycle -------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen (again) on the same port."""
        handler = type("Handler", (_Handler,), {"api": self})
        server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        server.daemon_threads = True
        server.block_on_close = False
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Go down: stop listening and cut every open connection (an outage)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._cond:
            conns = list(self._conns)
            self._cond.notify_all()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(5)
        with self._cond:  # the cut watches have ended once their handlers have returned
            if not self._cond.wait_for(lambda: not self._streaming, 5.0):
                raise TimeoutError("watch streams still open after stop")

    @property
    def up(self) -> bool:
        return self._server is not None

    # -- the store -------------------------------------------------------------------
    @property
    def resource_version(self) -> int:
        with self._cond:
            return self._rv

    def apply(self, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or replace an object (keyed by namespace/name); returns the stored copy."""
        kind, api_version = KINDS[plural]
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        key = f"{meta['namespace']}/{meta['name']}"
        with self._cond:
            self._rv += 1
            old = self._objects[plural].get(key)
            meta["resourceVersion"] = str(self._rv)
            meta.setdefault("uid", old["metadata"]["uid"] if old else f"uid-{self._rv}")
            obj["kind"], obj["apiVersion"] = kind, api_version
            self._objects[plural][key] = obj
            self._events.append((self._rv, plural, "MODIFIED" if old else "ADDED", obj))
            self._cond.notify_all()
            return copy.deepcopy(obj)

    def delete(self, plural: str, namespace: str, name: str) -> None:
        with self._cond:
            obj = self._objects[plural].pop(f"{namespace}/{name}")
            self._rv += 1
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self._rv)
            self._events.append((self._rv, plural, "DELETED", obj))
            self._cond.notify_all()

    @contextlib.contextmanager
    def atomically(self) -> Iterator[None]:
        """Hold the store lock: watches see the changes made inside as one step."""
        with self._cond:
            yield

    def compact(self) -> None:
        """Forget history: a watch from any resourceVersion before now gets 410 Gone, and
        so does the next page of a list begun before (its continue token expired)."""
        with self._cond:
            self._compacted = self._rv
            self._events.clear()
            self._pages.clear()

    def expire_watches(self) -> None:
        """Compact and end every open watch with an ERROR 410 event."""
        with self._cond:
            self._compacted = self._rv
            self._events.clear()
            self._expire_gen += 1
            self._cond.notify_all()

    def bookmark(self) -> None:
        """Send a BOOKMARK at the current resourceVersion to every watch that allows them."""
        with self._cond:
            self._bookmark_gen += 1
            self._cond.notify_all()

    @property
    def active_watches(self) -> int:
        """Watch streams open now."""
        with self._cond:
            return len(self._streaming)

    def watches_open_since(self, first_request: int) -> int:
        """Watch streams open now that were requested as ``watch_requests[first_request]``
        or later (so a test can tell reopened watches from old ones still closing)."""
        with self._cond:
            return sum(1 for i in self._streaming if i >= first_request)

    # -- request side (called by the handler) ----------------------------------------
    def _list(
        self, plural: str, namespace: str | None, limit: int | None = None, cont: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of a list request, one page of it with ``limit``."""
        kind, api_version = KINDS[plural]
        with self._cond:
            self.list_requests.append((plural, limit, cont))
            if cont:
                snap_id, _, offset_text = cont.partition(":")
                if self.expire_next_continue:
                    self.expire_next_continue = False
                    self._pages.clear()
                if snap_id not in self._pages:
                    return 410, _status(410, "Expired", "The provided continue parameter is too old")
                rv, items = self._pages[snap_id]
                offset = int(offset_text)
            else:
                self.lists[plural] += 1
                items = [
                    o for k, o in sorted(self._objects[plural].items()) if namespace is None or k.startswith(namespace + "/")
                ]
                rv, offset = self._rv, 0
                snap_id = ""
                if limit and len(items) > limit:
                    self._page_ids += 1
                    snap_id = str(self._page_ids)
                    self._pages[snap_id] = (rv, items)  # objects are replaced, never mutated: no copy
            end = len(items) if not limit else offset + limit
            page = [copy.deepcopy(o) for o in items[offset:end]]
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if end < len(items):
            meta["continue"] = f"{snap_id}:{end}"
            meta["remainingItemCount"] = len(items) - end
        for item in page:  # list items carry no kind/apiVersion, like the real server
            item.pop("kind", None)
            item.pop("apiVersion", None)
        return 200, {"kind": f"{kind}List", "apiVersion": api_version, "metadata": meta, "items": page}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    api: LocalApiServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def setup(self) -> None:
        super().setup()
        with self.api._cond:
            self.api._conns.add(self.connection)

    def finish(self) -> None:
        with self.api._cond:
            self.api._conns.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def _send_json(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        with self.api._cond:
            self.api.paths.append(url.path)
            self.api.authorizations.add(self.headers.get("Authorization", ""))
        route = _route(url.path)
        if route is None:
            self._send_json(404, _status(404, "NotFound", f"{url.path} not found"))
            return
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        plural, namespace = route
        if query.get("watch") in ("true", "1"):
            try:
                self._watch(plural, namespace, query)
            except OSError:
                self.close_connection = True
            return
        limit = int(query["limit"]) if query.get("limit") else None
        self._send_json(*self.api._list(plural, namespace, limit, query.get("continue")))

    def _watch(self, plural: str, namespace: str | None, query: dict[str, str]) -> None:
        api = self.api
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        deadline = time.monotonic() + float(query.get("timeoutSeconds", "1800"))
        with api._cond:
            api.watches[plural] += 1
            rv_param = query.get("resourceVersion", "")
            api.watch_requests.append((plural, rv_param, bookmarks))
            index = len(api.watch_requests) - 1
            start = int(rv_param) if rv_param not in ("", "0") else api._rv
            gone = start < api._compacted
            initial = [] if rv_param not in ("", "0") else [
                (api._rv, plural, "ADDED", o) for k, o in sorted(api._objects[plural].items())
                if namespace is None or k.startswith(namespace + "/")]
            expire_gen, bookmark_gen = api._expire_gen, api._bookmark_gen
        if gone and api.gone_as_http:
            self._send_json(410, _status(410, "Expired", f"too old resource version: {start} ({api._compacted})"))
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if gone:
            self._event("ERROR", _status(410, "Expired", f"too old resource version: {start} ({api._compacted})"))
            self._chunk(b"")
            return
        for _rv, _plural, etype, obj in initial:
            self._event(etype, obj)
        pos = start
        kind, api_version = KINDS[plural]
        with api._cond:
            api._streaming.add(index)
        try:
            while True:
                with api._cond:
                    def ready(pos: int = pos, bookmark_gen: int = bookmark_gen) -> bool:
                        return (api._server is None or api._expire_gen != expire_gen
                                or (bookmarks and api._bookmark_gen != bookmark_gen)
                                or any(e[0] > pos for e in api._events))
                    api._cond.wait_for(ready, timeout=max(0.0, deadline - time.monotonic()))
                    if api._server is None:
                        self.close_connection = True
                        return  # down: the connection is being cut
                    if api._expire_gen != expire_gen:
                        self._event("ERROR", _status(410, "Expired", "too old resource version"))
                        break
                    events = [e for e in api._events if e[0] > pos and e[1] == plural
                              and (namespace is None or e[3]["metadata"]["namespace"] == namespace)]
                    if any(e[0] > pos for e in api._events):
                        pos = api._events[-1][0]
                    send_bookmark = bookmarks and api._bookmark_gen != bookmark_gen
                    bookmark_gen = api._bookmark_gen
                    current = api._rv
                for _rv, _plural, etype, obj in events:
                    self._event(etype, obj)
                if send_bookmark:
                    pos = max(pos, current)
                    self._event("BOOKMARK", {"kind": kind, "apiVersion": api_version,
                                             "metadata": {"resourceVersion": str(pos)}})
                if time.monotonic() >= deadline:
                    break
            self._chunk(b"")
        finally:
            with api._cond:
                api._streaming.discard(index)
                api._cond.notify_all()

    def _event(self, etype: str, obj: dict[str, Any]) -> None:
        self._chunk(json.dumps({"type": etype, "object": obj}).encode() + b"\n")
