"""The drain state machine (bgp.drain), with the clock passed in: tables of event sequences."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from bgp import drain
from bgp.drain import DrainState, Phase
from bgp.speaker.commands import RouteAttributes

N = ip_network
V4, V4B, V6 = N("192.0.2.1/32"), N("192.0.2.2/32"), N("2001:db8::1/128")
NOW = frozenset({V4, V6})
LATER = frozenset({V4, V4B, V6})

# events: ("drain", now, delay, announced) | ("undrain",) | ("tick", now)
# (id, start, events, expected end state)
CASES: list[tuple[str, DrainState, list[tuple[object, ...]], DrainState]] = [
    ("serving stays serving on tick", drain.SERVING, [("tick", 1e9)], drain.SERVING),
    ("drain remembers what is announced, deadline now+delay", drain.SERVING, [("drain", 100.0, 30.0, NOW)],
     DrainState(Phase.DRAINING, 130.0, NOW)),
    ("before the deadline still draining", drain.SERVING, [("drain", 100.0, 30.0, NOW), ("tick", 129.999)],
     DrainState(Phase.DRAINING, 130.0, NOW)),
    ("at the deadline withdrawn", drain.SERVING, [("drain", 100.0, 30.0, NOW), ("tick", 130.0)],
     DrainState(Phase.WITHDRAWN, None, NOW)),
    ("zero delay withdraws at the first tick", drain.SERVING, [("drain", 5.0, 0.0, NOW), ("tick", 5.0)],
     DrainState(Phase.WITHDRAWN, None, NOW)),
    ("drain again restarts the delay, keeps the drain set", drain.SERVING,
     [("drain", 100.0, 30.0, NOW), ("drain", 120.0, 30.0, LATER), ("tick", 130.0)],
     DrainState(Phase.DRAINING, 150.0, NOW)),
    ("drain again with a shorter delay", drain.SERVING,
     [("drain", 100.0, 30.0, NOW), ("drain", 101.0, 1.0, LATER), ("tick", 102.0)],
     DrainState(Phase.WITHDRAWN, None, NOW)),
    ("drain once withdrawn changes nothing", drain.SERVING,
     [("drain", 100.0, 1.0, NOW), ("tick", 101.0), ("drain", 200.0, 30.0, LATER), ("tick", 500.0)],
     DrainState(Phase.WITHDRAWN, None, NOW)),
    ("undrain while draining", drain.SERVING, [("drain", 100.0, 30.0, NOW), ("undrain",), ("tick", 200.0)],
     drain.SERVING),
    ("undrain once withdrawn", drain.SERVING, [("drain", 100.0, 1.0, NOW), ("tick", 101.0), ("undrain",)],
     drain.SERVING),
    ("undrain while serving", drain.SERVING, [("undrain",)], drain.SERVING),
    ("drain after undrain takes the new announced set", drain.SERVING,
     [("drain", 100.0, 30.0, NOW), ("undrain",), ("drain", 110.0, 5.0, LATER)],
     DrainState(Phase.DRAINING, 115.0, LATER)),
    ("restored after a crash: withdrawn until undrain", drain.RESTORED, [("tick", 1e9), ("drain", 1.0, 1.0, NOW)],
     drain.RESTORED),
    ("restored, then undrained", drain.RESTORED, [("undrain",)], drain.SERVING),
]


def _run(state: DrainState, events: list[tuple[object, ...]]) -> DrainState:
    for ev in events:
        if ev[0] == "drain":
            now, delay, announced = ev[1:]
            assert isinstance(now, float) and isinstance(delay, float) and isinstance(announced, frozenset)
            state = drain.drain(state, now, delay, announced)
        elif ev[0] == "undrain":
            state = drain.undrain(state)
        else:
            assert isinstance(ev[1], float)
            state = drain.tick(state, ev[1])
    return state


@pytest.mark.parametrize(("start", "events", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_drain_machine(start: DrainState, events: list[tuple[object, ...]], expected: DrainState) -> None:
    assert _run(start, events) == expected


@pytest.mark.parametrize(
    ("state", "draining", "withdrawn"),
    [(drain.SERVING, False, False), (DrainState(Phase.DRAINING, 1.0), True, False), (drain.RESTORED, True, True)],
)
def test_flags(state: DrainState, draining: bool, withdrawn: bool) -> None:
    assert (state.draining, state.withdrawn) == (draining, withdrawn)


PLAIN = RouteAttributes.make()
GSHUT = RouteAttributes.make(communities=["65535:0"])
ALLOWED = {V4: GSHUT, V4B: GSHUT}
SELECT_CASES = [
    ("serving", drain.SERVING, False, {V4: GSHUT, V4B: GSHUT}),
    ("stopping", drain.SERVING, True, {}),
    ("draining keeps what was announced", DrainState(Phase.DRAINING, 9.0, frozenset({V4})), False, {V4: GSHUT}),
    ("drain delay over", DrainState(Phase.WITHDRAWN, None, frozenset({V4})), False, {}),
    ("stopping while draining", DrainState(Phase.DRAINING, 9.0, frozenset({V4})), True, {}),
]


@pytest.mark.parametrize(("state", "stopping", "expected"), [c[1:] for c in SELECT_CASES], ids=[c[0] for c in SELECT_CASES])
def test_select_announce(state: DrainState, stopping: bool, expected: dict[object, RouteAttributes]) -> None:
    assert drain.select_announce(ALLOWED, state, stopping) == expected
