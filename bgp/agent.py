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
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network
from pathlib import Path
from typing import Any

from bgp import guard
from bgp.config import GRACEFUL_SHUTDOWN, AgentConfig, ConfigError
from bgp.health import HealthMonitor, Status, Transition
from bgp.metrics import AgentMetrics
from bgp.sources.base import DesiredService, Source
from bgp.speaker import commands, exabgp_conf
from bgp.speaker.commands import RouteAttributes
from bgp.speaker.diff import diff
from bgp.speaker.events import Event, Neighbors, PeerState, SentUpdate, neighbor_summary
from bgp.speaker.process import ExaBGP, SpeakerError

log = logging.getLogger(__name__)

IPNet = IPv4Network | IPv6Network
IPAddr = IPv4Address | IPv6Address

CONTROL_SOCKET = "control.sock"
API_SOCKET = "exabgp-api.sock"
EXABGP_CONF = "exabgp.conf"
LOCK_FILE = "agent.lock"
SNAPSHOT_DIR = "sources"
DRAIN_MARKER = "drained"
STOP_WITHDRAW_TIMEOUT = 10.0


def control_socket_path(state_dir: Path) -> Path:
    """Where ``bgp-agent drain/undrain/status`` find the running agent."""
    return state_dir / CONTROL_SOCKET


@dataclass
class PeerInfo:
    """What the agent knows of one configured neighbour."""

    name: str
    address: str
    families: tuple[str, ...]
    state: str = "down"
    since: float = 0.0
    reason: str = ""


@dataclass(frozen=True)
class Mode:
    """The lifecycle state that limits what is announced: stopping, draining (and whether
    the drain delay is over), and the prefixes that were announced when the drain began."""

    stopping: bool = False
    draining: bool = False
    drain_withdrawn: bool = False
    drain_set: frozenset[IPNet] = frozenset()


def select_announce(allowed: Mapping[IPNet, RouteAttributes], mode: Mode) -> dict[IPNet, RouteAttributes]:
    """What to announce, from the guard rails' allowed set (already carrying 65535:0 while
    draining) and the lifecycle. Pure. Stopping or a finished drain announce nothing; a drain
    in progress announces only what was announced when it began (a node being drained takes
    on no new service)."""
    if mode.stopping or (mode.draining and mode.drain_withdrawn):
        return {}
    if mode.draining:
        return {p: a for p, a in allowed.items() if p in mode.drain_set}
    return dict(allowed)


