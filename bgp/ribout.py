"""What ExaBGP has acknowledged, and the one step that changes it: diff, send, record.

:class:`RibOut` holds the routes ExaBGP acked (``current``) and the commands it refused
(:class:`bgp.refusals.Refusals`). :meth:`RibOut.apply` sends the difference between a
target and ``current``, withdrawals first, and counts a change only once ExaBGP acked it: a
refused command leaves ``current`` as it was, is recorded with ExaBGP's reason and retried
or marked failed. The agent (:mod:`bgp.agent`) calls it under its reconcile lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from ipaddress import IPv4Network, IPv6Network

from bgp.metrics import AgentMetrics
from bgp.peers import Peers
from bgp.refusals import Refusals
from bgp.speaker.commands import RouteAttributes
from bgp.speaker.diff import diff
from bgp.speaker.process import ExaBGP

log = logging.getLogger("bgp.agent")

IPNet = IPv4Network | IPv6Network


class RibOut:
    """The acked routes and the refused commands of one ExaBGP process's lifetime."""

    def __init__(self, peers: Peers, metrics: AgentMetrics, batch: int, track_sent: bool) -> None:
        self.current: dict[IPNet, RouteAttributes] = {}
        self.refusals = Refusals()
        self._peers = peers
        self._metrics = metrics
        self._batch = batch
        self._track_sent = track_sent

    def reset(self) -> None:
        """A new ExaBGP process: it has announced nothing yet."""
        self.current = {}

    async def apply(self, speaker: ExaBGP, target: Mapping[IPNet, RouteAttributes], now: float) -> None:
        """Send the difference between ``target`` and what ExaBGP has acked (``now``: the
        event loop's clock, for the retry schedule)."""
        # a refused change is not sent again before it is due (or ever, once failed)
        target = self.refusals.hold(self.current, target, now)
        d = diff(self.current, target, self._peers.selectors(), self._batch)
        for p in d.dropped:
            self.current.pop(p, None)
        if not d.steps:
            return
        if self._track_sent:
            self._peers.expect_withdrawn(d.withdrawn)
        if d.withdrawn:
            self._peers.all_withdrawn.clear()
        t0 = time.monotonic()
        results = await speaker.send_detailed([step.line for step in d.steps])
        announced = withdrawn = 0
        for step, outcome in zip(d.steps, results, strict=True):
            self._metrics.commands.labels("done" if outcome.ok else "error").inc()
            if not outcome.ok:
                # ExaBGP's state did not change: record why, retry later or mark failed
                self.refusals.refused(step.prefixes, step.attrs, outcome.reason, now)
                if step.attrs is None:
                    self._peers.forget_withdrawn(step.prefixes)  # never sent: nothing to wait for
                first = self.refusals.get(step.prefixes[0])
                log.error(
                    "exabgp refused a command",
                    extra={
                        "command": step.line[:200],
                        "reason": outcome.reason,
                        "prefixes": len(step.prefixes),
                        "attempt": first.attempts if first else 0,
                        "failed": bool(first and first.failed),
                    },
                )
                continue
            self.refusals.done(step.prefixes)
            if step.attrs is not None:
                self.current.update(dict.fromkeys(step.prefixes, step.attrs))
                announced += len(step.prefixes)
            else:
                for p in step.prefixes:
                    self.current.pop(p, None)
                withdrawn += len(step.prefixes)
        self._metrics.announced.set(len(self.current))
        self._metrics.failed.set(len(self.refusals.failed()))
        ms = round((time.monotonic() - t0) * 1000, 1)
        log.info("applied", extra={"announced": announced, "withdrawn": withdrawn, "commands": len(d.steps), "ms": ms,
                                   "total": len(self.current)})
        self._peers.settle()
