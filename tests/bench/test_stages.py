"""Benchmark of the stages every ``fabric build`` runs before it renders anything (issue 10,
item 8; ``make bench``, skipped in ``make test``): loading the inventory, checking that the
ledger is up to date (:meth:`fabric.Fabric.require_up_to_date`, which plans it) and
designing the fabric (:func:`fabric.design.design_fabric`), on the benchmark fabric of
``tests/bench/test_build.py`` (``gen_fabric.py --spines 4 --leaves 256 --svis 500 --vrfs 4
--tenants 2``). A rebuild after a one-line edit pays all three however little changed.

Each stage is timed in CPU time (the machine is shared) in fresh processes, imports
excluded; the test prints the median of each and of their sum. Issue 10 aims at 0.45 s
for the sum (0.87 s before its work on these stages); measured 0.50 to 0.52 s at a load
average of about 6, so the aim does not hold yet, and the gate is a guard against
regressions only (docs/build.md says where the time goes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from statistics import median
from typing import Any

import pytest

import fabric
from fabric.design import design_fabric
from tests.bench.gen_fabric import write_planned

ROOT = Path(__file__).resolve().parents[2]
SHAPE = {"spines": 4, "leaves": 256, "svis": 500, "vrfs": 4, "tenants": 2}
CHILD_ROUNDS = 7
AIM_SECONDS = 0.45
"""Issue 10's aim for the three stages together, CPU seconds of a fresh process: not met (printed)."""
GUARD_SECONDS = 0.65
"""The gate: the three stages together, CPU seconds of a fresh process (0.50 s measured, 0.87 s before)."""

_CHILD = """
import json, sys, time
from pathlib import Path
import fabric
from fabric.design import design_fabric
t0 = time.process_time()
fab = fabric.load(Path(sys.argv[1]))
t1 = time.process_time()
plan = fab.require_up_to_date()
t2 = time.process_time()
design_fabric(fab.inventory, plan.allocations())
t3 = time.process_time()
print(json.dumps({"load": t1 - t0, "plan check": t2 - t1, "design": t3 - t2}))
"""


def stages_round(inventory: Path) -> int:
    """The three stages in this process; returns the number of devices designed."""
    fab = fabric.load(inventory)
    return len(design_fabric(fab.inventory, fab.require_up_to_date().allocations()).devices)


@pytest.fixture(scope="module")
def shape(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_planned(tmp_path_factory.mktemp("stages-4x256"), **SHAPE)


def test_stages_before_rendering(benchmark: Any, shape: Path, capsys: pytest.CaptureFixture[str]) -> None:
    devices = benchmark.pedantic(stages_round, args=(shape,), rounds=5, iterations=1, warmup_rounds=1)
    assert devices == SHAPE["spines"] + SHAPE["leaves"]
    runs = []
    for _ in range(CHILD_ROUNDS):
        out = subprocess.run([sys.executable, "-c", _CHILD, str(shape)], cwd=ROOT, check=True, capture_output=True,
                             text=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    medians = {k: median(r[k] for r in runs) for k in runs[0]}
    total = median(sum(r.values()) for r in runs)
    benchmark.extra_info.update({**{k: round(v, 3) for k, v in medians.items()}, "total": round(total, 3)})
    with capsys.disabled():
        print(f"\nstages before rendering 4x256x500, CPU medians of {CHILD_ROUNDS} fresh processes: "
              + ", ".join(f"{k} {v:.3f} s" for k, v in medians.items())
              + f"; together {total:.3f} s (aim {AIM_SECONDS} s: {'holds' if total < AIM_SECONDS else 'does not hold'}; "
              f"in process: {benchmark.stats.stats.median:.3f} s wall), load average {os.getloadavg()[0]:.2f}")
    assert total < GUARD_SECONDS, f"{total:.3f} s CPU, regression guard {GUARD_SECONDS} s"
