"""Table tests of the pure rise/fall state machine."""

from __future__ import annotations

import pytest

from bgp.health.state import CheckState, Status, initial_state, step

U, UP, DN = Status.UNKNOWN, Status.UP, Status.DOWN

# (rise, fall, probe results as a string of 1/0, expected status after each, transitions as "OLD>NEW" or "")
CASES = [
    ("start-unknown-rise2", 2, 3, "11", [U, UP], ["", "unknown>up"]),
    ("rise1-immediate", 1, 1, "1", [UP], ["unknown>up"]),
    ("fall1-immediate", 1, 1, "0", [DN], ["unknown>down"]),
    ("unknown-fails-to-down", 2, 3, "000", [U, U, DN], ["", "", "unknown>down"]),
    ("up-needs-fall-failures", 1, 3, "1000", [UP, UP, UP, DN], ["unknown>up", "", "", "up>down"]),
    ("flap-resets-fail-run", 1, 3, "1001001", [UP] * 7, ["unknown>up"] + [""] * 6),
    ("down-needs-rise-successes", 2, 1, "0111", [DN, DN, UP, UP], ["unknown>down", "", "down>up", ""]),
    ("flap-resets-ok-run", 3, 1, "0110110111", [DN] * 9 + [UP], ["unknown>down"] + [""] * 8 + ["down>up"]),
    ("alternating-never-rises", 2, 2, "101010", [U] * 6, [""] * 6),
    ("full-cycle", 2, 2, "11001", [U, UP, UP, DN, DN], ["", "unknown>up", "", "up>down", ""]),
    ("long-healthy-no-repeat", 1, 2, "1" * 50, [UP] * 50, ["unknown>up"] + [""] * 49),
]


@pytest.mark.parametrize(
    ("rise", "fall", "results", "statuses", "transitions"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_state_machine_table(rise: int, fall: int, results: str, statuses: list[Status], transitions: list[str]) -> None:
    state = initial_state()
    got_status, got_trans = [], []
    for r in results:
        state, t = step(state, r == "1", rise, fall)
        got_status.append(state.status)
        got_trans.append(f"{t.old.value}>{t.new.value}" if t else "")
        if t is not None:
            assert t.state == state
    assert got_status == statuses
    assert got_trans == transitions


@pytest.mark.parametrize(
    ("state", "ok", "expected"),
    [
        (CheckState(UP, 2, 0), False, CheckState(UP, 0, 1)),
        (CheckState(DN, 0, 3), True, CheckState(DN, 1, 0)),
        (CheckState(UP, 2, 0), True, CheckState(UP, 2, 0)),  # saturates at rise
        (CheckState(DN, 0, 3), False, CheckState(DN, 0, 3)),  # saturates at fall
    ],
)
def test_counters(state: CheckState, ok: bool, expected: CheckState) -> None:
    assert step(state, ok, 2, 3)[0] == expected


def test_step_is_pure() -> None:
    s = CheckState(UP, 2, 0)
    a = step(s, False, 2, 1)
    b = step(s, False, 2, 1)
    assert a == b and s == CheckState(UP, 2, 0)


def test_only_up_is_healthy() -> None:
    assert [CheckState(s).healthy for s in Status] == [s is UP for s in Status]


@pytest.mark.parametrize(("rise", "fall"), [(0, 1), (1, 0)])
def test_rejects_zero_thresholds(rise: int, fall: int) -> None:
    with pytest.raises(ValueError):
        step(initial_state(), True, rise, fall)
