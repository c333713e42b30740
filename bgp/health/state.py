"""The rise/fall state machine of one check: a pure function, no clock, no I/O.

``step(state, ok, rise, fall) -> (new_state, transition or None)``. A check starts UNKNOWN
(not healthy: nothing is announced before the check has passed ``rise`` times). Counters
count *consecutive* results against the current status; a result that agrees with the
current status resets the opposite counter.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Status(enum.Enum):
    """Status of a check; only UP means healthy."""

    UNKNOWN = "unknown"
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True)
class CheckState:
    """Status plus the run of consecutive successes (``oks``) or failures (``fails``)
    seen since the last flip of the probe result. At most one of them is non-zero."""

    status: Status = Status.UNKNOWN
    oks: int = 0
    fails: int = 0

    @property
    def healthy(self) -> bool:
        return self.status is Status.UP


@dataclass(frozen=True)
class Transition:
    """A change of status, reported once when it happens."""

    old: Status
    new: Status
    state: CheckState


def initial_state() -> CheckState:
    """The state of a check that has not been probed yet."""
    return CheckState()


def step(state: CheckState, ok: bool, rise: int, fall: int) -> tuple[CheckState, Transition | None]:
    """Feed one probe result into ``state``; returns the new state and the transition, if any.

    UP after ``rise`` consecutive successes (from UNKNOWN or DOWN), DOWN after ``fall``
    consecutive failures (from UNKNOWN or UP). Counters saturate at rise/fall, so a long
    healthy run does not grow them without bound."""
    if rise < 1 or fall < 1:
        raise ValueError("rise and fall must be at least 1")
    if ok:
        oks = min(state.oks + 1, rise)
        new = Status.UP if oks >= rise else state.status
        # Once UP, the success run is irrelevant until the next failure; keep it at rise.
        nxt = CheckState(new, oks, 0)
    else:
        fails = min(state.fails + 1, fall)
        new = Status.DOWN if fails >= fall else state.status
        nxt = CheckState(new, 0, fails)
    if new is not state.status:
        return nxt, Transition(state.status, new, nxt)
    return nxt, None
