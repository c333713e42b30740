"""The directory source: every ``*.yaml`` file in a directory is a list of services.

The directory is polled (``poll_interval``); a change of any file's name, size or mtime
re-reads all of them. A file that does not parse or validate keeps its last good content
(nothing is withdrawn because of a typo) and is reported in ``status()`` and the logs.
Keys are ``dir/<file stem>/<service name>``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from pydantic import TypeAdapter

from bgp import configfile
from bgp.config import DirectorySourceConfig, ServiceConfig, check_name
from bgp.configfile import ConfigError, Problem
from bgp.sources.base import DesiredService, Publish, SourceStatus
from bgp.sources.static import services_to_desired

log = logging.getLogger(__name__)

_SERVICES = TypeAdapter(list[ServiceConfig])


def read_services_file(path: Path) -> dict[str, DesiredService]:
    """Parse one file; raises :class:`ConfigError` with every problem (``FILE:LINE: path: message``)."""
    try:
        stem = check_name(path.stem)
    except ValueError as e:
        raise ConfigError([Problem(str(path), 0, "", f"file name: {e}")]) from None
    data, lines = configfile.read_yaml(path)
    services = configfile.validate(_SERVICES, [] if data is None else data, str(path), lines)
    return services_to_desired(services, f"dir/{stem}/", "directory")


class DirectorySource:
    """Publishes the union of every file's services whenever a file changes."""

    def __init__(self, config: DirectorySourceConfig, name: str = "directory") -> None:
        self.name = name
        self._config = config
        self._status = SourceStatus(name=name)
        self._good: dict[Path, dict[str, DesiredService]] = {}

    def _fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        entries = []
        for p in sorted(self._config.path.glob("*.yaml")):
            try:
                st = p.stat()
            except OSError:
                continue
            entries.append((p.name, st.st_size, st.st_mtime_ns))
        return tuple(entries)

    def scan(self) -> dict[str, DesiredService]:
        """Read every file now; returns the merged snapshot (last good content on errors)."""
        errors: list[str] = []
        present = set()
        for p in sorted(self._config.path.glob("*.yaml")):
            present.add(p)
            try:
                self._good[p] = read_services_file(p)
            except ConfigError as e:
                errors += e.lines()
        for gone in set(self._good) - present:
            del self._good[gone]
        self._status.last_contact = time.time()
        if errors:
            self._status.sync_errors += len(errors)
            self._status.last_error = "; ".join(errors)
            for text in errors:
                log.warning("directory source: %s", text)
        else:
            self._status.last_error = None
        merged: dict[str, DesiredService] = {}
        for p in sorted(self._good):
            merged.update(self._good[p])
        return merged

    async def run(self, publish: Publish) -> None:
        last: tuple[tuple[str, int, int], ...] | None = None
        while True:
            try:
                fp = self._fingerprint()
                if fp != last or not self._status.synced:
                    last = fp
                    t0 = time.monotonic()
                    snapshot = self.scan()
                    ms = round((time.monotonic() - t0) * 1000, 1)
                    log.debug("directory scanned", extra={"ms": ms, "services": len(snapshot)})
                    publish(self.name, snapshot)
                    self._status.synced = True
                    self._status.stale = False
            except OSError as e:
                self._status.sync_errors += 1
                self._status.stale = True
                self._status.last_error = str(e)
                log.warning("directory source: %s", e)
            await asyncio.sleep(self._config.poll_interval)

    def status(self) -> SourceStatus:
        return self._status
