"""Benchmark of issue 8 (``make bench``; skipped in ``make test``): a rollout to 200 test
devices answering with 50 ms added latency per RPC, at ``--parallel 50``.

Shape: ``gen_fabric --spines 2 --leaves 200 --svis 4 --vrfs 1 --platforms junos``; the 200
Junos leaves (QFX5120-48Y, in pairs) are the scope (``roles=["leaf"]``: the generator makes
the spines of a fabric this wide FRR boxes). Each leaf is a Junos NETCONF test device in a
separate process (``tests/bench/device_host.py``), onboarded first; the deploy runs with
the ``napalm`` driver (PyEZ), host keys checked, commit confirmed and post-checks.

Reported: the wall time of the 200-device rollout, the number of waves, and the reference
measured in the same run: one device's rollout (same latency, same driver, its own diff
included) times the number of waves. Target: ratio under 1.5. Both runs start by loading,
designing and rendering the whole 202-device fabric, which the reference counts once per
wave; the same ratio without that setup (from the first device contacted to the end) and the
CPU seconds of the controller and of the test devices' process are printed too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

import fabric
from tests.bench.gen_fabric import write
from tests.deploy.testbed import PASSWORD, USERNAME, devices_available, junos_factory

ROOT = Path(__file__).resolve().parents[2]
LEAVES = 200
PARALLEL = 50
LATENCY = 0.05
TARGET_RATIO = 1.5


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_devices(inv: Path, tmp: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    fab = fabric.load(inv)
    spec = {
        "username": USERNAME, "password": PASSWORD, "minute": 60.0, "latency": LATENCY,
        "devices": [{"name": sw.name, "config": junos_factory(sw.name, str(sw.mgmt))}
                    for sw in fab.inventory.leaves],
    }
    proc = subprocess.Popen([sys.executable, "-m", "tests.bench.device_host"], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(spec) + "\n")
    proc.stdin.flush()
    where = json.loads(proc.stdout.readline())
    kh = tmp / "known_hosts"
    kh.write_text("".join(w["known_hosts"] + "\n" for w in where.values()), encoding="utf-8")
    deploy = {"known_hosts": str(kh), "timeout": 30, "revert_in": 300, "drivers": {"junos": "napalm"},
              "postchecks": {"timeout": 10, "interval": 0.2},
              "devices": {n: {"host": w["host"], "port": w["port"]} for n, w in where.items()}}
    (inv / "deploy.yaml").write_text(yaml.safe_dump({"deploy": deploy}), encoding="utf-8")
    return proc, where


@pytest.mark.slow
def test_rollout_200_devices_parallel_50(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         benchmark: Any) -> None:
    ok, why = devices_available()
    if not ok:
        pytest.skip(why)
    monkeypatch.setenv("FABRIC_USERNAME", USERNAME)
    monkeypatch.setenv("FABRIC_PASSWORD", PASSWORD)
    inv = tmp_path / "inv"
    write(inv, spines=2, leaves=LEAVES, svis=4, vrfs=1, platforms=("junos",))
    fabric.load(inv).write_plan(fabric.load(inv).plan())
    proc, where = _start_devices(inv, tmp_path)
    try:
        fab = fabric.load(inv)
        assert fab.onboard(roles=["leaf"], parallel=PARALLEL).ok
        leaves = sorted(where)
        # the reference: one device's rollout, measured in this run
        first: list[float] = []  # when the first device was contacted (load, design, render before)

        def progress(device: str, step: str, detail: str = "") -> None:
            if step == "connect" and not first:
                first.append(time.perf_counter())

        t0 = time.perf_counter()
        one = fabric.load(inv).deploy(devices=[leaves[0]], parallel=PARALLEL, canary=1, progress=progress)
        single = time.perf_counter() - t0
        single_setup = first[0] - t0
        assert one.status == "deployed", one.cause

        result: dict[str, Any] = {}

        def rollout() -> None:
            first.clear()
            t = time.perf_counter()
            c, d = time.process_time(), _cpu(proc.pid)
            rep = fabric.load(inv).deploy(roles=["leaf"], parallel=PARALLEL, canary=1, progress=progress)
            result["wall"] = time.perf_counter() - t
            result["setup"] = first[0] - t
            result["cpu"] = (time.process_time() - c, _cpu(proc.pid) - d)
            result["report"] = rep

        benchmark.pedantic(rollout, rounds=1, iterations=1)
        rep = result["report"]
        assert rep.status == "deployed", rep.cause
        changed = sum(1 for d in rep.devices.values() if d.status == "deployed")
        waves = len(rep.waves)
        ideal = single * waves
        ratio = result["wall"] / ideal
        print(f"\nrollout of {changed} devices (+1 unchanged) at --parallel {PARALLEL}, {LATENCY * 1000:.0f} ms per RPC: "
              f"{result['wall']:.2f} s in {waves} waves; one device {single:.2f} s x {waves} waves = {ideal:.2f} s; "
              f"ratio {ratio:.2f} (target < {TARGET_RATIO})")
        # the same without the load/design/render of the 202-device fabric each run starts with
        work, one_work = result["wall"] - result["setup"], single - single_setup
        print(f"device work only: {work:.2f} s vs one device {one_work:.2f} s x {waves} = {one_work * waves:.2f} s, "
              f"ratio {work / (one_work * waves):.2f}; setup {result['setup']:.2f} s (one device's run {single_setup:.2f} s); "
              f"CPU controller {result['cpu'][0]:.2f} s, test devices {result['cpu'][1]:.2f} s (2 cores)")
        assert changed == LEAVES - 1
        assert ratio < TARGET_RATIO
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=60)
