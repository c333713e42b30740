"""The ``frr`` deploy driver against a real FRR router in a namespace: the candidate
lifecycle of the driver protocol (diff, commit, idempotence, rollback, commit confirmed
with its revert timer, refused lines) and the getters."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from fabric.deploy import CommitError, Connection, LoadError, driver_for
from fabric.deploy.drivers.frr import FRR_RELOAD, FrrDriver
from fabric.lab import Lab, Router, cleanup_stale, wait_until

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(not os.path.exists(FRR_RELOAD), reason="frr-reload.py missing (Debian package frr-pythontools)"),
]

BASE = """\
frr defaults datacenter
hostname r1
!
interface lo
 ip address 10.255.0.1/32
!
router bgp 65001
 bgp router-id 10.255.0.1
 no bgp default ipv4-unicast
 neighbor 10.0.0.1 remote-as 65002
 !
 address-family ipv4 unicast
  network 10.255.0.1/32
  neighbor 10.0.0.1 activate
 exit-address-family
!
"""
CHANGED = BASE.replace("neighbor 10.0.0.1 remote-as 65002", "neighbor 10.0.0.1 remote-as 65003")


@pytest.fixture
def router(lab: Lab) -> Iterator[Router]:
    r = lab.add_router("r1")
    peer = lab.add_host("r2")
    lab.link(r, peer, a_addrs=["10.0.0.0/31"], b_addrs=["10.0.0.1/31"])
    r.start(None)
    yield r


def driver(r: Router) -> FrrDriver:
    conn = Connection(host="r1", platform="frr", options={"vty_socket": str(r.rundir), "netns": r.netns})
    d = driver_for("frr", conn)
    assert isinstance(d, FrrDriver)
    d.open()
    return d


def remote_as(r: Router) -> str:
    return next((ln.strip() for ln in r.vtysh("show running-config").splitlines() if "remote-as" in ln), "")


def test_diff_commit_idempotent_rollback(router: Router) -> None:
    d = driver(router)
    d.load_replace_candidate(BASE)
    diff = d.compare_config()
    assert "+  neighbor 10.0.0.1 remote-as 65002" in diff and "router bgp 65001" in diff
    d.commit_config()
    assert remote_as(router) == "neighbor 10.0.0.1 remote-as 65002"
    d.load_replace_candidate(BASE)
    assert d.compare_config() == ""  # unchanged: nothing to commit
    d.discard_config()
    d.load_replace_candidate(CHANGED)
    diff = d.compare_config()
    assert "-  no neighbor 10.0.0.1 remote-as 65002" in diff or "remote-as 65003" in diff
    d.commit_config()
    assert remote_as(router) == "neighbor 10.0.0.1 remote-as 65003"
    d.rollback()  # to the config before the last commit
    assert remote_as(router) == "neighbor 10.0.0.1 remote-as 65002"
    assert "router bgp 65001" in d.get_config()
    d.close()


def test_commit_confirmed_reverts_by_itself_unless_confirmed(router: Router) -> None:
    d = driver(router)
    d.load_replace_candidate(BASE)
    d.compare_config()
    d.commit_config()
    d.load_replace_candidate(CHANGED)
    d.compare_config()
    d.commit_config(revert_in=2)
    assert d.has_pending_commit()
    assert remote_as(router).endswith("65003")
    wait_until(lambda: remote_as(router).endswith("65002"), 60, "the revert timer to restore the config", 0.2)
    wait_until(lambda: not d.has_pending_commit(), 30, "the timer to finish", 0.2)
    # confirmed in time: stays
    d.load_replace_candidate(CHANGED)
    d.compare_config()
    d.commit_config(revert_in=30)
    d.confirm_commit()
    assert not d.has_pending_commit()
    assert remote_as(router).endswith("65003")
    with pytest.raises(CommitError):
        d.confirm_commit()


def test_a_line_frr_refuses_is_a_load_error(router: Router) -> None:
    d = driver(router)
    with pytest.raises(LoadError, match="r1"):
        d.load_replace_candidate(BASE + "router bgp 65001\n neighbor 10.0.0.1 no-such-knob\n")
    with pytest.raises(CommitError, match="nothing staged"):
        d.commit_config()


def test_getters(router: Router) -> None:
    d = driver(router)
    d.load_replace_candidate(BASE)
    d.compare_config()
    d.commit_config()
    (n,) = d.get_bgp_neighbors()
    assert (n.vrf, n.address, n.remote_as, n.up) == ("default", "10.0.0.1", 65002, False)
    routes = {r.prefix: r for r in d.get_routes()}
    assert "10.255.0.1/32" in routes and "10.0.0.0/31" in routes
    assert any(i.name == "lo" for i in d.get_interfaces())
    assert d.get_vnis() == []
    assert d.get_facts().vendor == "FRRouting"


def test_unreachable_router_is_a_connect_error() -> None:
    cleanup_stale()
    from fabric.deploy import ConnectError

    d = driver_for("frr", Connection(host="gone", platform="frr", options={"vty_socket": "/nonexistent"}))
    with pytest.raises(ConnectError, match="gone"):
        d.open()