class Agent:
    """The node agent. Create it with a validated config, then ``await run()``.

    A caller may rely on: :meth:`run` returns an exit code only after everything it
    announced has been withdrawn (stop) or after ExaBGP could not be started (1);
    :meth:`drain`, :meth:`undrain`, :meth:`stop` may be called from signal handlers and
    the control socket at any time; :meth:`status` is a JSON-able snapshot."""

    def __init__(self, config: AgentConfig, metrics: AgentMetrics | None = None, sources: list[Source] | None = None) -> None:
        self.config = config
        self.metrics = metrics or AgentMetrics()
        self.state_dir = config.state_dir
        self._sources: list[Source] = sources if sources is not None else make_sources(config)
        self._snapshots: dict[str, Mapping[str, DesiredService]] = {}
        self._unsaved: set[str] = set()
        self._monitor = HealthMonitor(config.checks, on_change=self._on_check_change)
        self._dirty = asyncio.Event()
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()
        self._current: dict[IPNet, RouteAttributes] = {}
        self._plan = guard.Plan()
        self._peers = {
            str(p.address): PeerInfo(p.label, str(p.address), tuple(p.families)) for p in config.peers
        }
        self._speaker: ExaBGP | None = None
        self._eor_sent = False
        self._draining = False
        self._drain_withdrawn = False
        self._drain_set: frozenset[IPNet] = frozenset()
        self._drain_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._pending_withdraw: dict[str, set[IPNet]] = {}
        self._withdrawn_event = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self.reconcile_passes = 0

    # -- control -------------------------------------------------------------------------

    def drain(self, delay: float | None = None) -> dict[str, Any]:
        """Re-announce everything with GRACEFUL_SHUTDOWN, withdraw after ``delay``
        (config ``drain.delay`` if None). Draining again restarts the delay."""
        wait = self.config.drain.delay if delay is None else delay
        if self._draining and self._drain_withdrawn:
            # Already out of service: a second drain must not bring the routes back.
            return {"ok": True, "draining": True, "delay": 0.0, "prefixes": 0}
        if not self._draining:
            self._drain_set = frozenset(self._current)
        self._remember_drain(True)
        self._draining = True
        self._drain_withdrawn = False
        if self._drain_task is not None:
            self._drain_task.cancel()
        self._drain_task = asyncio.get_running_loop().create_task(self._drain_later(wait))
        self.metrics.draining.set(1)
        log.info("drain requested", extra={"delay": wait, "prefixes": len(self._drain_set)})
        self._dirty.set()
        return {"ok": True, "draining": True, "delay": wait, "prefixes": len(self._drain_set)}

    def undrain(self) -> dict[str, Any]:
        """Stop draining: announce normally again."""
        if self._drain_task is not None:
            self._drain_task.cancel()
            self._drain_task = None
        self._draining = False
        self._drain_withdrawn = False
        self._drain_set = frozenset()
        self._remember_drain(False)
        self.metrics.draining.set(0)
        log.info("undrain requested")
        self._dirty.set()
        return {"ok": True, "draining": False}

    def stop(self) -> None:
        """Withdraw everything, wait until ExaBGP sent it, stop (``run`` then returns 0)."""
        log.info("stop requested")
        self._stop.set()

    def _remember_drain(self, draining: bool) -> None:
        # A drained node stays out of service when the agent crashes and restarts, until
        # undrained: the operator's intent must not be undone by a crash.
        marker = self.state_dir / DRAIN_MARKER
        try:
            if draining:
                marker.write_text("drained\n")
            else:
                marker.unlink(missing_ok=True)
        except OSError as e:
            log.warning("cannot record the drain state in %s: %s", marker, e)

    async def _drain_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._drain_withdrawn = True
        log.info("drain delay over: withdrawing")
        self._dirty.set()

    # -- inputs --------------------------------------------------------------------------

    def publish(self, source: str, snapshot: Mapping[str, DesiredService]) -> None:
        """The :data:`bgp.sources.base.Publish` callback given to every source."""
        self._snapshots[source] = dict(snapshot)
        self._unsaved.add(source)
        self._dirty.set()

    def _preload_snapshots(self) -> None:
        """Last known views of the sources, saved by a previous run: in force until each
        source publishes, so a restart during an API outage keeps announcing them."""
        for src in self._sources:
            path = self.state_dir / SNAPSHOT_DIR / f"{src.name}.json"
            try:
                snapshot = load_snapshot(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                continue
            except (OSError, ValueError, KeyError, TypeError) as e:
                log.warning("ignoring saved snapshot %s: %r", path, e)
                continue
            self._snapshots.setdefault(src.name, snapshot)
            log.info("preloaded last known view", extra={"source": src.name, "services": len(snapshot)})

    async def _save_snapshots(self) -> None:
        """Write changed source views to the state dir, at most once a second."""
        folder = self.state_dir / SNAPSHOT_DIR
        folder.mkdir(exist_ok=True)
        while True:
            await asyncio.sleep(1.0)
            for name in sorted(self._unsaved):
                self._unsaved.discard(name)
                text = dump_snapshot(self._snapshots.get(name, {}))
                try:
                    await asyncio.to_thread(_write_atomic, folder / f"{name}.json", text)
                except OSError as e:
                    log.warning("cannot save the view of source %s: %s", name, e)

    async def _on_check_change(self, name: str, t: Transition) -> None:
        self.metrics.check_transitions.labels(name, t.new.value).inc()
        self.metrics.check_up.labels(name).set({Status.UP: 1, Status.DOWN: 0}.get(t.new, -1))
        log.info("check changed", extra={"check": name, "from": t.old.value, "to": t.new.value})
        self._dirty.set()

    def _on_event(self, event: Event) -> None:
        if self._speaker is not None and self._speaker.last_contact is not None:
            self.metrics.api_contact.set(self._speaker.last_contact)
        if isinstance(event, PeerState):
            peer = self._peers.get(event.peer)
            if peer is None:
                return
            if event.state != peer.state:
                log.info("peer state", extra={"peer": peer.name, "state": event.state, "reason": event.reason})
                peer.since = time.time()
            peer.state = event.state
            peer.reason = event.reason
            self.metrics.peer_up.labels(peer.name).set(1 if event.state == "up" else 0)
            if event.state == "up" and self._eor_sent:
                # ExaBGP re-sends its adj-rib-out on a new session by itself; the
                # end-of-RIB after it is ours to send (manual-eor).
                self._tasks.append(asyncio.get_running_loop().create_task(self._send_eor([peer])))
            if event.state != "up":
                self._pending_withdraw.pop(event.peer, None)
                self._check_withdrawn()
        elif isinstance(event, SentUpdate) and event.withdrawn:
            pending = self._pending_withdraw.get(event.peer)
            if pending:
                pending.difference_update(event.withdrawn)
                self._check_withdrawn()
        elif isinstance(event, Neighbors):
            for entry in event.peers:
                address, state, _ = neighbor_summary(entry)
                if address in self._peers:
                    self._peers[address].state = state

    def _check_withdrawn(self) -> None:
        if not any(self._pending_withdraw.values()):
            self._withdrawn_event.set()

    # -- the pipeline ----------------------------------------------------------------------

    def merged(self) -> dict[str, DesiredService]:
        """Every source's services in one mapping (keys are unique across sources)."""
        out: dict[str, DesiredService] = {}
        for name in sorted(self._snapshots):
            out.update(self._snapshots[name])
        return out

    def _target(self) -> dict[IPNet, RouteAttributes]:
        services = self.merged()
        self._plan = guard.plan(services, self._monitor.healthy, self.config.checks, self.config, self._draining)
        self.metrics.desired.set(len(self._plan.decisions))
        decisions = self._plan.decisions.values()
        self.metrics.refused.set(sum(1 for d in decisions if d.state == "refused"))
        self.metrics.unhealthy.set(sum(1 for d in decisions if d.state == "unhealthy"))
        mode = Mode(self._stopping, self._draining, self._drain_withdrawn, self._drain_set)
        return select_announce(self._plan.announce, mode)

    def _peers_for(self, version: int) -> list[PeerInfo] | None:
        """Peers that carry this family; [] = all of them (no neighbor selector needed);
        None = none does."""
        family = "ipv4" if version == 4 else "ipv6"
        carrying = [p for p in self._peers.values() if family in p.families]
        if not carrying:
            return None
        return [] if len(carrying) == len(self._peers) else carrying

    async def _apply(self, target: Mapping[IPNet, RouteAttributes]) -> None:
        """Send the difference between ``target`` and what ExaBGP has acked. Caller holds the lock."""
        speaker = self._speaker
        if speaker is None or not speaker.running:
            return
        selectors: dict[int, list[IPAddr] | None] = {}
        for version in (4, 6):
            peers = self._peers_for(version)
            selectors[version] = None if peers is None else [commands.ip(p.address) for p in peers]
        d = diff(self._current, target, selectors, self.config.exabgp.batch)
        for p in d.dropped:
            self._current.pop(p, None)
        if not d.steps:
            return
        if self.config.exabgp.track_sent:
            for version, gone in d.withdrawn.items():
                family = "ipv4" if version == 4 else "ipv6"
                for peer in self._peers.values():
                    if peer.state == "up" and family in peer.families:
                        self._pending_withdraw.setdefault(peer.address, set()).update(gone)
        if d.withdrawn:
            self._withdrawn_event.clear()
        t0 = time.monotonic()
        results = await speaker.send_each([step.line for step in d.steps])
        announced = withdrawn = 0
        for step, ok in zip(d.steps, results, strict=True):
            self.metrics.commands.labels("done" if ok else "error").inc()
            if not ok:
                log.error("exabgp refused a command", extra={"command": step.line[:200]})
                continue
            for p in step.prefixes:
                if step.attrs is not None:
                    self._current[p] = step.attrs
                    announced += 1
                else:
                    self._current.pop(p, None)
                    withdrawn += 1
        self.metrics.announced.set(len(self._current))
        log.info(
            "applied",
            extra={
                "announced": announced,
                "withdrawn": withdrawn,
                "commands": len(d.steps),
                "ms": round((time.monotonic() - t0) * 1000, 1),
                "total": len(self._current),
            },
        )
        self._check_withdrawn()

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
        in_use = {svc.check for svc in self.merged().values() if svc.check}
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
        await self._send_eor([p for p in self._peers.values() if p.state == "up"])
        self._eor_sent = True
        log.info("end-of-RIB sent", extra={"announced": len(self._current)})

    async def _send_eor(self, peers: list[PeerInfo]) -> None:
        speaker = self._speaker
        if speaker is None or not speaker.running:
            return
        lines = []
        for peer in peers:
            for fam in peer.families:
                lines.append(commands.end_of_rib(fam, [commands.ip(peer.address)]))
        if lines:
            async with self._lock:
                await speaker.send_each(lines)

    # -- lifecycle -------------------------------------------------------------------------

    async def _start_speaker(self) -> ExaBGP:
        cfg = self.config
        passwords = {str(p.address): exabgp_conf.read_password(p, i) for i, p in enumerate(cfg.peers)}
        conf = self.state_dir / EXABGP_CONF
        api = self.state_dir / API_SOCKET
        text = exabgp_conf.render(cfg, exabgp_conf.relay_argv(api), passwords)
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        speaker = ExaBGP(conf, api, exabgp_conf.environment(cfg), self._on_event, cfg.exabgp.command)
        await speaker.start()
        return speaker

    async def _speaker_loop(self, first: asyncio.Future[None]) -> None:
        """Keep ExaBGP running; on an unexpected exit start it again and re-announce."""
        delay = 1.0
        while True:
            self._current = {}
            self._eor_sent = False
            for peer in self._peers.values():
                peer.state = "down"
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

    async def _serve_control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            raw = await asyncio.wait_for(reader.readline(), 5.0)
            try:
                request = json.loads(raw or b"{}")
                cmd = request.get("command")
                if cmd == "status":
                    answer: dict[str, Any] = self.status()
                elif cmd == "drain":
                    delay = request.get("delay")
                    answer = self.drain(float(delay) if delay is not None else None)
                elif cmd == "undrain":
                    answer = self.undrain()
                else:
                    answer = {"ok": False, "error": f"unknown command {cmd!r}"}
            except (ValueError, TypeError, AttributeError) as e:
                answer = {"ok": False, "error": f"bad request: {e}"}
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def run(self) -> int:
        """Run until :meth:`stop`; returns the process exit code."""
        loop = asyncio.get_running_loop()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # One agent per state dir: a second one would take over the control socket and
        # start a second ExaBGP announcing the same routes.
        lock_fd = os.open(self.state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            log.error("another bgp-agent is running with state dir %s", self.state_dir)
            return 1
        try:
            return await self._run_locked(loop)
        finally:
            os.close(lock_fd)

    async def _run_locked(self, loop: asyncio.AbstractEventLoop) -> int:
        for sig, handler in (
            (signal.SIGTERM, self.stop),
            (signal.SIGINT, self.stop),
            (signal.SIGUSR1, self.drain),
            (signal.SIGUSR2, self.undrain),
        ):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, handler)
        control = control_socket_path(self.state_dir)
        with contextlib.suppress(FileNotFoundError):
            control.unlink()
        server = await asyncio.start_unix_server(self._serve_control, path=str(control))
        os.chmod(control, 0o600)
        for name in self.config.checks:
            self.metrics.check_up.labels(name).set(-1)
        for peer in self._peers.values():
            self.metrics.peer_up.labels(peer.name).set(0)
        self._preload_snapshots()
        if (self.state_dir / DRAIN_MARKER).exists():
            log.warning("this node was drained before the agent restarted: announcing nothing until undrain")
            self._draining = self._drain_withdrawn = True
            self.metrics.draining.set(1)
        first: asyncio.Future[None] = loop.create_future()
        speaker_task = loop.create_task(self._speaker_loop(first))
        try:
            await first
        except (SpeakerError, OSError, ConfigError) as e:
            server.close()
            with contextlib.suppress(FileNotFoundError):
                control.unlink()
            if isinstance(e, ConfigError):
                raise  # the CLI reports it like any config problem (exit 2)
            log.error("cannot start ExaBGP: %s", e)
            return 1
        self._tasks += [
            loop.create_task(self._reconcile_loop()),
            loop.create_task(self._monitor.run()),
            loop.create_task(self._watch_sources()),
            loop.create_task(self._save_snapshots()),
        ]
        self._tasks += [loop.create_task(_run_source(s, self.publish)) for s in self._sources]
        log.info("agent running", extra={"peers": len(self._peers), "checks": len(self.config.checks)})
        await self._stop.wait()

        # Stop: a node that leaves must withdraw first; graceful restart would otherwise
        # keep its routes on the leaves as stale for restart_time.
        self._stopping = True
        try:
            async with asyncio.timeout(STOP_WITHDRAW_TIMEOUT):
                async with self._lock:
                    await self._apply(self._target())
        except (SpeakerError, TimeoutError) as e:
            log.warning("could not withdraw before stopping: %s", e or "timeout")
        if self.config.exabgp.track_sent:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._withdrawn_event.wait(), STOP_WITHDRAW_TIMEOUT)
        else:
            # Without reports of sent UPDATEs there is no proof; give ExaBGP a moment.
            await asyncio.sleep(1.0)
        if any(self._pending_withdraw.values()):
            log.warning("stopping before every withdrawal was seen sent")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._speaker is not None:
            await self._speaker.stop()
        speaker_task.cancel()
        await asyncio.gather(speaker_task, return_exceptions=True)
        server.close()
        with contextlib.suppress(FileNotFoundError):
            control.unlink()
        # A clean stop has withdrawn everything; the next start begins in service (the
        # kubelet runs preStop, hence a drain, before every container stop).
        self._remember_drain(False)
        log.info("agent stopped")
        return 0

    async def _watch_sources(self) -> None:
        while True:
            if self._speaker is not None and self._speaker.last_contact is not None:
                self.metrics.api_contact.set(self._speaker.last_contact)
            for s in self._sources:
                st = s.status()
                self.metrics.source_synced.labels(st.name).set(1 if st.synced else 0)
                self.metrics.source_stale.labels(st.name).set(1 if st.stale else 0)
                self.metrics.source_errors.labels(st.name).set(st.sync_errors)
                if st.last_contact is not None:
                    self.metrics.source_contact.labels(st.name).set(st.last_contact)
            await asyncio.sleep(1.0)

    # -- status ----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Peers, prefixes, checks and sources, as documented for ``status --json``."""
        prefixes = []
        for p, d in sorted(self._plan.decisions.items(), key=lambda kv: (kv[0].version, kv[0])):
            if p in self._current:
                state = "draining" if GRACEFUL_SHUTDOWN in self._current[p].communities else "announced"
            elif d.state == "announce":
                state = "withdrawn-drained" if self._draining else "pending"
            elif d.state == "unhealthy":
                state = "withdrawn-unhealthy"
            else:
                state = "refused"
            prefixes.append({
                "prefix": p.with_prefixlen,
                "service": ",".join(d.services),
                "state": state,
                "check": d.check,
                "reason": d.reason,
            })
        for p in sorted(set(self._current) - set(self._plan.decisions), key=lambda n: (n.version, n)):
            prefixes.append({"prefix": p.with_prefixlen, "service": "", "state": "withdrawing", "check": None, "reason": ""})
        speaker = self._speaker
        return {
            "ok": True,
            "draining": self._draining,
            "drain_withdrawn": self._drain_withdrawn,
            "eor_sent": self._eor_sent,
            "exabgp_pid": speaker.pid if speaker else None,
            "exabgp_version": speaker.version if speaker else None,
            "last_api_contact": speaker.last_contact if speaker else None,
            "announced": len(self._current),
            "peers": [
                {"name": p.name, "address": p.address, "state": p.state, "since": p.since, "families": list(p.families)}
                for p in self._peers.values()
            ],
            "prefixes": prefixes,
            "checks": {
                name: {"status": st.status.value, "oks": st.oks, "fails": st.fails}
                for name, st in self._monitor.states().items()
            },
            "sources": [
                {
                    "name": st.name,
                    "synced": st.synced,
                    "stale": st.stale,
                    "sync_errors": st.sync_errors,
                    "last_contact": st.last_contact,
                    "last_error": st.last_error,
                    "detail": dict(st.detail),
                }
                for st in (s.status() for s in self._sources)
            ],
            "refused_services": self._plan.refused_services,
        }


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
    """Inverse of :func:`dump_snapshot`; ValueError on anything malformed. The values get
    the same guard rails as fresh ones before anything is announced."""
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


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


async def _run_source(source: Source, publish: Any) -> None:
    while True:
        try:
            await source.run(publish)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("source %s failed; restarting it", source.name)
            await asyncio.sleep(1.0)


def make_sources(config: AgentConfig) -> list[Source]:
    """The sources the config asks for: static (if any services), directory, kubernetes."""
    from bgp.sources.directory import DirectorySource
    from bgp.sources.static import StaticSource

    sources: list[Source] = []
    if config.services:
        sources.append(StaticSource(config.services))
    if config.sources.directory is not None:
        sources.append(DirectorySource(config.sources.directory))
    if config.sources.kubernetes is not None:
        sources.append(_kubernetes_source(config))
    return sources


def _kubernetes_source(config: AgentConfig) -> Source:
    from bgp.sources.kubernetes import KubernetesSource, KubernetesSourceError

    assert config.sources.kubernetes is not None
    try:
        return KubernetesSource(config.sources.kubernetes)
    except KubernetesSourceError as e:
        raise ConfigError([f"sources.kubernetes: {e}"]) from None
