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
   .frr.conf), intent JSON and every export - into an empty directory, with the default
   ``jobs`` (one render process per CPU, :mod:`fabric.parallel`) and, interleaved in the
   same run, ``jobs=1``. Target (issue 10): under 5 s CPU (every process: the render
   workers' CPU time is counted, ``RUSAGE_CHILDREN``) and 400 MB (:func:`memory_mb`: the
   process's peak plus the largest worker's peak for each worker) as a fresh process.
3. ``test_incremental_rebuild``: the same build again into the built directory after one
   network changed (its description, on every leaf: every leaf renders again, the build
   cache holds only the spines), with the default ``jobs`` and ``jobs=1``. Target (issue
   10): under 1 s; not met, and not possible on this machine (6.).
4. ``test_rebuild_one_leaf``: the same after an edit that touches one leaf (a server moved
   to another port of ``leaf1``): the build cache renders that leaf only; the exports run.
5. ``test_rebuild_nothing_changed``: the same with nothing changed: the whole build is
   skipped (its input and files are what the manifest records).
6. ``test_rebuild_floor``: the part of 3 that no build can avoid, in the same run: loading,
   plan-checking and designing the fabric, and durably replacing the files the edit
   changes (their bytes given ready-made); the same write into ``/dev/shm`` beside it.

3, 4 and 5 are gated on what the build cache meets today (their docstrings say how much);
what is left is loading, planning, designing and the intent JSON, which every rebuild whose
input changed does.

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
from tests.bench.gen_fabric import write_planned

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


def full_build_round(inventory: Path, out: Path, jobs: int | None = None) -> dict[str, Any]:
    """One round of benchmark 2 into an empty ``out``; returns the build's counts."""
    shutil.rmtree(out, ignore_errors=True)
    r = fabric.load(inventory).build(out, jobs=jobs)
    return {"files": r.files, "lines": r.lines, "written": len(r.written), "exports": r.exports,
            "skipped": len(r.skipped), "workers": r.workers,
            "stages": {k: round(v, 3) for k, v in r.seconds.items()}}


_CHILD = """
import json, resource, sys, time
from pathlib import Path
from tests.bench.test_build import full_build_round, main_text_round
def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime
jobs = None if sys.argv[-1] == "auto" else int(sys.argv[-1])
t, cpu, cpu_children = time.perf_counter(), time.process_time(), children_cpu()
if sys.argv[1] == "main":
    info = {"lines": main_text_round(Path(sys.argv[2]))}
elif sys.argv[1] == "again":
    import fabric
    r = fabric.load(Path(sys.argv[2])).build(Path(sys.argv[3]), jobs=jobs)
    info = {"written": len(r.written), "files": r.files, "cached": r.cached, "exports": r.exports,
            "workers": r.workers, "stages": {k: round(v, 3) for k, v in r.seconds.items()}}
else:
    info = full_build_round(Path(sys.argv[2]), Path(sys.argv[3]), jobs)
info["seconds"] = time.perf_counter() - t
# the forked render workers' CPU time too (they are reaped by the build: RUSAGE_CHILDREN)
info["cpu_seconds"] = time.process_time() - cpu + children_cpu() - cpu_children
info["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
# the largest peak of any worker (copy-on-write pages shared with this process count in both)
info["child_maxrss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps(info))
"""


def load_average() -> str:
    """The 1-minute load average, printed beside each figure (2 cores shared: wall time
    and even CPU time depend on what else runs)."""
    return f"load average {os.getloadavg()[0]:.2f}"


def fresh_process(*args: str, jobs: int | None = None) -> dict[str, Any]:
    """Run one round in a new interpreter (``jobs`` as ``Fabric.build`` takes it): its wall
    time (imports excluded), its CPU time and that of its render workers, its peak RSS and
    the largest peak of a worker."""
    out = subprocess.run([sys.executable, "-c", _CHILD, *args, "auto" if jobs is None else str(jobs)], cwd=ROOT,
                         check=True, capture_output=True, text=True)
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
    return write_planned(tmp_path_factory.mktemp("gen-4x256"), **SHAPE)


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


