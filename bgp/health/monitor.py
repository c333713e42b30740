"""HealthMonitor: runs every configured check on its interval and reports transitions."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping

from bgp.health.config import HealthCheck
from bgp.health.probes import ProbeResult, run_probe
from bgp.health.state import CheckState, Transition, initial_state, step

log = logging.getLogger(__name__)

OnChange = Callable[[str, Transition], Awaitable[None] | None]
"""``on_change(check_name, transition)``; may be a coroutine function."""


class HealthMonitor:
    """Runs one asyncio task per check while :meth:`run` runs.

    A caller may rely on: states start UNKNOWN; :meth:`healthy` is True only while a check
    is UP; ``on_change`` is called once per transition, in order per check, and its errors
    are logged, never propagated; a probe never outlives its timeout; cancelling the task
    running :meth:`run` stops every probe (exec probes kill their command)."""

    def __init__(self, checks: Mapping[str, HealthCheck], on_change: OnChange | None = None) -> None:
        self._checks: dict[str, HealthCheck] = dict(checks)
        self._states: dict[str, CheckState] = {name: initial_state() for name in self._checks}
        self._last: dict[str, ProbeResult] = {}
        self._on_change = on_change
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._running = False

    # -- queries -------------------------------------------------------------------------

    def healthy(self, name: str) -> bool:
        """True while check ``name`` is UP; False for unknown names."""
        state = self._states.get(name)
        return state is not None and state.healthy

    def state(self, name: str) -> CheckState:
        """Current state of ``name`` (KeyError if not configured)."""
        return self._states[name]

    def states(self) -> dict[str, CheckState]:
        """A copy of every check's state."""
        return dict(self._states)

    def last_result(self, name: str) -> ProbeResult | None:
        """The latest probe result of ``name``, None before the first probe."""
        return self._last.get(name)

    @property
    def checks(self) -> dict[str, HealthCheck]:
        return dict(self._checks)

    # -- running -------------------------------------------------------------------------

    async def run(self) -> None:
        """Probe every check forever; returns only by cancellation (then stops every probe)."""
        if self._running:
            raise RuntimeError("HealthMonitor.run() is already running")
        self._running = True
        try:
            for name in self._checks:
                self._start(name)
            await asyncio.Event().wait()
        finally:
            self._running = False
            tasks = list(self._tasks.values())
            self._tasks.clear()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def update(self, checks: Mapping[str, HealthCheck]) -> None:
        """Replace the set of checks. A check whose name and config are unchanged keeps its
        state and task; a changed config keeps its state but restarts its probing; a new one
        starts UNKNOWN; a removed one is stopped and forgotten."""
        new = dict(checks)
        for name in list(self._checks):
            if name not in new:
                self._stop(name)
                self._states.pop(name, None)
                self._last.pop(name, None)
        for name, check in new.items():
            old = self._checks.get(name)
            if old == check:
                continue
            self._stop(name)
            self._states.setdefault(name, initial_state())
            self._checks[name] = check
            if self._running:
                self._start(name)
        self._checks = new

    def _start(self, name: str) -> None:
        self._tasks[name] = asyncio.get_running_loop().create_task(self._loop(name), name=f"health:{name}")

    def _stop(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        if task is not None:
            task.cancel()

    async def _loop(self, name: str) -> None:
        loop = asyncio.get_running_loop()
        check = self._checks[name]
        while True:
            started = loop.time()
            result = await run_probe(check)
            await self.feed(name, result)
            # interval is measured between probe starts, so a slow probe does not stretch it.
            await asyncio.sleep(max(0.0, check.interval - (loop.time() - started)))

    async def feed(self, name: str, result: ProbeResult) -> Transition | None:
        """Apply one probe result to check ``name`` and notify on a transition. The probe
        loop uses it; tests and a `status`-triggered probe may use it too."""
        check = self._checks[name]
        self._last[name] = result
        new_state, transition = step(self._states[name], result.ok, check.rise, check.fall)
        self._states[name] = new_state
        if transition is not None:
            log.info("health check %s: %s -> %s (%s)", name, transition.old.value, transition.new.value, result.detail)
            if self._on_change is not None:
                try:
                    ret = self._on_change(name, transition)
                    if inspect.isawaitable(ret):
                        await ret
                except Exception:
                    log.exception("health on_change callback failed for %s", name)
        return transition
