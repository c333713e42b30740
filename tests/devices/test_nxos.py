"""The NX-OS test device against real napalm (nxos: NX-API, plus netmiko/SCP on replace)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from napalm import get_network_driver
from napalm.base.exceptions import MergeConfigException
from napalm.nxapi_plumbing import NXAPICommandError

from tests.devices import NxosDevice, free_loopback
from tests.devices import nxos_config as nc

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "shownet2024" / "configs"
LEAF3 = (GOLDEN / "leaf3.cfg").read_text()
ROOT = os.geteuid() == 0
needs_port_22 = pytest.mark.skipif(not ROOT, reason="napalm's nxos driver copies files over SSH on port 22 only: needs root")


def _device(**kw: Any) -> NxosDevice:
    if ROOT:
        return NxosDevice(LEAF3, hostname="leaf3", host=free_loopback(22), ssh_port=22, **kw)
    return NxosDevice(LEAF3, hostname="leaf3", **kw)


@pytest.fixture
def dev() -> Iterator[NxosDevice]:
    with _device() as d:
        yield d


@pytest.fixture
def fast() -> Iterator[NxosDevice]:
    """A device whose minute lasts 1 s (its clock runs 60 times as fast)."""
    with _device(minute=1.0) as d:
        yield d


def _napalm(dev: NxosDevice, timeout: int = 10):  # type: ignore[no-untyped-def]
    drv = get_network_driver("nxos")(
        dev.host, dev.username, dev.password, timeout=timeout, optional_args={"transport": "http", "port": dev.http_port}
    )
    drv.open()
    return drv


def _rpc(dev: NxosDevice, *cmds: str, method: str = "cli", timeout: float = 10) -> Any:
    body = [{"jsonrpc": "2.0", "method": method, "params": {"cmd": c, "version": 1}, "id": i + 1} for i, c in enumerate(cmds)]
    r = requests.post(
        f"http://{dev.host}:{dev.http_port}/ins", json=body, auth=(dev.username, dev.password), timeout=timeout,
        headers={"content-type": "application/json-rpc"},
    )
    r.raise_for_status()
    return r.json()


def _desc(dev: NxosDevice, ifname: str = "Ethernet1/1") -> str:
    line = dev.running.children[f"interface {ifname}"]
    return next(c for c in line.children if c.startswith("description "))


# ------------------------------------------------------------------ the configuration tree


def test_config_round_trip_and_rollback_patch() -> None:
    tree = nc.parse(LEAF3)
    assert nc.parse(nc.render(tree)).same(tree)
    new = tree.copy()
    nc.apply_line(new.children["interface Ethernet1/1"], "description other")
    nc.apply_line(new, "no interface loopback1")
    nc.apply_line(new, "vlan 999")
    assert nc.patch(tree, new) == (
        "no interface loopback1\ninterface Ethernet1/1\n  no description k8s ocp: ocp-master2\n  description other\nvlan 999\n"
    )
    assert nc.patch(tree, tree.copy()) == ""


NXOS_GOLDEN = sorted(GOLDEN.parents[1].glob("shownet2024*/configs/*.cfg"))


@pytest.mark.parametrize("cfg", NXOS_GOLDEN, ids=lambda p: f"{p.parents[1].name}/{p.stem}")
def test_every_rendered_switch_round_trips_and_merges_line_by_line(cfg: Path) -> None:
    text = cfg.read_text()
    tree = nc.parse(text)
    assert nc.parse(nc.render(tree)).same(tree)
    body = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("!")]
    assert len(nc.render(tree).splitlines()) == len(body)  # no line lost or merged away
    dev = NxosDevice("")  # not started: the command engine alone
    try:
        dev.run(text.splitlines())  # what napalm's merge sends: the lines as they are, one batch
        assert dev.running.same(tree)
    finally:
        dev.stop()


def test_single_values_and_negations() -> None:
    tree = nc.parse("interface Ethernet1/9\n  description a\n  shutdown\n")
    mode = tree.children["interface Ethernet1/9"]
    nc.apply_line(mode, "description b")
    nc.apply_line(mode, "no shutdown")
    assert nc.render(tree) == "interface Ethernet1/9\n  description b\n  no shutdown\n"
    nc.apply_line(mode, "no description")
    assert nc.render(tree) == "interface Ethernet1/9\n  no shutdown\n"


# ------------------------------------------------------------------ napalm


def test_napalm_open_getters_and_merge(dev: NxosDevice) -> None:
    drv = _napalm(dev)
    try:
        facts = drv.get_facts()
        assert facts["hostname"] == "leaf3" and "Ethernet1/1" in facts["interface_list"]
        peers = drv.get_bgp_neighbors()["global"]["peers"]
        assert peers["10.0.2.8"]["is_up"] and peers["10.0.2.8"]["remote_as"] == 65000
        assert drv.get_interfaces()["Ethernet1/1"]["is_enabled"]
        drv.load_merge_candidate(config="interface Ethernet1/1\n  description changed\n")
        assert drv.compare_config() == "interface Ethernet1/1\n  description changed"
        drv.commit_config()
        assert _desc(dev) == "description changed"
        assert "rollback_config.txt" in dev.files and "description changed" in dev.startup
        drv.rollback()
        assert _desc(dev) == "description k8s ocp: ocp-master2"
    finally:
        drv.close()


@needs_port_22
def test_napalm_replace_over_scp(dev: NxosDevice) -> None:
    drv = _napalm(dev)
    try:
        drv.load_replace_candidate(config=LEAF3.replace("ocp-master2", "replaced", 1))
        assert dev.files["candidate_config.txt"].decode() == LEAF3.replace("ocp-master2", "replaced", 1)
        assert drv.compare_config() == (
            "interface Ethernet1/1\n  no description k8s ocp: ocp-master2\n  description k8s ocp: replaced"
        )
        drv.commit_config()
        assert _desc(dev) == "description k8s ocp: replaced"
        drv.load_replace_candidate(config=dev.running_text())
        assert drv.compare_config() == ""
        drv.discard_config()
        assert "candidate_config.txt" not in dev.files
        drv.rollback()
        assert _desc(dev) == "description k8s ocp: ocp-master2"
    finally:
        drv.close()


def test_ins_api_json_format(dev: NxosDevice) -> None:
    r = requests.post(
        f"http://{dev.host}:{dev.http_port}/ins",
        json={"ins_api": {"version": "1.0", "type": "cli_show", "input": "show hostname", "output_format": "json"}},
        auth=(dev.username, dev.password),
        timeout=10,
    )
    assert r.json()["ins_api"]["outputs"]["output"]["body"] == {"hostname": "leaf3"}
    bad = requests.post(f"http://{dev.host}:{dev.http_port}/ins", json=[], auth=(dev.username, "wrong"), timeout=10)
    assert bad.status_code == 401


# ------------------------------------------------------------------ the safety net


SAFETY_NET = [
    "feature scheduler",
    "scheduler job name fabric-revert",
    "rollback running-config checkpoint fabric-before",
    "exit",
    "scheduler schedule name fabric-revert",
    "  job name fabric-revert",
]


def _in_minutes(dev: NxosDevice, minutes: int) -> str:
    clock = _rpc(dev, "show clock")["result"]["body"]["simple_time"]
    hh, mm = (int(x) for x in clock.split(":")[:2])
    total = hh * 60 + mm + minutes
    return f"time start {total // 60 % 24}:{total % 60:02d}"


def test_scheduled_rollback_fires_unless_removed(fast: NxosDevice) -> None:
    dev = fast
    replies = _rpc(dev, "checkpoint fabric-before", *SAFETY_NET, "  " + _in_minutes(dev, 3))
    assert all("error" not in r for r in replies)
    assert dev.schedules == ["fabric-revert"]
    _rpc(dev, "interface Ethernet1/1", "  description pushed")
    assert _desc(dev) == "description pushed"
    deadline = time.time() + 10
    while _desc(dev) != "description k8s ocp: ocp-master2" and time.time() < deadline:
        time.sleep(0.05)
    assert _desc(dev) == "description k8s ocp: ocp-master2"  # rolled back, scheduler config gone with it
    assert dev.schedules == [] and "feature scheduler" not in dev.running.children
    assert dev.scheduler_log and "-> ok" in dev.scheduler_log[0]

    # confirmed: the schedule is removed before it fires
    _rpc(dev, "checkpoint fabric-before2", *SAFETY_NET[:2], "rollback running-config checkpoint fabric-before2", "exit",
         *SAFETY_NET[4:], "  " + _in_minutes(dev, 3))
    _rpc(dev, "interface Ethernet1/1", "  description kept")
    _rpc(dev, "no scheduler schedule name fabric-revert", "no scheduler job name fabric-revert")
    assert dev.schedules == []
    time.sleep(3.5)
    assert _desc(dev) == "description kept"


def test_scheduler_needs_the_feature(dev: NxosDevice) -> None:
    reply = _rpc(dev, "scheduler job name x")
    assert "Invalid command" in reply["error"]["data"]["msg"]


# ------------------------------------------------------------------ faults


def test_refused_commit(dev: NxosDevice) -> None:
    dev.faults.refuse_commit = "% Configuration update aborted: injected"
    drv = _napalm(dev)
    try:
        drv.load_merge_candidate(config="interface Ethernet1/1\n  description changed\n")
        with pytest.raises(MergeConfigException, match="injected"):
            drv.commit_config()
        assert _desc(dev) == "description k8s ocp: ocp-master2"
    finally:
        drv.close()


@needs_port_22
def test_refused_and_rejected_replace(dev: NxosDevice) -> None:
    drv = _napalm(dev)
    try:
        dev.faults.reject_line = "interface Ethernet1/1 description k8s ocp: replaced"
        drv.load_replace_candidate(config=LEAF3.replace("ocp-master2", "replaced", 1))
        with pytest.raises(NXAPICommandError, match="Rollback failed"):
            drv.commit_config()  # napalm lets the NX-API error through
        assert _desc(dev) == "description k8s ocp: ocp-master2"
    finally:
        drv.close()


def test_rejected_line_in_a_merge(dev: NxosDevice) -> None:
    dev.faults.reject_line = "interface Ethernet1/1 description bad"
    reply = _rpc(dev, "interface Ethernet1/1", "  mtu 9000", "  description bad", "  description never")
    assert "error" not in reply[1] and "Invalid command" in reply[2]["error"]["data"]["msg"]
    assert len(reply) == 3  # the batch stops at the refused line
    assert "mtu 9000" in dev.running.children["interface Ethernet1/1"].children


@pytest.mark.parametrize("when", ["before", "after"])
def test_connection_dropped_mid_commit(dev: NxosDevice, when: str) -> None:
    dev.faults.drop_on_commit = when
    with pytest.raises(requests.ConnectionError):
        _rpc(dev, "interface Ethernet1/1", "  description dropped")
    assert (_desc(dev) == "description dropped") is (when == "after")


def test_lock_held(dev: NxosDevice) -> None:
    dev.faults.hold_lock = True
    reply = _rpc(dev, "interface Ethernet1/1", "  description x")
    assert "locked" in reply[0]["error"]["data"]["msg"]
    assert "error" not in _rpc(dev, "show hostname")


def test_latency(dev: NxosDevice) -> None:
    dev.faults.latency = 0.3
    start = time.monotonic()
    _rpc(dev, "show hostname")
    assert time.monotonic() - start >= 0.3


def test_lost_address_after_commit_and_the_schedule_still_fires(fast: NxosDevice) -> None:
    dev = fast
    _rpc(dev, "checkpoint fabric-before", *SAFETY_NET, "  " + _in_minutes(dev, 3))
    dev.faults.lose_address_after_commit = True
    _rpc(dev, "interface Ethernet1/1", "  description pushed")  # answered, then the address is gone
    assert not dev.reach.up
    with pytest.raises(requests.exceptions.Timeout):
        _rpc(dev, "no scheduler schedule name fabric-revert", timeout=0.5)
    deadline = time.time() + 10
    while _desc(dev) != "description k8s ocp: ocp-master2" and time.time() < deadline:
        time.sleep(0.05)
    assert _desc(dev) == "description k8s ocp: ocp-master2"
    dev.restore_address()
    assert _rpc(dev, "show hostname")["result"]["body"] == {"hostname": "leaf3"}


def test_sessions_down_after_commit(dev: NxosDevice) -> None:
    dev.faults.sessions_down_after_commit = True
    drv = _napalm(dev)
    try:
        assert all(p["is_up"] for p in drv.get_bgp_neighbors()["global"]["peers"].values())
        drv.load_merge_candidate(config="interface Ethernet1/1\n  description changed\n")
        drv.commit_config()
        assert not any(p["is_up"] for p in drv.get_bgp_neighbors()["global"]["peers"].values())
    finally:
        drv.close()