def memory_mb(run: dict[str, Any]) -> float:
    """Peak memory of a fresh-process round, render workers included: the process's peak
    RSS plus, for each worker it forked, the largest peak RSS of any of them. A worker's RSS
    counts the copy-on-write pages it shares with the process (the designed fabric it
    inherited and read) as its own, so this is an upper bound of what the build used."""
    return float(run["maxrss_mb"] + (run.get("workers", 1) - 1) * run["child_maxrss_mb"])


def _fresh_pair(what: str, *args: str, tmp: Path | None = None, edit: Any = None) -> dict[str, list[dict[str, Any]]]:
    """:data:`CHILD_ROUNDS` fresh-process rounds with the default ``jobs`` and as many with
    ``jobs=1``, interleaved (so both meet the same load); ``edit()`` before each round."""
    runs: dict[str, list[dict[str, Any]]] = {"default": [], "one": []}
    for i in range(CHILD_ROUNDS):
        for key, jobs in (("default", None), ("one", 1)):
            if edit is not None:
                edit()
            extra = (str(tmp / f"child-{key}{i}"),) if tmp is not None else ()
            runs[key].append(fresh_process(what, *args, *extra, jobs=jobs))
            for folder in extra:  # 290 MB each
                shutil.rmtree(folder, ignore_errors=True)
    return runs


def _medians(runs: list[dict[str, Any]]) -> tuple[float, float]:
    return median(r["seconds"] for r in runs), median(r["cpu_seconds"] for r in runs)


