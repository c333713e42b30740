"""The static source: the ``services`` list of the agent config, published once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from bgp.config import ServiceConfig
from bgp.sources.base import DesiredService, Publish, SourceStatus


def services_to_desired(services: Sequence[ServiceConfig], prefix: str, source: str) -> dict[str, DesiredService]:
    """``{key: DesiredService}`` for config-style services; keys are ``prefix + name``."""
    out: dict[str, DesiredService] = {}
    for svc in services:
        key = prefix + svc.name
        out[key] = DesiredService(
            key=key,
            prefixes=svc.networks(),
            check=svc.check,
            communities=svc.communities,
            large_communities=svc.large_communities,
            source=source,
        )
    return out


class StaticSource:
    """Publishes the configured services once, then waits; always synced.
    Keys are ``static/<name>``."""

    def __init__(self, services: Sequence[ServiceConfig], name: str = "static") -> None:
        self.name = name
        self._snapshot = services_to_desired(services, "static/", name)
        self._status = SourceStatus(name=name)

    async def run(self, publish: Publish) -> None:
        publish(self.name, self._snapshot)
        self._status.synced = True
        self._status.last_contact = time.time()
        await asyncio.Event().wait()

    def status(self) -> SourceStatus:
        return self._status
