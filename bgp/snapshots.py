"""What the agent keeps in its state dir across restarts: each source's last view and the
drain marker.

- ``sources/<name>.json``: the last snapshot a source published, written (atomically, at
  most once a second) when it changes, and preloaded at start, so a restart during an
  API outage keeps announcing the last known view until the source publishes again.
  Preloaded views get the same guard rails as fresh ones.
- ``drained``: present while the node is drained, so a crash and restart does not undo
  the operator's drain.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping
from ipaddress import ip_network
from pathlib import Path

from bgp.fileio import write_atomic
from bgp.sources.base import DesiredService

log = logging.getLogger(__name__)

SNAPSHOT_DIR = "sources"
DRAIN_MARKER = "drained"
SAVE_INTERVAL = 1.0


def dump_snapshot(snapshot: Mapping[str, DesiredService]) -> str:
    """A source's view as JSON (saved in the state dir)."""
    return json.dumps(
        [
            {
                "key": svc.key,
                "prefixes": sorted(p.with_prefixlen for p in svc.prefixes),
                "check": svc.check,
                "communities": list(svc.communities),
                "large_communities": list(svc.large_communities),
                "source": svc.source,
            }
            for svc in (snapshot[k] for k in sorted(snapshot))
        ]
    )


def load_snapshot(text: str) -> dict[str, DesiredService]:
    """Inverse of :func:`dump_snapshot`; ValueError (or KeyError) on anything malformed."""
    data = json.loads(text)
    if not isinstance(data, list):
        raise ValueError("not a list")
    out: dict[str, DesiredService] = {}
    for item in data:
        if not isinstance(item, dict):
            raise ValueError("not a list of objects")
        check = item.get("check")
        svc = DesiredService(
            key=str(item["key"]),
            prefixes=frozenset(ip_network(str(p), strict=True) for p in item["prefixes"]),
            check=None if check is None else str(check),
            communities=tuple(str(c) for c in item.get("communities", [])),
            large_communities=tuple(str(c) for c in item.get("large_communities", [])),
            source=str(item.get("source", "")),
        )
        out[svc.key] = svc
    return out


class SnapshotStore:
    """The last view of every source: in memory (what the agent plans from) and saved in
    ``state_dir/sources`` (what a restarted agent starts from)."""

    def __init__(self, state_dir: Path) -> None:
        self.folder = state_dir / SNAPSHOT_DIR
        self.views: dict[str, dict[str, DesiredService]] = {}
        self._unsaved: set[str] = set()

    def publish(self, name: str, snapshot: Mapping[str, DesiredService]) -> None:
        """Source ``name`` published a new view: in force now, saved at the next round of
        :meth:`keep_saved`."""
        self.views[name] = dict(snapshot)
        self._unsaved.add(name)

    def merged(self) -> dict[str, DesiredService]:
        """Every source's services in one mapping (keys are unique across sources)."""
        out: dict[str, DesiredService] = {}
        for name in sorted(self.views):
            out.update(self.views[name])
        return out

    def preload(self, names: Iterable[str]) -> None:
        """Put the saved view of each named source that has a readable one in force, unless
        the source already published."""
        for name in names:
            path = self.folder / f"{name}.json"
            try:
                snapshot = load_snapshot(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                continue
            except (OSError, ValueError, KeyError, TypeError) as e:
                log.warning("ignoring saved snapshot %s: %r", path, e)
                continue
            self.views.setdefault(name, snapshot)
            log.info("preloaded last known view", extra={"source": name, "services": len(snapshot)})

    async def keep_saved(self) -> None:
        """Write changed views, at most once every :data:`SAVE_INTERVAL` (runs until cancelled)."""
        self.folder.mkdir(exist_ok=True)
        while True:
            await asyncio.sleep(SAVE_INTERVAL)
            for name in sorted(self._unsaved):
                self._unsaved.discard(name)
                text = dump_snapshot(self.views.get(name, {}))
                try:
                    await asyncio.to_thread(write_atomic, self.folder / f"{name}.json", text)
                except OSError as e:
                    log.warning("cannot save the view of source %s: %s", name, e)


class DrainMarker:
    """``state_dir/drained``: present while the node is drained."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / DRAIN_MARKER

    def present(self) -> bool:
        return self.path.exists()

    def record(self, draining: bool) -> None:
        """Write or remove the marker; a failure is logged, not raised (the drain itself
        must still happen)."""
        try:
            if draining:
                write_atomic(self.path, "drained\n")
            else:
                self.path.unlink(missing_ok=True)
        except OSError as e:
            log.warning("cannot record the drain state in %s: %s", self.path, e)
