"""The drain state machine: serving -> draining -> withdrawn, and back on undrain. Pure.

The clock is passed in (``now``, any monotonic seconds: the agent uses its event loop's
clock), so every transition is tested with a table (tests/bgp/unit/test_bgp_drain.py).

- ``drain`` while serving: remember the prefixes announced now (the *drain set*; a node
  being drained takes on no new service) and withdraw at ``now + delay``. Until then the
  guard rails add GRACEFUL_SHUTDOWN to every route, so the leaves move traffic away first.
- ``drain`` while draining: the delay starts again; the drain set stays.
- ``drain`` once withdrawn: no change (a second drain must not bring the routes back).
- ``tick(now)`` at or after the deadline: withdrawn.
- ``undrain`` from anywhere: serving.
- A drain survives a crash of the agent (the caller records it in the state dir); the
  restarted agent begins ``withdrawn`` (:data:`RESTORED`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from typing import TypeVar

IPNet = IPv4Network | IPv6Network
A = TypeVar("A")


class Phase(enum.Enum):
    """Where a node is in a drain."""

    SERVING = "serving"
    DRAINING = "draining"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class DrainState:
    """The phase, the time the drain delay ends (DRAINING only) and the drain set."""

    phase: Phase = Phase.SERVING
    deadline: float | None = None
    drain_set: frozenset[IPNet] = frozenset()

    @property
    def draining(self) -> bool:
        """True from a drain until undrain (also once withdrawn)."""
        return self.phase is not Phase.SERVING

    @property
    def withdrawn(self) -> bool:
        """True once the drain delay is over."""
        return self.phase is Phase.WITHDRAWN


SERVING = DrainState()
RESTORED = DrainState(Phase.WITHDRAWN)
"""The state of an agent that restarts on a node that was drained."""


def drain(state: DrainState, now: float, delay: float, announced: Iterable[IPNet]) -> DrainState:
    """A drain request at ``now``; ``announced`` is what is announced at this moment."""
    if state.phase is Phase.WITHDRAWN:
        return state
    drain_set = state.drain_set if state.phase is Phase.DRAINING else frozenset(announced)
    return DrainState(Phase.DRAINING, now + delay, drain_set)


def undrain(state: DrainState) -> DrainState:
    """Announce normally again."""
    return SERVING


def tick(state: DrainState, now: float) -> DrainState:
    """The state at ``now``: a drain whose deadline has passed is withdrawn."""
    if state.phase is Phase.DRAINING and state.deadline is not None and now >= state.deadline:
        return DrainState(Phase.WITHDRAWN, None, state.drain_set)
    return state


def select_announce(allowed: Mapping[IPNet, A], state: DrainState, stopping: bool = False) -> dict[IPNet, A]:
    """What to announce, from the guard rails' allowed set (already carrying 65535:0 while
    draining) and the lifecycle. Stopping or a finished drain announce nothing; a drain in
    progress announces only its drain set."""
    if stopping or state.withdrawn:
        return {}
    if state.draining:
        return {p: a for p, a in allowed.items() if p in state.drain_set}
    return dict(allowed)