def test_full_build(benchmark: Any, shape: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The full build with the default ``jobs`` (one render process per CPU,
    :mod:`fabric.parallel`) and, in the same run, with ``jobs=1``. Gated (issue 10) on the
    CPU time of every process (the workers' included) and on :func:`memory_mb`."""
    out = tmp_path / "out"

    def empty_out() -> tuple[tuple[Path, Path], dict[str, Any]]:
        shutil.rmtree(out, ignore_errors=True)  # removing the last round's 290 MB is not timed
        return (shape, out), {}

    info = benchmark.pedantic(full_build_round, setup=empty_out, rounds=3, iterations=1)
    assert info["skipped"] == 0 and info["exports"] == "written"
    assert info["written"] == info["files"] + SHAPE["spines"] + SHAPE["leaves"]  # configs + intent JSON
    shutil.rmtree(out, ignore_errors=True)
    runs = _fresh_pair("full", str(shape), tmp=tmp_path)
    secs, cpu = _medians(runs["default"])
    secs1, cpu1 = _medians(runs["one"])
    workers = runs["default"][0]["workers"]
    assert all(r["workers"] == 1 for r in runs["one"])
    peak = max(memory_mb(r) for r in runs["default"])
    peak1 = max(memory_mb(r) for r in runs["one"])
    command = whole_command(shape, tmp_path / "cli")
    benchmark.extra_info.update({**info, "workers": workers, "fresh_median_s": round(secs, 3),
                                 "fresh_cpu_s": round(cpu, 3), "peak_mb": round(peak, 1),
                                 "jobs1_fresh_median_s": round(secs1, 3), "jobs1_fresh_cpu_s": round(cpu1, 3),
                                 "jobs1_peak_mb": round(peak1, 1), "command_s": round(command[0], 3),
                                 "command_cpu_s": round(command[1], 3)})
    d = runs["default"][0]
    with capsys.disabled():
        print(f"\nfull fabric build 4x256x500: median {benchmark.stats.stats.median:.2f} s in process; fresh process, "
              f"{workers} render processes: {secs:.2f} s ({cpu:.2f} s CPU, workers included), peak memory "
              f"{peak:.0f} MB (this process {d['maxrss_mb']:.0f} MB + {workers - 1} x the largest worker "
              f"{d['child_maxrss_mb']:.0f} MB), stages {d['stages']}; --jobs 1: {secs1:.2f} s ({cpu1:.2f} s CPU), "
              f"peak {peak1:.0f} MB, stages {runs['one'][0]['stages']}; wall {secs1 / secs:.2f}x, CPU "
              f"{cpu / cpu1:.2f}x of one process; {info['files']} config files, {info['lines']} lines, "
              f"{load_average()}; the whole `fabric build` command (interpreter start-up and imports included, "
              f"not gated): {command[0]:.2f} s ({command[1]:.2f} s CPU)")
    assert cpu < TARGET_SECONDS, f"{cpu:.2f} s CPU, target {TARGET_SECONDS} s"
    assert peak < TARGET_MB, f"{peak:.0f} MB, target {TARGET_MB} MB"
    assert cpu1 < TARGET_SECONDS, f"--jobs 1: {cpu1:.2f} s CPU, target {TARGET_SECONDS} s"


REBUILD_ONE_NETWORK_CPU = 6.0


def _describe(inventory: Path, network: str, text: str) -> None:
    """Give ``network`` of a gen_fabric inventory the description ``text``."""
    path = inventory / "tenants.yaml"
    lines = path.read_text(encoding="utf-8").split("\n")
    at = lines.index(f"      - name: {network}")
    if lines[at + 1].startswith("        description:"):
        del lines[at + 1]
    lines.insert(at + 1, f"        description: {text}")
    path.write_text("\n".join(lines), encoding="utf-8")


def _rebuild_bench(benchmark: Any, shape: Path, tmp_path: Path, edit: Any, first: Any = None,
                   one_process: bool = False) -> tuple[int, dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """Copy the inventory (``first(copy, 1)`` changes it first), build once, then time
    rebuilds after ``edit(inventory, n)``: in process (pytest-benchmark, 3 rounds) and in
    fresh processes, with the default ``jobs`` and, if ``one_process``, interleaved with
    ``jobs=1``; (files written in process, the last in-process result's counts, the fresh
    runs: ``"default"``, ``"one"``)."""
    inv = tmp_path / "inv"
    shutil.copytree(shape, inv)
    if first is not None:
        first(inv, 1)
    out = tmp_path / "out"
    fabric.load(inv).build(out)
    edits = iter(range(1_000_000))
    last: dict[str, Any] = {}

    def again() -> int:
        edit(inv, next(edits))
        r = fabric.load(inv).build(out)
        last.update(cached=r.cached, exports=r.exports, written=len(r.written))
        return len(r.written)

    written = benchmark.pedantic(again, rounds=3, iterations=1)
    if one_process:
        runs = _fresh_pair("again", str(inv), str(out), edit=lambda: edit(inv, next(edits)))
    else:
        runs = {"default": [], "one": []}
        for _ in range(CHILD_ROUNDS):
            edit(inv, next(edits))
            runs["default"].append(fresh_process("again", str(inv), str(out)))
    return written, last, runs


def _report(benchmark: Any, what: str, written: int, fresh: dict[str, list[dict[str, Any]]],
            capsys: pytest.CaptureFixture[str]) -> float:
    runs = fresh["default"]
    secs, cpu = _medians(runs)
    benchmark.extra_info.update({"written": written, "fresh_median_s": round(secs, 3), "fresh_cpu_s": round(cpu, 3),
                                 "cached": runs[0]["cached"], "stages": runs[0]["stages"],
                                 "workers": runs[0]["workers"]})
    one = ""
    if fresh["one"]:
        secs1, cpu1 = _medians(fresh["one"])
        benchmark.extra_info.update({"jobs1_fresh_median_s": round(secs1, 3), "jobs1_fresh_cpu_s": round(cpu1, 3)})
        one = (f"; --jobs 1: {secs1:.2f} s ({cpu1:.2f} s CPU), stages {fresh['one'][0]['stages']}; wall "
               f"{secs1 / secs:.2f}x, CPU {cpu / cpu1:.2f}x of one process")
    with capsys.disabled():
        print(f"\n{what}: median {benchmark.stats.stats.median:.2f} s in process; fresh process, "
              f"{runs[0]['workers']} render processes: {secs:.2f} s ({cpu:.2f} s CPU, workers included), "
              f"{written} files written, {runs[0]['cached']} devices from the cache, exports {runs[0]['exports']}, "
              f"stages {runs[0]['stages']}{one}, {load_average()}")
    return float(cpu)


def test_incremental_rebuild(benchmark: Any, shape: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One network's description changed: it is printed on every leaf (irb unit, VLAN), so
    every leaf renders again and only the 4 spines come from the cache. The issue's 1 s is
    not met, and cannot be on this machine: ``test_rebuild_floor`` measures, in the same
    run, what builds do for this edit before rendering anything (load, plan-check and
    design today; durably replacing the 768 files it changes, which no build can avoid,
    alone takes longer than 1 s on this machine's disk: docs/build.md). Gated at
    6.0 s CPU in a fresh process as a regression guard (measured 3.9 s on a quiet
    machine, 5.7 to 5.8 s at load average 2 to 6)."""
    written, last, runs = _rebuild_bench(
        benchmark, shape, tmp_path, lambda inv, n: _describe(inv, "net5", f"edit {n}"), one_process=True)
    assert written == SHAPE["leaves"] * 3 and last["cached"] == SHAPE["spines"]
    cpu = _report(benchmark, "incremental rebuild 4x256x500, one network changed", written, runs, capsys)
    assert cpu < REBUILD_ONE_NETWORK_CPU, f"{cpu:.2f} s CPU, gate {REBUILD_ONE_NETWORK_CPU} s"


def _move_server(inv: Path, n: int) -> None:
    """A single-homed server on ``leaf1`` (a Junos leaf), on one of two free ports by turn."""
    port = ("xe-0/0/20", "xe-0/0/21")[n % 2]
    (inv / "servers.yaml").write_text(
        f"servers:\n  - name: srv1\n    links:\n      - {{leaf: leaf1, port: {port}}}\n    networks: [net2]\n",
        encoding="utf-8")


REBUILD_ONE_LEAF_CPU = 4.0
REBUILD_NOTHING_CPU = 1.0


def test_rebuild_one_leaf(benchmark: Any, shape: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A server moved to another port of one leaf: the cache renders that leaf only, and the
    exports run (the cabling plan and the leaf's page name the port). Gated at 4.0 s CPU in
    a fresh process (measured 2.96 to 3.06 s at load average 3 to 6: loading, planning and
    designing about 0.9 s, the intent JSON of every device, which is the cache's key, the
    summary JSON and the export view about 1.2 s, the exports 0.7 s); the issue's 1 s is not
    met for this edit."""
    # the server is there from the first build on (it takes no ledger value: a plain port)
    written, last, runs = _rebuild_bench(benchmark, shape, tmp_path, _move_server, first=_move_server)
    assert last["cached"] == SHAPE["spines"] + SHAPE["leaves"] - 1 and last["exports"] == "written"
    assert all(r["cached"] == last["cached"] for r in runs["default"])
    cpu = _report(benchmark, "rebuild 4x256x500, one leaf changed", written, runs, capsys)
    assert cpu < REBUILD_ONE_LEAF_CPU, f"{cpu:.2f} s CPU, gate {REBUILD_ONE_LEAF_CPU} s"


def test_rebuild_nothing_changed(benchmark: Any, shape: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing changed: the build cache's whole-build key (the code, the inventory files and
    the ledger) matches and every file carries its stamp, so nothing is planned, designed,
    rendered, compared or written. Gated at the issue's 1 s CPU in a fresh process
    (measured 0.31 s CPU, 0.40 s wall at load average 5: loading the inventory, which the
    caller does, hashing the code and the inputs, and a stat of each of the ~1,200 files)."""
    written, last, runs = _rebuild_bench(benchmark, shape, tmp_path, lambda inv, n: None)
    assert written == 0 and last["cached"] == SHAPE["spines"] + SHAPE["leaves"] and last["exports"] == "unchanged"
    assert all(r["written"] == 0 and list(r["stages"]) == ["unchanged"] for r in runs["default"])
    cpu = _report(benchmark, "rebuild 4x256x500, nothing changed", written, runs, capsys)
    assert cpu < REBUILD_NOTHING_CPU, f"{cpu:.2f} s CPU, gate {REBUILD_NOTHING_CPU} s"


def _written_bytes(paths: list[Path]) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in paths}


def test_rebuild_floor(benchmark: Any, shape: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The floor of ``test_incremental_rebuild``'s edit on this machine, in the same run.

    Two parts: loading, plan-checking and designing the fabric (what every build whose
    input changed runs today: the design is not incremental), and durably replacing the
    files that edit changes (one network's description: every leaf's configs and intent,
    768 files) with :class:`fabric.files.Staging`, the project's atomic writer (temp
    files, ``syncfs``, renames), their bytes given ready-made. The second part no build
    can avoid, however much it caches: the edit changes those files' content. No
    encoding, rendering or exports. The same write into a RAM file system
    (``/dev/shm``) is printed beside it: how much of the floor is the disk's. Fails if the
    edit stops changing every leaf's files (then this floor no longer stands for it)."""
    from fabric.files import Staging

    inv = tmp_path / "inv"
    shutil.copytree(shape, inv)
    out = tmp_path / "out"
    fabric.load(inv).build(out)
    variants: list[dict[Path, bytes]] = []
    for n in range(2):
        _describe(inv, "net5", f"floor {n}")
        variants.append(_written_bytes(fabric.load(inv).build(out).written))
    assert len(variants[0]) == SHAPE["leaves"] * 3 and variants[0].keys() == variants[1].keys()
    size_mb = sum(map(len, variants[0].values())) / 1e6
    shm = Path("/dev/shm") / f"leafspine-floor-{os.getpid()}"
    ram = [{shm / p.relative_to(out): b for p, b in v.items()} for v in variants]
    turn = iter(range(1_000_000))
    parts: list[tuple[float, float, float, float]] = []

    def write(files: dict[Path, bytes]) -> int:
        staging = Staging()
        for path, data in files.items():
            staging.add(path, data)
        return len(staging.commit())

    def floor() -> int:
        t, c = time.perf_counter(), time.process_time()
        fab = fabric.load(inv)
        fab.require_up_to_date()
        fab.design()
        t1, c1 = time.perf_counter(), time.process_time()
        written = write(variants[next(turn) % 2])
        parts.append((t1 - t, c1 - c, time.perf_counter() - t1, time.process_time() - c1))
        return written

    try:
        written = benchmark.pedantic(floor, rounds=4, iterations=1)
        ram_runs = []
        write(ram[0])
        for n in range(4):
            t, c = time.perf_counter(), time.process_time()
            assert write(ram[(n + 1) % 2]) == len(ram[0])
            ram_runs.append((time.perf_counter() - t, time.process_time() - c))
    finally:
        shutil.rmtree(shm, ignore_errors=True)
    assert written == len(variants[0])
    last = variants[(next(turn) - 1) % 2]
    assert all(p.read_bytes() == b for p, b in list(last.items())[:8])
    stages = (median(p[0] for p in parts), median(p[1] for p in parts))
    disk = (median(p[2] for p in parts), median(p[3] for p in parts))
    shm_write = (median(r[0] for r in ram_runs), median(r[1] for r in ram_runs))
    benchmark.extra_info.update({"files": written, "mb": round(size_mb), "stages_s": round(stages[0], 3),
                                 "stages_cpu_s": round(stages[1], 3), "write_s": round(disk[0], 3),
                                 "write_cpu_s": round(disk[1], 3), "shm_write_s": round(shm_write[0], 3),
                                 "shm_write_cpu_s": round(shm_write[1], 3)})
    with capsys.disabled():
        print(f"\nfloor of the one-network rebuild 4x256x500 (in process): median {benchmark.stats.stats.median:.2f} s; "
              f"load + plan check + design {stages[0]:.2f} s ({stages[1]:.2f} s CPU), durably replacing {written} files "
              f"({size_mb:.0f} MB) {disk[0]:.2f} s ({disk[1]:.2f} s CPU); the same write into /dev/shm "
              f"{shm_write[0]:.2f} s ({shm_write[1]:.2f} s CPU); {load_average()}")
