"""Benchmark of the test devices (``make bench``; skipped in ``make test``): can one process
serve the rollout benchmark's 200 Junos devices with 50 ms added latency per RPC?

- start 200 devices (median wall time; resident memory they add);
- one commit cycle (lock, load, commit confirmed, commit, unlock) over ncclient on every
  device, 50 at a time, against the ideal: one device's cycle time x the number of
  batches (200 / 50). Reported as a ratio; the devices must not be what makes it large.
"""

from __future__ import annotations

import resource
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ncclient import manager

from tests.devices import JunosDevice

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "shownet2024" / "configs"
DEVICES = 200
PARALLEL = 50
LATENCY = 0.05


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _start(config: str) -> list[JunosDevice]:
    return [JunosDevice(config, hostname=f"d{i}").start() for i in range(DEVICES)]


def _cycle(dev: JunosDevice) -> None:
    with manager.connect(
        host=dev.host, port=dev.port, username=dev.username, password=dev.password, hostkey_b64=dev.host_key.base64,
        hostkey_verify=True, device_params={"name": "junos"}, look_for_keys=False, allow_agent=False, timeout=60,
    ) as m:
        m.lock()
        m.load_configuration(action="set", config="set interfaces et-0/0/48 mtu 9100")
        m.commit(confirmed=True, timeout="300")
        m.commit()
        m.unlock()


def test_start_200_devices(benchmark: Any, capsys: Any) -> None:
    config = (GOLDEN / "leaf1.conf").read_text()
    before = _rss_mb()
    held: list[list[JunosDevice]] = []

    def run() -> None:
        held.append(_start(config))

    def stop() -> None:
        for d in held.pop():
            d.stop()

    benchmark.pedantic(run, rounds=3, iterations=1, teardown=stop)
    devices = _start(config)
    try:
        added = _rss_mb() - before
    finally:
        for d in devices:
            d.stop()
    with capsys.disabled():
        print(f"\n200 Junos test devices: {added:.0f} MB resident ({added / DEVICES * 1024:.0f} kB each)")


def test_commit_cycle_200_devices_50_at_a_time(benchmark: Any, capsys: Any) -> None:
    config = (GOLDEN / "leaf1.conf").read_text()
    devices = _start(config)
    try:
        for d in devices:
            d.faults.latency = LATENCY
        t = time.perf_counter()
        _cycle(devices[0])
        one = time.perf_counter() - t

        def fleet() -> None:
            with ThreadPoolExecutor(PARALLEL) as pool:
                list(pool.map(_cycle, devices))

        benchmark.pedantic(fleet, rounds=2, iterations=1)
        wall = benchmark.stats.stats.median
        ideal = one * (DEVICES / PARALLEL)
        assert all(d.commits >= 3 for d in devices)
    finally:
        for d in devices:
            d.stop()
    with capsys.disabled():
        print(f"\none device's cycle {one:.2f} s; 200 devices, {PARALLEL} at a time: {wall:.2f} s; "
              f"ideal {ideal:.2f} s; ratio {wall / ideal:.2f}")
