"""The contract every source of desired prefixes implements.

A source watches something (a config list, a directory, the Kubernetes API) and
publishes its *whole* current view as a snapshot whenever it changes. The agent merges
the snapshots of all sources, runs health checks and guard rails, and announces the
result. A source never withdraws by itself on errors: on an outage it simply stops
publishing, so the last snapshot stays in force, and it reports that in ``status()``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network
from typing import Protocol

IPNet = IPv4Network | IPv6Network

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DesiredService:
    """One service as a source sees it.

    ``key`` is unique across all sources (``static/dns``, ``k8s/default/web``);
    ``check`` names a health check of the agent config (None: announce while desired);
    ``communities`` and ``large_communities`` are added to the configured attributes.
    Values are raw: guard rails validate them before anything reaches ExaBGP."""

    key: str
    prefixes: frozenset[IPNet]
    check: str | None = None
    communities: tuple[str, ...] = ()
    large_communities: tuple[str, ...] = ()
    source: str = ""


@dataclass
class SourceStatus:
    """Health of a source, for metrics, logs and ``bgp-agent status``."""

    name: str
    synced: bool = False
    stale: bool = False
    sync_errors: int = 0
    last_contact: float | None = None  # time.time() of the last successful contact
    last_error: str | None = None
    detail: dict[str, str] = field(default_factory=dict)


Publish = Callable[[str, Mapping[str, DesiredService]], None]
"""``publish(source_name, {key: DesiredService})``: the source's complete current view."""


class Source(Protocol):
    """A plugin that produces desired services. Run as one asyncio task."""

    name: str

    async def run(self, publish: Publish) -> None:
        """Watch forever, calling ``publish`` with a full snapshot on every change.
        Must survive errors of what it watches (retry with backoff) and return only
        when cancelled."""
        ...

    def status(self) -> SourceStatus:
        """Current health of this source."""
        ...


async def run_forever(source: Source, publish: Publish, retry: float = 1.0) -> None:
    """Run ``source``; if it raises, log it and start it again after ``retry`` seconds
    (a broken source must not take the agent down, nor stop its last view being served)."""
    while True:
        try:
            await source.run(publish)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("source %s failed; restarting it", source.name)
            await asyncio.sleep(retry)
