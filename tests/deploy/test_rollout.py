"""Rollouts with real napalm and ncclient against the test devices (``tests.devices``).

Every fault test checks the acceptance rule: the fabric ends exactly as before the run
(every device's running config compared) and the report names the cause. With the NX-API
test device present, the whole of shownet2024 runs (one device per switch); without it the
Junos switches of shownet2024 do (``--device`` scope), and the nxos cases skip with that
reason.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fabric.deploy.engine import DeployReport
from fabric.deploy.journal import read_journal
from fabric.deploy.pristine import blocks, extract, read_pristine
from tests.deploy.testbed import PASSWORD, Testbed, nxos_available, testbed, write_deploy_yaml

JUNOS = ["leaf1", "leaf2", "leaf5", "border1", "border2"]
pytestmark = pytest.mark.slow


def _scope() -> list[str] | None:
    return None if nxos_available() else JUNOS


def _deploy(bed: Testbed, **kw: object) -> DeployReport:
    scope = _scope()
    args: dict[str, object] = {"parallel": 10, "canary": 1}
    if scope is not None:
        args["devices"] = scope
    args.update(kw)
    return bed.fab().deploy(**args)


def _onboarded(bed: Testbed) -> None:
    rep = bed.fab().onboard(devices=list(bed.devices))
    assert rep.ok, rep.devices


def _no_password(*texts: str) -> None:
    for t in texts:
        assert PASSWORD not in t


@pytest.fixture(params=["napalm", "netconf"])
def bed(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Testbed:
    """The testbed with the Junos switches on the ``napalm`` or the ``netconf`` driver (the
    fault tests pick one driver each through ``indirect`` parametrization, to keep the suite
    short; the full rollout and the host-key test run both)."""
    cm = testbed(tmp_path, monkeypatch, driver_junos=request.param, only=_scope())
    b = cm.__enter__()
    request.addfinalizer(lambda: cm.__exit__(None, None, None))
    return b


def test_full_rollout_idempotent_and_pristine_survives(bed: Testbed, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every library's debug log too: no password in any of it
    factory = bed.running()
    _onboarded(bed)
    rep = _deploy(bed)
    assert rep.status == "deployed", rep.cause or {n: d.cause for n, d in rep.devices.items()}
    assert all(d.status == "deployed" for d in rep.devices.values())
    assert rep.waves[0] == ["leaf1"] and len(rep.waves) >= 2
    after_first = bed.running()
    assert all("STALE-FABRIC-VLAN" not in t for t in after_first.values())
    commits = bed.commits()
    rep2 = _deploy(bed)
    assert rep2.status == "unchanged" and bed.commits() == commits and bed.running() == after_first
    # pristine parts byte for byte (part by part) after onboarding and two deploys
    fab = bed.fab()
    for name, text in bed.running().items():
        platform = bed.platforms[name]
        pristine = read_pristine(fab.path, name, platform)  # type: ignore[arg-type]
        assert pristine is not None and pristine.strip()
        assert blocks(platform, extract(platform, text)) == blocks(platform, pristine)  # type: ignore[arg-type]
        assert blocks(platform, pristine) == blocks(platform, extract(platform, factory[name]))  # type: ignore[arg-type]
    # a fabric object removed from the inventory is gone from the device
    tenants = (bed.inv / "tenants.yaml").read_text(encoding="utf-8")
    assert all("exh-vm" in t for n, t in bed.running().items() if n.startswith("leaf"))
    import yaml

    doc = yaml.safe_load(tenants)
    removed = None
    for tenant in doc["tenants"]:
        for net in tenant.get("networks", []):
            if net["name"] == "exh-vm":
                removed = net
                tenant["networks"].remove(net)
                break
    assert removed is not None
    (bed.inv / "tenants.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    subprocess.run([sys.executable, "-m", "fabric.cli", "plan", str(bed.inv)], check=True, capture_output=True)
    rep3 = _deploy(bed)
    assert rep3.status == "deployed", rep3.cause
    assert all("exh-vm" not in t for t in bed.running().values())
    pristine_files = [p.read_text() for p in (bed.inv / "pristine").iterdir()]
    _no_password(json.dumps(rep.to_dict()), json.dumps(rep3.to_dict()), (bed.inv / ".deploy/journal.jsonl").read_text(),
                 caplog.text, *pristine_files)
    assert len(caplog.text) > 10_000  # the debug logs were captured


def _fault_case(bed: Testbed, arm: object, expect: str, device: str = "leaf2") -> DeployReport:
    _onboarded(bed)
    before = bed.running()
    arm(bed.devices[device])  # type: ignore[operator]
    rep = _deploy(bed)
    for d in bed.devices.values():
        d.faults.clear()
    assert rep.status in ("rolled-back", "failed"), rep.status
    assert bed.running() == before
    assert expect in rep.cause or expect in rep.devices[device].cause, (rep.cause, rep.devices[device])
    _no_password(json.dumps(rep.to_dict()), *(
        (bed.inv / ".deploy/journal.jsonl").read_text(),) if (bed.inv / ".deploy/journal.jsonl").exists() else ())
    return rep


@pytest.mark.parametrize("bed", ["napalm"], indirect=True)
def test_commit_refused_in_wave_two(bed: Testbed) -> None:
    def arm(d: object) -> None:
        d.faults.refuse_commit = "commit failed: (statement refused by test)"  # type: ignore[attr-defined]

    rep = _fault_case(bed, arm, "statement refused by test")
    assert rep.devices["leaf2"].wave == 2 and rep.devices["leaf1"].status == "rolled-back"
    assert rep.devices["leaf2"].status == "failed", rep.devices["leaf2"].cause


@pytest.mark.parametrize("bed", ["netconf"], indirect=True)
def test_connection_dropped_mid_commit(bed: Testbed) -> None:
    def arm(d: object) -> None:
        d.faults.drop_on_commit = "after"  # type: ignore[attr-defined]

    rep = _fault_case(bed, arm, "commit")
    assert rep.devices["leaf2"].status == "failed"


@pytest.mark.parametrize("bed", ["netconf"], indirect=True)
def test_lock_held_sends_nothing(bed: Testbed) -> None:
    commits = bed.commits()

    def arm(d: object) -> None:
        d.faults.hold_lock = True  # type: ignore[attr-defined]

    rep = _fault_case(bed, arm, "lock")
    assert rep.waves == [] and bed.commits() == commits
    assert "nothing was sent" in rep.cause


@pytest.mark.parametrize("bed", ["napalm"], indirect=True)
def test_postcheck_failure(bed: Testbed) -> None:
    def arm(d: object) -> None:
        d.faults.sessions_down_after_commit = True  # type: ignore[attr-defined]

    rep = _fault_case(bed, arm, "post-check failed")
    assert "BGP sessions down that were up before the commit" in rep.devices["leaf2"].cause or (
        "expected new BGP sessions" in rep.devices["leaf2"].cause)


@pytest.mark.parametrize("bed", ["netconf"], indirect=True)
def test_management_address_lost_confirm_never_arrives(bed: Testbed) -> None:
    dev = bed.devices["leaf2"]

    def comes_back() -> None:  # the device's own timer rolls it back; then it answers again
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not dev.reach.up and not dev.pending_confirm and dev.commits >= 2:
                dev.restore_address()
                return
            time.sleep(0.1)

    def arm(d: object) -> None:
        d.faults.lose_address_after_commit = True  # type: ignore[attr-defined]
        threading.Thread(target=comes_back, daemon=True).start()

    rep = _fault_case(bed, arm, "leaf2")
    assert rep.devices["leaf2"].status == "failed"


@pytest.mark.parametrize("bed", ["napalm"], indirect=True)
def test_nxos_unreachable_switch_rolls_itself_back(bed: Testbed) -> None:
    """The on-device safety net: the switch loses its address after the commit, the confirm
    never arrives, its scheduler rolls it back to the checkpoint; the run reports why."""
    if not nxos_available():
        pytest.skip("tests.devices.nxos (the NX-API test device) is not in this tree yet")
    dev = bed.devices["leaf3"]

    def comes_back() -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if not dev.reach.up and dev.scheduler_log:
                dev.restore_address()
                return
            time.sleep(0.1)

    def arm(d: object) -> None:
        d.faults.lose_address_after_commit = True  # type: ignore[attr-defined]
        threading.Thread(target=comes_back, daemon=True).start()

    rep = _fault_case(bed, arm, "leaf3", device="leaf3")
    assert rep.devices["leaf3"].status == "failed"
    assert dev.scheduler_log and all("-> ok" in line for line in dev.scheduler_log), dev.scheduler_log
    assert rep.devices["leaf3"].steps[-1] == "reverted"  # it had rolled itself back before the restore


@pytest.mark.parametrize("bed", ["netconf"], indirect=True)
def test_nxos_commit_refused(bed: Testbed) -> None:
    if not nxos_available():
        pytest.skip("tests.devices.nxos (the NX-API test device) is not in this tree yet")

    def arm(d: object) -> None:
        d.faults.refuse_commit = "Rollback failed. (refused by test)"  # type: ignore[attr-defined]

    rep = _fault_case(bed, arm, "refused by test", device="leaf4")
    assert rep.devices["leaf4"].wave == 3 and rep.devices["leaf4"].status == "failed"


def test_host_key_mismatch_refuses(bed: Testbed) -> None:
    from tests.devices import HostKey

    _onboarded(bed)
    leaf1 = bed.devices["leaf1"]
    asked = len(leaf1.rpcs)
    mine = leaf1.known_hosts_line()
    other = HostKey.generate().known_hosts_line(leaf1.host, leaf1.port)
    text = bed.known_hosts.read_text()
    assert mine in text
    bed.known_hosts.write_text(text.replace(mine, other))
    rep = bed.fab().diff(devices=["leaf1"])
    assert rep.devices["leaf1"].status == "failed"
    assert "HOST KEY MISMATCH" in rep.devices["leaf1"].cause and "refusing to connect" in rep.devices["leaf1"].cause
    assert len(leaf1.rpcs) == asked  # nothing was asked of the impostor (no login either)


def _pending(dev: object) -> bool:
    """A commit waits for its confirmation (Junos timer, or the NX-OS revert schedule)."""
    if hasattr(dev, "pending_confirm"):
        return bool(dev.pending_confirm)
    return bool(dev.schedules)  # type: ignore[attr-defined]


def _journal_steps(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            out.append(json.loads(line))
    return out


@pytest.mark.parametrize("bed", ["napalm"], indirect=True)
def test_controller_sigkilled_mid_wave_then_resume_and_rollback(bed: Testbed) -> None:
    _onboarded(bed)
    before = bed.running()
    for d in bed.devices.values():
        d.faults.latency = 0.05
    journal = bed.inv / ".deploy/journal.jsonl"
    scope = [arg for n in (_scope() or []) for arg in ("--device", n)]
    cmd = [sys.executable, "-m", "fabric.cli", "deploy", str(bed.inv), "--parallel", "10", *scope]
    proc = subprocess.Popen(cmd, env=bed.subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    killed = False
    while time.monotonic() < deadline and proc.poll() is None:
        recs = _journal_steps(journal)
        if any(r.get("step") == "committed" and r.get("device") != "leaf1" for r in recs):
            proc.send_signal(signal.SIGKILL)
            killed = True
            break
        time.sleep(0.02)
    out, err = proc.communicate(timeout=30)
    assert killed, (out.decode(), err.decode())
    state = read_journal(journal)
    assert not state.finished and state.touched()
    for d in bed.devices.values():
        d.faults.latency = 0.0
    again = subprocess.run(cmd, env=bed.subprocess_env(), capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "was interrupted" in again.stderr and "--resume" in again.stderr
    res = subprocess.run([*cmd, "--resume", "--json"], env=bed.subprocess_env(), capture_output=True, text=True,
                         timeout=300)
    report = json.loads(res.stdout)
    assert res.returncode == 0 and report["status"] == "deployed", (res.stdout, res.stderr)
    assert not any(_pending(d) for d in bed.devices.values())
    desired = bed.running()
    assert desired != before
    rb = subprocess.run([sys.executable, "-m", "fabric.cli", "rollback", str(bed.inv), "--json"],
                        env=bed.subprocess_env(), capture_output=True, text=True, timeout=300)
    assert rb.returncode == 0, (rb.stdout, rb.stderr)
    assert json.loads(rb.stdout)["status"] == "rolled-back"
    assert bed.running() == before
    _no_password(res.stdout, res.stderr, rb.stdout, rb.stderr, out.decode(), err.decode(), journal.read_text())


@pytest.mark.parametrize("bed", ["napalm"], indirect=True)
def test_write_deploy_yaml_is_reusable(bed: Testbed) -> None:
    write_deploy_yaml(bed, "netconf", {"timeout": 4})
    assert bed.fab().inventory.deploy.timeout == 4


@pytest.mark.parametrize("bed", ["netconf"], indirect=True)
def test_cli_diff_changes_nothing_and_refuses_before_onboarding(bed: Testbed) -> None:
    before = bed.running()
    cmd = [sys.executable, "-m", "fabric.cli", "diff", str(bed.inv), "--device", "leaf1"]
    res = subprocess.run(cmd, env=bed.subprocess_env(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 1 and "leaf1: not onboarded" in res.stderr and "nothing" not in res.stdout
    _onboarded(bed)
    res = subprocess.run(cmd, env=bed.subprocess_env(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("--- leaf1 (junos, netconf)") and "STALE-FABRIC-VLAN" in res.stdout
    assert bed.running() == before and bed.commits() == dict.fromkeys(bed.devices, 0)
    _no_password(res.stdout, res.stderr)
