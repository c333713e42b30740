"""Golden tests: the intent JSON and every rendered config of the example inventories
match the checked-in files under tests/golden/<inventory>/ (one test per device and
format). After an intended change: ``python -m tests.golden.regen`` and review the diff."""

from __future__ import annotations

import difflib
from functools import cache

import pytest

from tests.golden.regen import EXAMPLES, generate, golden_files

REGEN = "python -m tests.golden.regen"


@cache
def _generated(name: str) -> dict[str, str]:
    return generate(name)


def _cases() -> list[tuple[str, str]]:
    out = []
    for name in EXAMPLES:
        rels = set(_generated(name)) | set(golden_files(name))
        out += [(name, rel) for rel in sorted(rels)]
    return out


@pytest.mark.parametrize(("inventory", "rel"), _cases(), ids=[f"{n}/{r}" for n, r in _cases()])
def test_file_matches_golden(inventory: str, rel: str) -> None:
    generated = _generated(inventory)
    golden = golden_files(inventory)
    if rel not in golden:
        pytest.fail(f"{inventory}/{rel} is produced but has no golden file; run `{REGEN}` and review it")
    if rel not in generated:
        pytest.fail(f"{inventory}/{rel} has a golden file but is no longer produced; run `{REGEN}`")
    want = golden[rel].read_text(encoding="utf-8")
    got = generated[rel]
    if got != want:
        diff = "".join(difflib.unified_diff(
            want.splitlines(keepends=True), got.splitlines(keepends=True),
            fromfile=f"golden/{inventory}/{rel}", tofile="generated", n=2,
        ))
        pytest.fail(f"{inventory}/{rel} differs from its golden file (run `{REGEN}` if intended):\n{diff[:20000]}")


@pytest.mark.parametrize("inventory", EXAMPLES)
def test_same_set_of_files(inventory: str) -> None:
    generated = set(_generated(inventory))
    golden = set(golden_files(inventory))
    assert generated == golden, (
        f"only produced: {sorted(generated - golden)}; only golden: {sorted(golden - generated)}; run `{REGEN}`"
    )


@pytest.mark.parametrize("inventory", EXAMPLES)
def test_every_device_has_intent(inventory: str) -> None:
    import fabric
    from tests.golden.regen import INVENTORIES

    fab = fabric.load(INVENTORIES / inventory)
    names = [s.name for s in fab.inventory.switches()]
    assert {f"intent/{n}.json" for n in names} <= set(_generated(inventory))
