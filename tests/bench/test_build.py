"""Benchmarks of issue 3 (``make bench``; skipped in ``make test``).

Shape: ``gen_fabric.py --spines 4 --leaves 256 --svis 500 --vrfs 4 --tenants 2`` - every
SVI on every leaf, about 2.8 million lines of main config text.

1. ``test_build_main_text``: load + plan (ledger in a temp dir) + design + ``render_main``
   of every device (Junos curly-brace, NX-OS CLI, frr.conf). Target: under 5 s and under
   400 MB peak. The median comes from pytest-benchmark (in process); the peak is the
   ``ru_maxrss`` of a fresh Python process doing one round, the honest number (an
   in-process figure would include pytest and earlier tests). The time gate compares the
   fresh process's CPU time, so other work on a shared machine cannot fail it; its wall
   time is printed beside it.
2. ``test_full_build``: ``Fabric.build`` - every format (Junos .conf/.set/.xml, NX-OS .cfg,
   .frr.conf), intent JSON and every export - into an empty directory. Target (issue 10):
   under 5 s CPU and 400 MB as a fresh process.
3. ``test_incremental_rebuild``: the same build again into the built directory after one
   network changed (its description, on every leaf); only changed files are written.
   Target: under 1 s.

Each test prints one summary line (median, peak RSS, lines or files).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from statistics import median
from typing import Any

import pytest

import fabric
from fabric.design import design
from fabric.render.base import render_main
from tests.bench.gen_fabric import write

ROOT = Path(__file__).resolve().parents[2]
SHAPE = {"spines": 4, "leaves": 256, "svis": 500, "vrfs": 4, "tenants": 2}
TARGET_SECONDS = 5.0
TARGET_MB = 400.0
CHILD_ROUNDS = 3


def main_text_round(inventory: Path) -> int:
    """One round of benchmark 1; returns the number of lines rendered."""
    fab = fabric.load(inventory)
    plan = fab.plan()
    fab.write_plan(plan)  # a no-op once the ledger holds the plan
    intents = design(fab.inventory, plan.allocations())
    return sum(render_main(i).count("\n") for i in intents.values())


def full_build_round(inventory: Path, out: Path) -> dict[str, Any]:
    """One round of benchmark 2 into an empty ``out``; returns the build's counts."""
    shutil.rmtree(out, ignore_errors=True)
    r = fabric.load(inventory).build(out)
    return {"files": r.files, "lines": r.lines, "written": len(r.written), "exports": r.exports,
            "skipped": len(r.skipped), "stages": {k: round(v, 3) for k, v in r.seconds.items()}}


_CHILD = """
import json, resource, sys, time
from pathlib import Path
from tests.bench.test_build import full_build_round, main_text_round
t, cpu = time.perf_counter(), time.process_time()
if sys.argv[1] == "main":
    info = {"lines": main_text_round(Path(sys.argv[2]))}
elif sys.argv[1] == "again":
    import fabric
    r = fabric.load(Path(sys.argv[2])).build(Path(sys.argv[3]))
    info = {"written": len(r.written), "files": r.files}
else:
    info = full_build_round(Path(sys.argv[2]), Path(sys.argv[3]))
info["seconds"] = time.perf_counter() - t
info["cpu_seconds"] = time.process_time() - cpu
info["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(info))
"""


def load_average() -> str:
    """The 1-minute load average, printed beside each figure (2 cores shared: wall time
    and even CPU time depend on what else runs)."""
    return f"load average {os.getloadavg()[0]:.2f}"


