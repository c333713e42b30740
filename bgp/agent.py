"""The agent: sources -> health -> guard rails -> diff -> ExaBGP, as one asyncio program.

Pipeline, in this order and for these reasons:

1. **Sources** publish whole snapshots (``publish(name, {key: DesiredService})``); the agent
   keeps the last one of each, so a source outage keeps its last view in force.
2. **Health**: the :class:`bgp.health.HealthMonitor` runs every configured check; a
   transition marks the state dirty at once (withdrawal latency is fall x interval plus
   one reconcile pass).
3. **Guard rails** (:func:`bgp.guard.plan`) turn desired services plus check states into
   the announce set: allowed lengths and ranges, max prefixes, validated text only.
4. **Diff**: the announce set is compared with what ExaBGP has acknowledged; only the
   difference is sent, withdrawals first, announcements batched by attribute set.
5. **Speaker**: :class:`bgp.speaker.process.ExaBGP`, every command acked before it counts.

One reconcile pass runs at a time (a lock); changes arriving during a pass mark the state
dirty again, so bursts coalesce. After ExaBGP (re)starts, end-of-RIB is sent only once the
sources are synced and every check in use has left UNKNOWN (or ``eor_timeout`` passed):
with graceful restart the leaves keep the previous routes until then, which makes a restart
of the agent hitless. If ExaBGP dies, it is started again and everything re-announced.

This module only wires the parts together; each lives in its own module: the drain state
machine (:mod:`bgp.drain`), the peers' bookkeeping (:mod:`bgp.peers`), what ExaBGP acked
and the send step (:mod:`bgp.ribout`), the sources' views and the drain marker on disk
(:mod:`bgp.snapshots`), the control socket (:mod:`bgp.control`), the source kinds
(:mod:`bgp.sources.registry`) and the computed rows of ``status`` (:mod:`bgp.status`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable, Mapping
from ipaddress import IPv4Network, IPv6Network
from typing import Any

from bgp import drain as drainsm
from bgp import guard
from bgp.config import AgentConfig
from bgp.configfile import ConfigError
from bgp.control import ControlServer
from bgp.fileio import try_lock
from bgp.health import HealthMonitor, Status, Transition
from bgp.metrics import AgentMetrics
from bgp.peers import PeerInfo, Peers
from bgp.refusals import Refusals
from bgp.ribout import RibOut
from bgp.snapshots import DrainMarker, SnapshotStore
from bgp.sources.base import DesiredService, Source, run_forever
from bgp.sources.registry import make_sources
from bgp.speaker import commands, exabgp_conf
from bgp.speaker.commands import RouteAttributes
from bgp.speaker.events import Event
from bgp.speaker.process import ExaBGP, SpeakerError
from bgp.status import peer_rows, prefix_rows, source_rows

log = logging.getLogger(__name__)

IPNet = IPv4Network | IPv6Network

LOCK_FILE = "agent.lock"
STOP_WITHDRAW_TIMEOUT = 10.0


class Agent:
    """The node agent. Create it with a validated config, then ``await run()``.

    A caller may rely on: :meth:`run` returns 0 only after everything it announced has been
    withdrawn and (``track_sent``) seen sent (stop); 1 when a withdrawal was refused by
    ExaBGP or not seen sent within the stop timeout, or when ExaBGP could not be started;
    :meth:`drain`, :meth:`undrain`, :meth:`stop` may be called from signal handlers and
    the control socket at any time; :meth:`status` is a JSON-able snapshot."""

    def __init__(self, config: AgentConfig, metrics: AgentMetrics | None = None, sources: list[Source] | None = None) -> None:
        self.config = config
        self.metrics = metrics or AgentMetrics()
        self.state_dir = config.state_dir
        self._sources: list[Source] = sources if sources is not None else make_sources(config)
        self._store = SnapshotStore(self.state_dir)
        self._marker = DrainMarker(self.state_dir)
        self._monitor = HealthMonitor(config.checks, on_change=self._on_check_change)
        self._dirty = asyncio.Event()
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()
        self._plan = guard.Plan()
        self._peers = Peers(config.peers)
        self._rib = RibOut(self._peers, self.metrics, config.exabgp.batch, config.exabgp.track_sent)
        self._speaker: ExaBGP | None = None
        self._eor_sent = False
        self._drain = drainsm.SERVING
        self._drain_timer: asyncio.TimerHandle | None = None
        self._stopping = False
        self._retry_timer: asyncio.TimerHandle | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.reconcile_passes = 0

    # -- control -------------------------------------------------------------------------

    def drain(self, delay: float | None = None) -> dict[str, Any]:
        """Re-announce everything with GRACEFUL_SHUTDOWN, withdraw after ``delay``
        (config ``drain.delay`` if None). Draining again restarts the delay."""
        wait = self.config.drain.delay if delay is None else delay
        if self._drain.withdrawn:
            # Already out of service: a second drain must not bring the routes back.
            return {"ok": True, "draining": True, "delay": 0.0, "prefixes": 0}
        loop = asyncio.get_running_loop()
        self._drain = drainsm.drain(self._drain, loop.time(), wait, self._rib.current)
        self._marker.record(True)
        if self._drain_timer is not None:
            self._drain_timer.cancel()
        self._drain_timer = loop.call_at(self._drain.deadline or loop.time(), self._drain_due)
        self.metrics.draining.set(1)
        log.info("drain requested", extra={"delay": wait, "prefixes": len(self._drain.drain_set)})
        self._dirty.set()
        return {"ok": True, "draining": True, "delay": wait, "prefixes": len(self._drain.drain_set)}

    def undrain(self) -> dict[str, Any]:
        """Stop draining: announce normally again."""
        if self._drain_timer is not None:
            self._drain_timer.cancel()
            self._drain_timer = None
        self._drain = drainsm.undrain(self._drain)
        self._marker.record(False)
        self.metrics.draining.set(0)
        log.info("undrain requested")
        self._dirty.set()
        return {"ok": True, "draining": False}

    def stop(self) -> None:
        """Withdraw everything, wait until ExaBGP sent it, stop (``run`` then returns 0)."""
        log.info("stop requested")
        self._stop.set()

    def _drain_due(self) -> None:
        loop = asyncio.get_running_loop()
        self._drain = drainsm.tick(self._drain, loop.time())
        if self._drain.deadline is not None and not self._drain.withdrawn:  # woken a hair early
            self._drain_timer = loop.call_at(self._drain.deadline, self._drain_due)
        elif self._drain.withdrawn:
            log.info("drain delay over: withdrawing")
            self._dirty.set()

    # -- inputs --------------------------------------------------------------------------

    def publish(self, source: str, snapshot: Mapping[str, DesiredService]) -> None:
        """The :data:`bgp.sources.base.Publish` callback given to every source."""
        self._store.publish(source, snapshot)
        self._dirty.set()

    async def _on_check_change(self, name: str, t: Transition) -> None:
        self.metrics.observe_check(name, t.new.value)
        log.info("check changed", extra={"check": name, "from": t.old.value, "to": t.new.value})
        self._dirty.set()

    def _on_event(self, event: Event) -> None:
        if self._speaker is not None and self._speaker.last_contact is not None:
            self.metrics.api_contact.set(self._speaker.last_contact)
        peer = self._peers.on_event(event)
        if peer is None:
            return
        self.metrics.peer_up.labels(peer.name).set(1 if peer.state == "up" else 0)
        if peer.state == "up" and self._eor_sent:
            # ExaBGP re-sends its adj-rib-out on a new session by itself; the end-of-RIB
            # after it is ours to send (manual-eor).
            self._tasks.append(asyncio.get_running_loop().create_task(self._send_eor([peer])))

    # -- the pipeline ----------------------------------------------------------------------

    def _target(self) -> dict[IPNet, RouteAttributes]:
        services = self._store.merged()
        self._plan = guard.plan(services, self._monitor.healthy, self.config.checks, self.config, self._drain.draining)
        self.metrics.observe_decisions(d.state for d in self._plan.decisions.values())
        return drainsm.select_announce(self._plan.announce, self._drain, self._stopping)

    async def _apply(self, target: Mapping[IPNet, RouteAttributes]) -> None:
        """Send the difference between ``target`` and what ExaBGP has acked. Caller holds the lock."""
        speaker = self._speaker
        if speaker is None or not speaker.running:
            return
        await self._rib.apply(speaker, target, asyncio.get_running_loop().time())
        self._schedule_retry()

    def _schedule_retry(self) -> None:
        due = self._rib.refusals.next_retry()
        if self._retry_timer is not None:
            self._retry_timer.cancel()
            self._retry_timer = None
        if due is not None and not self._stopping:
            self._retry_timer = asyncio.get_running_loop().call_at(due, self._dirty.set)

    async def _reconcile_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            async with self._lock:
                try:
                    t0 = time.monotonic()
                    target = self._target()
                    log.debug("planned", extra={"ms": round((time.monotonic() - t0) * 1000, 1), "prefixes": len(target)})
                    await self._apply(target)
                    self.reconcile_passes += 1
                except SpeakerError as e:
                    log.warning("reconcile interrupted: %s", e)

    def _settled(self) -> bool:
        sources_ok = all(s.status().synced for s in self._sources)
        in_use = {svc.check for svc in self._store.merged().values() if svc.check}
        checks_ok = all(
            self._monitor.state(c).status is not Status.UNKNOWN for c in in_use if c in self.config.checks
        )
        return sources_ok and checks_ok

    async def _settle_then_eor(self) -> None:
        """After a (re)start of ExaBGP: announce, then send end-of-RIB (manual-eor)."""
        deadline = time.monotonic() + self.config.graceful_restart.eor_timeout
        while not self._settled() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if not self._settled():
            log.warning("sending end-of-RIB before sources/checks settled (eor_timeout)")
        async with self._lock:
            await self._apply(self._target())
        await self._send_eor(self._peers.up())
        self._eor_sent = True
        log.info("end-of-RIB sent", extra={"announced": len(self._rib.current)})

    async def _send_eor(self, peers: list[PeerInfo]) -> None:
        speaker = self._speaker
        if speaker is None or not speaker.running:
            return
        lines = [commands.end_of_rib(fam, [commands.ip(p.address)]) for p in peers for fam in p.families]
        if lines:
            async with self._lock:
                outcomes = await speaker.send_detailed(lines)
            for line, outcome in zip(lines, outcomes, strict=True):
                self.metrics.commands.labels("done" if outcome.ok else "error").inc()
                if not outcome.ok:  # a session that went down meanwhile gets one when it is back
                    log.warning("exabgp refused end-of-RIB", extra={"command": line, "reason": outcome.reason})

    # -- lifecycle -------------------------------------------------------------------------

    async def _start_speaker(self) -> ExaBGP:
        conf, api = exabgp_conf.write(self.config, self.state_dir)
        speaker = ExaBGP(conf, api, exabgp_conf.environment(self.config), self._on_event, self.config.exabgp.command)
        await speaker.start()
        return speaker

    async def _speaker_loop(self, first: asyncio.Future[None]) -> None:
        """Keep ExaBGP running; on an unexpected exit start it again and re-announce."""
        delay = 1.0
        while True:
            self._rib.reset()
            self._eor_sent = False
            self._peers.reset()
            try:
                self._speaker = await self._start_speaker()
            except (SpeakerError, OSError, ConfigError) as e:
                if not first.done():
                    first.set_exception(e)
                    return
                log.error("could not start ExaBGP: %s", e)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            if not first.done():
                first.set_result(None)
            delay = 1.0
            settle = asyncio.get_running_loop().create_task(self._settle_then_eor())
            self._dirty.set()
            code = await self._speaker.wait_closed()
            settle.cancel()
            if self._stopping:
                return
            log.error("ExaBGP exited unexpectedly; starting it again", extra={"code": code})
            self.metrics.speaker_restarts.inc()
            await self._speaker.stop()
            await asyncio.sleep(delay)

    async def run(self) -> int:
        """Run until :meth:`stop`; returns the process exit code."""
        loop = asyncio.get_running_loop()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # One agent per state dir: a second one would take over the control socket and
        # start a second ExaBGP announcing the same routes.
        lock_fd = try_lock(self.state_dir / LOCK_FILE)
        if lock_fd is None:
            log.error("another bgp-agent is running with state dir %s", self.state_dir)
            return 1
        try:
            return await self._run_locked(loop)
        finally:
            os.close(lock_fd)

    async def _run_locked(self, loop: asyncio.AbstractEventLoop) -> int:
        signals: dict[int, Callable[[], object]] = {
            signal.SIGTERM: self.stop, signal.SIGINT: self.stop, signal.SIGUSR1: self.drain, signal.SIGUSR2: self.undrain
        }
        for sig, handler in signals.items():
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, handler)
        control = ControlServer(self.state_dir, self)
        await control.start()
        self.metrics.start(self.config.checks, (p.name for p in self._peers))
        self._store.preload(s.name for s in self._sources)
        if self._marker.present():
            log.warning("this node was drained before the agent restarted: announcing nothing until undrain")
            self._drain = drainsm.RESTORED
            self.metrics.draining.set(1)
        first: asyncio.Future[None] = loop.create_future()
        speaker_task = loop.create_task(self._speaker_loop(first))
        try:
            await first
        except (SpeakerError, OSError, ConfigError) as e:
            control.close()
            if isinstance(e, ConfigError):
                raise  # the CLI reports it like any config problem (exit 2)
            log.error("cannot start ExaBGP: %s", e)
            return 1
        self._tasks += [
            loop.create_task(self._reconcile_loop()),
            loop.create_task(self._monitor.run()),
            loop.create_task(self._watch_sources()),
            loop.create_task(self._store.keep_saved()),
        ]
        self._tasks += [loop.create_task(run_forever(s, self.publish)) for s in self._sources]
        log.info("agent running", extra={"peers": len(self._peers), "checks": len(self.config.checks)})
        await self._stop.wait()

        # Stop: a node that leaves must withdraw first; graceful restart would otherwise
        # keep its routes on the leaves as stale for restart_time.
        self._stopping = True
        try:
            async with asyncio.timeout(STOP_WITHDRAW_TIMEOUT):
                async with self._lock:
                    self._rib.refusals = Refusals()  # a stop tries every withdrawal once, now
                    await self._apply(self._target())
        except (SpeakerError, TimeoutError) as e:
            log.warning("could not withdraw before stopping: %s", e or "timeout")
        all_sent = await self._peers.wait_withdrawn(STOP_WITHDRAW_TIMEOUT, self.config.exabgp.track_sent)
        code = 0
        if self._rib.current or not all_sent:
            # the leaves keep what is left as stale routes for the restart time: say so
            left = sorted(p.with_prefixlen for p in self._rib.current)
            log.error(
                "stopping before every withdrawal was seen sent",
                extra={"not_withdrawn": ",".join(left[:20]), "count": len(left), "unconfirmed": not all_sent},
            )
            code = 1
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._speaker is not None:
            await self._speaker.stop()
        speaker_task.cancel()
        await asyncio.gather(speaker_task, return_exceptions=True)
        control.close()
        # A clean stop has withdrawn everything; the next start begins in service (the
        # kubelet runs preStop, hence a drain, before every container stop).
        if self._retry_timer is not None:
            self._retry_timer.cancel()
        if code == 0:
            self._marker.record(False)
        log.info("agent stopped", extra={"code": code})
        return code

    async def _watch_sources(self) -> None:
        while True:
            if self._speaker is not None and self._speaker.last_contact is not None:
                self.metrics.api_contact.set(self._speaker.last_contact)
            self.metrics.observe_sources(s.status() for s in self._sources)
            await asyncio.sleep(1.0)

    # -- status ----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Peers, prefixes, checks and sources, as documented for ``status --json``."""
        speaker = self._speaker
        return {
            "ok": True,
            "draining": self._drain.draining,
            "drain_withdrawn": self._drain.withdrawn,
            "eor_sent": self._eor_sent,
            "exabgp_pid": speaker.pid if speaker else None,
            "exabgp_version": speaker.version if speaker else None,
            "last_api_contact": speaker.last_contact if speaker else None,
            "announced": len(self._rib.current),
            "failed": len(self._rib.refusals.failed()),
            "peers": peer_rows(self._peers),
            "prefixes": prefix_rows(self._plan, self._rib.current, self._drain.draining, self._rib.refusals),
            "checks": {
                name: {"status": st.status.value, "oks": st.oks, "fails": st.fails}
                for name, st in self._monitor.states().items()
            },
            "sources": source_rows(s.status() for s in self._sources),
            "refused_services": self._plan.refused_services,
        }
