"""The whole fabric, live (issue 7 acceptance): ``inventories/lab`` up -> deploy -> validate
green -> anycast DNS from the hosts -> unbound stopped on one node -> a network moved to a
new VLAN and re-deployed -> one spine's bgpd stopped -> down leaves nothing. Then the same
up to validate green for ``inventories/shownet2024`` (Junos/NX-OS devices as FRR twins).

The steps of one inventory share one lab (module fixture) and run in file order, each
starting from the state the previous one left. Lab names carry the pid, so parallel runs
and the user's own labs are never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import fabric
from fabric.api import Fabric
from fabric.lab import ops
from fabric.lab.fabriclab import FabricLab, lab_requirements
from fabric.lab.system import LabError, list_netns, wait_until
from fabric.validate import Report, validate_lab, wait_lab

REPO = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(lab_requirements() is not None, reason=str(lab_requirements())),
    pytest.mark.skipif(shutil.which("dig") is None, reason="dig is not installed (Debian package dnsutils)"),
]

DNS = "198.51.100.53"
QNAME = "whoami.lab.lab."
NODE_ADDR = {"node1": "10.1.20.11", "node2": "10.1.20.12", "node3": "10.1.20.13", "node4": "10.1.20.14"}


def failed(report: Report) -> list[str]:
    return [f"{c.device}: {c.area} {c.item}: expected {c.expected}, seen {c.seen}" for c in report.failed]


def dig(lab: FabricLab, host: str, tries: int = 3) -> str:
    for _ in range(tries):
        out = lab.exec(host, "dig", "+short", "+time=1", "+tries=1", f"@{DNS}", QNAME, check=False, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    return ""


class Env:
    def __init__(self, tmp: Path) -> None:
        self.inventory = tmp / "lab"
        shutil.copytree(REPO / "inventories" / "lab", self.inventory)
        self.fab: Fabric = fabric.load(self.inventory)
        self.lab = FabricLab(f"t{os.getpid()}")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    e = Env(tmp_path_factory.mktemp("fabric-lab"))
    try:
        yield e
    finally:
        e.lab.down()


def test_up_deploy_validate_green(env: Env) -> None:
    lab = ops.up(env.fab, env.lab.name)
    assert lab.exists()
    report = ops.deploy(env.fab, env.lab.name)
    assert report.ok, [d.error for d in report.devices]
    assert sorted(report.changed) == sorted(env.fab.design())  # a fresh lab: every device gets its config
    again = ops.deploy(env.fab, env.lab.name)
    assert again.ok and again.changed == []  # re-deploying an unchanged lab changes nothing
    result = wait_lab(env.fab, env.lab.name, timeout=120)
    assert result.ok, failed(result)
    areas = {c.area for c in result.checks if c.status == "pass"}
    assert {"session", "vni", "ping", "service", "agent"} <= areas
    widths = {c.device: c.item for c in result.checks if c.area == "service"}
    assert widths["spine1"].endswith("ECMP width 4") and widths["leaf1"].endswith("ECMP width 1")
    skipped = [c for c in result.checks if c.status == "skipped"]
    assert all(c.area == "l3vni" for c in skipped)


def test_external_router_learns_the_vrf_and_hosts_reach_behind_it(env: Env) -> None:
    """Issue 9 item 11: leaf4 (border) hands VRF blue to the backbone namespace. Without
    kernel VRFs the session runs in the default tables (NO_VRF_REASON); validate saw it up."""
    backbone = env.lab.router("x-backbone")
    learned4 = backbone.vtysh_json("show ip route bgp json")
    learned6 = backbone.vtysh_json("show ipv6 route bgp json")
    # exactly the VRF's subnets (the border's export policy), nothing of the underlay
    assert sorted(learned4) == ["10.1.10.0/24", "10.1.20.0/24"], sorted(learned4)
    assert sorted(learned6) == ["2001:db8:1:10::/64", "2001:db8:1:20::/64"], sorted(learned6)
    # what the backbone announces reaches every leaf; hosts behind any leaf reach it
    for leaf in ("leaf1", "leaf4"):
        assert "203.0.113.0/24" in env.lab.router(leaf).vtysh_json("show ip route 203.0.113.0/24 json")
    for host, target in (("h-servers-leaf1", "203.0.113.1"), ("h-k8s-nodes-leaf2", "2001:db8:ffff::1")):
        out = env.lab.exec(host, "ping", "-c", "2", "-W", "2", target, check=False, timeout=15)
        assert out.returncode == 0, out.stdout + out.stderr
    # the inventory asks for BFD toward the backbone (`bfd: {}`): both sessions' BFD is up
    # on the border, with the intent's 300 ms timers

    def bfd_up() -> dict[str, str]:
        peers = env.lab.router("leaf4").vtysh_json("show bfd peers json")
        return {str(p.get("peer")): str(p.get("status")) for p in peers if isinstance(p, dict)} \
            if isinstance(peers, list) else {}

    deadline = time.monotonic() + 30
    while not {"192.0.2.1", "2001:db8:ff::1"} <= {a for a, st in bfd_up().items() if st == "up"}:
        assert time.monotonic() < deadline, bfd_up()
        time.sleep(1)


def test_dns_through_the_anycast_address_from_every_leaf(env: Env) -> None:
    hosts = [f"h-servers-leaf{i}" for i in range(1, 5)]
    answers = {h: dig(env.lab, h) for h in hosts}
    assert all(answers.values()), answers
    # each leaf prefers its own node (one AS hop): the answer names that node's address
    assert answers["h-servers-leaf2"] == NODE_ADDR["node2"]


def test_unbound_stopped_on_one_node_removes_its_path(env: Env) -> None:
    env.lab.stop_process("node1", "unbound")
    last: list[Report] = []

    def withdrawn() -> Report | None:
        # every router converges in its own time (leaf1 hears the other leaves' paths only
        # once the spines re-advertise): wait until the whole fabric says what is expected
        r = validate_lab(env.fab, env.lab.name)
        last[:] = [r]
        spine = next(c for c in r.checks if c.area == "service" and c.device == "spine1")
        settled = [(c.device, c.area) for c in r.failed] == [("node1", "agent")]
        return r if spine.item.endswith("ECMP width 3") and spine.status == "pass" and settled else None

    try:
        try:
            report = wait_until(withdrawn, 60, "node1's path to leave the fabric", interval=1)
        except LabError:
            raise AssertionError(failed(last[0]) if last else "no validation ran") from None
        bad = report.failed
        # the only failure is node1's service itself; routes everywhere match the 3 healthy nodes
        assert [(c.device, c.area) for c in bad] == [("node1", "agent")], failed(report)
        assert "withdrawn-unhealthy" in bad[0].seen
        leaf1 = next(c for c in report.checks if c.area == "service" and c.device == "leaf1")
        assert leaf1.status == "pass" and NODE_ADDR["node1"] not in leaf1.seen  # now via both spines
        assert leaf1.item.endswith("ECMP width 2")
        for i in range(1, 5):
            assert dig(env.lab, f"h-servers-leaf{i}") in set(NODE_ADDR.values()) - {NODE_ADDR["node1"]}
    finally:  # the next steps start from a healthy fabric whatever happened here
        env.lab.start_process("node1", "unbound")
    back = wait_lab(env.fab, env.lab.name, timeout=60)
    assert back.ok, failed(back)


def test_network_moved_to_a_new_vlan_changes_only_its_leaves(env: Env) -> None:
    tenants = env.inventory / "tenants.yaml"
    data = yaml.safe_load(tenants.read_text())
    for net in data["tenants"][0]["networks"]:
        if net["name"] == "servers":
            net["vlan"] = 150
    tenants.write_text(yaml.safe_dump(data, sort_keys=False))
    fab = fabric.load(env.inventory)
    fab.write_plan(fab.plan())
    fab = fabric.load(env.inventory)
    carriers = sorted(n for n, i in fab.design().items() if any(v.name == "servers" for v in i.vnis))
    report = ops.deploy(fab, env.lab.name)
    assert report.ok, [d.error for d in report.devices]
    assert sorted(report.changed) == carriers
    for d in report.devices:
        if d.changed:
            assert "vlan150" in d.diff and any("vlan150" in c for c in d.linux)
    env.fab = fab
    result = wait_lab(fab, env.lab.name, timeout=120)
    assert result.ok, failed(result)
    assert env.lab.exec("leaf1", "ip", "link", "show", "vlan150").returncode == 0


def test_spine_bgpd_stopped_names_exactly_its_sessions(env: Env) -> None:
    router = env.lab.router("spine1")
    os.kill(router.pids()["bgpd"], signal.SIGKILL)

    last: list[Report] = []

    def down() -> Report | None:
        # the sessions go down first; the routes through spine2 settle a moment later
        r = validate_lab(env.fab, env.lab.name)
        last[:] = [r]
        leaf_sessions = [c for c in r.checks if c.area == "session" and c.peer == "spine1"]
        settled = all(c.device == "spine1" for c in r.failed if c.area != "session")
        return r if leaf_sessions and all(c.status == "fail" for c in leaf_sessions) and settled else None

    try:
        report = wait_until(down, 60, "the leaves' sessions to spine1 to go down", interval=1)
    except LabError:
        raise AssertionError(failed(last[0]) if last else "no validation ran") from None
    failed_sessions = {(c.device, c.item) for c in report.failed if c.area == "session"}
    expected = {(c.device, c.item) for c in report.checks
                if c.area == "session" and (c.peer == "spine1" or c.device == "spine1")}
    assert failed_sessions == expected, failed(report)
    others = [c for c in report.failed if c.area != "session"]
    assert all(c.device == "spine1" for c in others), failed(report)  # spine1 itself cannot be read
    # traffic still flows through spine2: every ping and every DNS query
    assert all(c.status == "pass" for c in report.checks if c.area in ("ping", "agent")), failed(report)
    assert all(dig(env.lab, f"h-servers-leaf{i}") for i in range(1, 5))


def test_down_leaves_nothing(env: Env) -> None:
    d = env.lab.dir
    removed = env.lab.down()
    assert removed
    assert not [n for n in list_netns() if n.startswith(env.lab.prefix)]
    assert not d.exists()
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert str(d) not in ps and env.lab.prefix not in ps
    assert not env.lab.exists()


def test_shownet2024_twins_up_to_validate_green(tmp_path: Path) -> None:
    fab = fabric.load(REPO / "inventories" / "shownet2024")
    lab = FabricLab(f"s{os.getpid()}")
    try:
        ops.up(fab, lab.name)
        report = ops.deploy(fab, lab.name)
        assert report.ok, [d.error for d in report.devices]
        result = wait_lab(fab, lab.name, timeout=180)
        assert result.ok, failed(result)
        twins = [n for n, i in fab.design().items() if i.platform != "frr"]
        assert twins and all(any(c.device == t and c.status == "pass" for c in result.checks) for t in twins)
        # each border hands every VRF to its backbone: each VRF's subnets / aggregates arrive
        # (noc's subnet, the exhibitors and k8s aggregates), and the default route comes back
        for backbone in ("x-backbone1", "x-backbone2"):
            learned = lab.router(backbone).vtysh_json("show ip route bgp json")
            assert {"10.10.0.0/24", "10.20.0.0/16", "10.30.0.0/16"} <= set(learned), (backbone, sorted(learned))
        host = next(h for h in ops.topology(fab).hosts if h.leaf == "leaf3" and h.address4 is not None)
        out = lab.exec(host.name, "ping", "-c", "2", "-W", "2", "203.0.113.1", check=False, timeout=15)
        assert out.returncode == 0, out.stdout + out.stderr
    finally:
        lab.down()
    assert not lab.exists()