def fresh_process(*args: str) -> dict[str, Any]:
    """Run one round in a new interpreter: its wall time (imports excluded) and peak RSS."""
    out = subprocess.run([sys.executable, "-c", _CHILD, *args], cwd=ROOT, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def whole_command(inventory: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of ``fabric build INVENTORY -o OUT`` as a user runs it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "fabric"), "build", str(inventory), "-o", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


@pytest.fixture(scope="module")
def shape(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark inventory with its ledger planned (plan into the temp dir)."""
    d = tmp_path_factory.mktemp("gen-4x256")
    write(d, **SHAPE)
    fab = fabric.load(d)
    fab.write_plan(fab.plan())
    return d


def test_build_main_text(benchmark: Any, shape: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = benchmark.pedantic(main_text_round, args=(shape,), rounds=5, iterations=1, warmup_rounds=1)
    assert lines > 2_000_000
    runs = [fresh_process("main", str(shape)) for _ in range(CHILD_ROUNDS)]
    secs = median(r["seconds"] for r in runs)
    cpu = median(r["cpu_seconds"] for r in runs)
    peak = max(r["maxrss_mb"] for r in runs)
    benchmark.extra_info.update({"lines": lines, "fresh_median_s": round(secs, 3), "fresh_cpu_s": round(cpu, 3),
                                 "peak_rss_mb": round(peak, 1)})
    with capsys.disabled():
        print(f"\nbuild main text 4x256x500: median {benchmark.stats.stats.median:.2f} s in process, "
              f"{secs:.2f} s ({cpu:.2f} s CPU) in a fresh process, peak RSS {peak:.0f} MB, {lines} lines, {load_average()}")
    # the gate is CPU time: a machine busy with other work must not fail it (wall time is printed)
    assert cpu < TARGET_SECONDS, f"{cpu:.2f} s CPU, target {TARGET_SECONDS} s"
    assert peak < TARGET_MB, f"{peak:.0f} MB, target {TARGET_MB} MB"


def test_full_build(benchmark: Any, shape: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"

    def empty_out() -> tuple[tuple[Path, Path], dict[str, Any]]:
        shutil.rmtree(out, ignore_errors=True)  # removing the last round's 290 MB is not timed
        return (shape, out), {}

    info = benchmark.pedantic(full_build_round, setup=empty_out, rounds=3, iterations=1)
    assert info["skipped"] == 0 and info["exports"] == "written"
    assert info["written"] == info["files"] + SHAPE["spines"] + SHAPE["leaves"]  # configs + intent JSON
    runs = [fresh_process("full", str(shape), str(tmp_path / f"child{i}")) for i in range(CHILD_ROUNDS)]
    secs = median(r["seconds"] for r in runs)
    cpu = median(r["cpu_seconds"] for r in runs)
    peak = max(r["maxrss_mb"] for r in runs)
    command = whole_command(shape, tmp_path / "cli")
    benchmark.extra_info.update({**info, "fresh_median_s": round(secs, 3), "fresh_cpu_s": round(cpu, 3),
                                 "peak_rss_mb": round(peak, 1), "command_s": round(command[0], 3),
                                 "command_cpu_s": round(command[1], 3)})
    with capsys.disabled():
        print(f"\nfull fabric build 4x256x500: median {benchmark.stats.stats.median:.2f} s in process, "
              f"{secs:.2f} s ({cpu:.2f} s CPU) in a fresh process, peak RSS {peak:.0f} MB, {info['files']} config files, "
              f"{info['lines']} lines, stages {runs[0]['stages']}, {load_average()}; the whole `fabric build` "
              f"command (interpreter start-up and imports included, not gated): {command[0]:.2f} s "
              f"({command[1]:.2f} s CPU)")
    assert cpu < TARGET_SECONDS, f"{cpu:.2f} s CPU, target {TARGET_SECONDS} s"
    assert peak < TARGET_MB, f"{peak:.0f} MB, target {TARGET_MB} MB"


INCREMENTAL_TARGET_SECONDS = 1.0


def _describe(inventory: Path, network: str, text: str) -> None:
    """Give ``network`` of a gen_fabric inventory the description ``text``."""
    path = inventory / "tenants.yaml"
    lines = path.read_text(encoding="utf-8").split("\n")
    at = lines.index(f"      - name: {network}")
    if lines[at + 1].startswith("        description:"):
        del lines[at + 1]
    lines.insert(at + 1, f"        description: {text}")
    path.write_text("\n".join(lines), encoding="utf-8")


def test_incremental_rebuild(benchmark: Any, shape: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inv = tmp_path / "inv"
    shutil.copytree(shape, inv)
    out = tmp_path / "out"
    fabric.load(inv).build(out)
    edits = iter(range(1_000_000))

    def again() -> int:
        _describe(inv, "net5", f"edit {next(edits)}")
        r = fabric.load(inv).build(out)
        return len(r.written)

    written = benchmark.pedantic(again, rounds=3, iterations=1)
    assert written > 0  # the leaves' configs, intent and pages that print the description; nothing else
    runs = []
    for _ in range(CHILD_ROUNDS):
        _describe(inv, "net5", f"edit {next(edits)}")
        runs.append(fresh_process("again", str(inv), str(out)))
    secs = median(r["seconds"] for r in runs)
    cpu = median(r["cpu_seconds"] for r in runs)
    benchmark.extra_info.update({"written": written, "fresh_median_s": round(secs, 3), "fresh_cpu_s": round(cpu, 3)})
    with capsys.disabled():
        print(f"\nincremental rebuild 4x256x500, one network changed: median {benchmark.stats.stats.median:.2f} s "
              f"in process, {secs:.2f} s ({cpu:.2f} s CPU) in a fresh process, {written} files written, {load_average()}")
    assert cpu < INCREMENTAL_TARGET_SECONDS, f"{cpu:.2f} s CPU, target {INCREMENTAL_TARGET_SECONDS} s"
