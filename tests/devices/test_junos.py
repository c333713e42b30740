"""The Junos test device against real napalm (PyEZ) and real ncclient."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest
from jnpr.junos.exception import CommitError
from napalm import get_network_driver
from napalm.base.exceptions import LockError, MergeConfigException, ReplaceConfigException
from ncclient import manager
from ncclient.operations.errors import TimeoutExpiredError
from ncclient.transport.errors import SSHError
from ncclient.xml_ import to_ele

from tests.devices import JunosDevice
from tests.devices import junos_config as jc

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "shownet2024" / "configs"
LEAF1 = (GOLDEN / "leaf1.conf").read_text()


def _mtu(dev: JunosDevice, ifname: str = "et-0/0/48") -> str:
    node = dev.running.children[("interfaces",)].children[(ifname,)].children[("mtu",)]  # type: ignore[union-attr,index]
    return node.words[1]


@pytest.fixture
def dev() -> Iterator[JunosDevice]:
    with JunosDevice(LEAF1) as d:
        yield d


@pytest.fixture
def fast() -> Iterator[JunosDevice]:
    """A device whose minute lasts 1 s: a ``commit confirmed 1`` expires quickly."""
    with JunosDevice(LEAF1, minute=1.0) as d:
        yield d


def _napalm(dev: JunosDevice, **extra: object):  # type: ignore[no-untyped-def]
    drv = get_network_driver("junos")(dev.host, dev.username, dev.password, timeout=10, optional_args={"port": dev.port, **extra})
    drv.open()
    return drv


def _nc(dev: JunosDevice, tmp_path: Path, *, junos: bool = True, timeout: float = 10) -> manager.Manager:
    known = tmp_path / "known_hosts"
    known.write_text(dev.known_hosts_line() + "\n")
    cfg = tmp_path / "ssh_config"
    cfg.write_text(f"Host *\n  UserKnownHostsFile {known}\n")
    return manager.connect(
        host=dev.host,
        port=dev.port,
        username=dev.username,
        password=dev.password,
        hostkey_verify=True,
        ssh_config=str(cfg),
        device_params={"name": "junos"} if junos else None,
        look_for_keys=False,
        allow_agent=False,
        timeout=timeout,
    )


# ------------------------------------------------------------------ the configuration tree


JUNOS_GOLDEN = sorted(
    p for d in ("shownet2024", "shownet2024-dci") for p in (GOLDEN.parents[1] / d / "configs").glob("*.conf")
)


@pytest.mark.parametrize("conf", JUNOS_GOLDEN, ids=lambda p: f"{p.parents[1].name}/{p.stem}")
def test_set_curly_and_xml_are_one_tree(conf: Path) -> None:
    curly = jc.strip(jc.from_text(conf.read_text()))
    assert curly.children is not None
    del curly.children[("system",)]  # the .xml leaves system (and chassis) out: outside the YANG set
    curly.children.pop(("chassis",), None)
    xml = jc.strip(jc.from_xml(conf.with_suffix(".xml").read_text()))
    assert curly.same(xml), jc.diff(curly, xml)
    setform = jc.root()
    jc.apply_set(setform, conf.with_suffix(".set").read_text())
    assert setform.children is not None
    del setform.children[("system",)]
    setform.children.pop(("chassis",), None)
    assert curly.same(setform), jc.diff(curly, setform)
    for back in (jc.from_text(jc.to_text(curly)), jc.from_xml(jc.to_xml(curly))):
        assert curly.same(jc.strip(back))
    again = jc.root()
    jc.apply_set(again, jc.to_set(curly))
    assert curly.same(again)


def test_merge_replaces_values_adds_to_lists_and_honours_tags() -> None:
    text = "interfaces { xe-0/0/1 { mtu 9216; unit 0 { family ethernet-switching { vlan { members a; } } } } }"
    tree = jc.strip(jc.from_text(text))
    jc.apply_set(
        tree,
        "set interfaces xe-0/0/1 mtu 9000\nset interfaces xe-0/0/1 unit 0 family ethernet-switching vlan members b",
    )
    text = jc.to_text(tree)
    assert "mtu 9000;" in text and "mtu 9216" not in text
    assert "members [ a b ];" in text
    jc.merge(tree, jc.from_text("interfaces { replace: xe-0/0/1 { description x; } }"))
    assert jc.to_text(tree) == 'interfaces {\n    xe-0/0/1 {\n        description x;\n    }\n}\n'
    jc.merge(tree, jc.from_text("interfaces { delete: xe-0/0/1; }"))
    assert jc.to_text(tree) == "interfaces;\n"
    with pytest.raises(jc.ConfigError, match="line 1: warning: statement not found"):
        jc.apply_set(tree, "delete interfaces xe-0/0/9")


def test_diff_is_show_compare_style() -> None:
    old = jc.strip(jc.from_text(LEAF1))
    new = old.copy()
    jc.apply_set(
        new,
        "set interfaces et-0/0/48 mtu 9100\n"
        "delete protocols bgp group underlay neighbor 10.0.2.2\n"
        "set interfaces xe-0/0/9 unit 0 family inet address 192.0.2.1/24",
    )
    assert jc.diff(old, new) == (
        "[edit interfaces et-0/0/48]\n"
        "-   mtu 9216;\n"
        "+   mtu 9100;\n"
        "[edit interfaces]\n"
        "+   xe-0/0/9 {\n"
        "+       unit 0 {\n"
        "+           family inet {\n"
        "+               address 192.0.2.1/24;\n"
        "+           }\n"
        "+       }\n"
        "+   }\n"
        "[edit protocols bgp group underlay]\n"
        "-   neighbor 10.0.2.2 {\n"
        '-       description "underlay: spine2 Ethernet1/1";\n'
        "-       peer-as 65000;\n"
        "-   }\n"
    )
    assert jc.diff(old, old.copy()) == ""


# ------------------------------------------------------------------ napalm (PyEZ)


def test_napalm_lifecycle(dev: JunosDevice) -> None:
    drv = _napalm(dev)
    try:
        drv.load_merge_candidate(config="set interfaces et-0/0/48 mtu 9100")
        assert drv.compare_config() == "[edit interfaces et-0/0/48]\n-   mtu 9216;\n+   mtu 9100;"
        drv.commit_config(message="fabric deploy", revert_in=60)
        assert _mtu(dev) == "9100"
        assert drv.has_pending_commit() and dev.pending_confirm
        drv.confirm_commit()
        assert not drv.has_pending_commit() and not dev.pending_confirm

        drv.load_replace_candidate(config=LEAF1)
        assert "-   mtu 9100;\n+   mtu 9216;" in drv.compare_config()
        drv.discard_config()
        assert drv.compare_config() == ""
        assert _mtu(dev) == "9100"

        drv.load_merge_candidate(config="<configuration><interfaces><interface><name>et-0/0/48</name><mtu>9000</mtu></interface></interfaces></configuration>")
        drv.commit_config()
        assert _mtu(dev) == "9000"
        drv.rollback()
        assert _mtu(dev) == "9100"
        assert "mtu 9100;" in drv.get_config(retrieve="running")["running"]
        assert dev.lock_owner is None
    finally:
        drv.close()
    assert not dev.sessions or all(not s.open for s in dev.sessions.values())


def test_napalm_getters(dev: JunosDevice) -> None:
    drv = _napalm(dev)
    try:
        facts = drv.get_facts()
        assert facts["hostname"] == "leaf1" and "et-0/0/48" in facts["interface_list"]
        peers = drv.get_bgp_neighbors()["global"]["peers"]
        assert peers["10.0.2.0"]["is_up"] and peers["10.0.2.0"]["remote_as"] == 65000
        assert drv.get_interfaces()["et-0/0/48"]["mtu"] == 9216
        dev.faults.sessions_down_after_commit = True
        drv.load_merge_candidate(config="set interfaces et-0/0/48 mtu 9100")
        drv.commit_config()
        assert not any(p["is_up"] for p in drv.get_bgp_neighbors()["global"]["peers"].values())
    finally:
        drv.close()


def test_napalm_replace_of_the_same_config_has_no_diff(dev: JunosDevice) -> None:
    drv = _napalm(dev)
    try:
        drv.load_replace_candidate(config=dev.running_text())
        assert drv.compare_config() == ""
        drv.discard_config()
        xml = (GOLDEN / "leaf1.xml").read_text()
        drv.load_merge_candidate(config=xml)
        assert drv.compare_config() == ""
        drv.discard_config()
    finally:
        drv.close()


def test_unconfirmed_commit_reverts_when_the_timer_expires(fast: JunosDevice) -> None:
    dev = fast
    drv = _napalm(dev)
    try:
        drv.load_merge_candidate(config="set interfaces et-0/0/48 mtu 9100")
        drv.commit_config(revert_in=60)  # one device minute: 1 s here
        assert _mtu_of(dev.history[1].tree) == "9100" or _mtu(dev) == "9100"  # committed (and maybe reverted already)
        deadline = time.time() + 10
        while dev.pending_confirm and time.time() < deadline:
            time.sleep(0.05)
        assert _mtu(dev) == "9216"
        assert not drv.has_pending_commit()
        assert dev.history[0].comment == "confirmed commit rolled back"
    finally:
        drv.close()


def test_napalm_private_configuration(dev: JunosDevice) -> None:
    drv = _napalm(dev, config_private=True)
    try:
        drv.load_merge_candidate(config="set interfaces et-0/0/48 mtu 9100")
        assert dev.candidate.same(dev.running)  # the change is in the session's private copy
        assert drv.compare_config() == "[edit interfaces et-0/0/48]\n-   mtu 9216;\n+   mtu 9100;"
        drv.commit_config()
        assert _mtu(dev) == "9100"
    finally:
        drv.close()


def test_xml_mode_exec_fallback(dev: JunosDevice) -> None:
    """ncclient's Junos handler asks for ``exec xml-mode netconf need-trailer`` when the
    subsystem is refused: the same NETCONF session, ``]]>]]>`` framing."""
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.get_host_keys().add(f"[{dev.host}]:{dev.port}", dev.host_key.name, dev.host_key.key)
    client.connect(dev.host, dev.port, dev.username, dev.password, look_for_keys=False, allow_agent=False, timeout=10)
    try:
        chan = client.get_transport().open_session()  # type: ignore[union-attr]
        chan.exec_command("xml-mode netconf need-trailer")
        chan.settimeout(10)
        got = b""
        while b"]]>]]>" not in got:
            got += chan.recv(65536)
        assert b"urn:ietf:params:netconf:base:1.0" in got and b"base:1.1" not in got
        chan.sendall(b'<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>'
                     b"<capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>]]>]]>"
                     b'<rpc message-id="7"><get-software-information/></rpc>]]>]]>')
        got = b""
        while b"]]>]]>" not in got:
            got += chan.recv(65536)
        assert b'message-id="7"' in got and b"<host-name>leaf1</host-name>" in got
    finally:
        client.close()


def test_rollback_history(dev: JunosDevice) -> None:
    drv = _napalm(dev)
    try:
        for mtu in ("9001", "9002", "9003"):
            drv.load_merge_candidate(config=f"set interfaces et-0/0/48 mtu {mtu}")
            drv.commit_config()
    finally:
        drv.close()
    assert [_mtu_of(r.tree) for r in dev.history[:4]] == ["9003", "9002", "9001", "9216"]


def _mtu_of(tree: jc.Node) -> str:
    return tree.children[("interfaces",)].children[("et-0/0/48",)].children[("mtu",)].words[1]  # type: ignore[union-attr,index]


# ------------------------------------------------------------------ ncclient


@pytest.mark.parametrize("base11", [True, False])
def test_ncclient_junos_rpcs_with_both_framings(base11: bool, tmp_path: Path) -> None:
    with JunosDevice(LEAF1, base11=base11) as dev, _nc(dev, tmp_path) as m:
        assert any(c.endswith(":base:1.1") for c in m.server_capabilities) is base11
        m.lock()
        xml = (GOLDEN / "leaf1.xml").read_text().replace("<mtu>9216</mtu>", "<mtu>9100</mtu>")
        m.load_configuration(action="merge", format="xml", config=to_ele(xml))
        out = m.compare_configuration().xpath("//configuration-output")[0].text
        assert "[edit interfaces et-0/0/48]\n-   mtu 9216;\n+   mtu 9100;" in out
        m.validate()
        m.commit(confirmed=True, timeout="60", comment="deploy")
        assert dev.pending_confirm and _mtu(dev) == "9100"
        m.commit()
        assert not dev.pending_confirm
        m.load_configuration(action="set", config=["set interfaces et-0/0/48 mtu 9000"])
        m.commit()
        m.rollback(1)
        m.commit()
        assert _mtu(dev) == "9100"
        m.load_configuration(action="set", config="set system host-name other")
        m.discard_changes()
        assert dev.candidate.same(dev.running)
        m.unlock()
        text = m.get_configuration(format="text").xpath("//configuration-text")[0].text
        assert "mtu 9100;" in text


def test_plain_ncclient_edit_config_validate_commit(dev: JunosDevice, tmp_path: Path) -> None:
    with _nc(dev, tmp_path, junos=False) as m:
        m.lock(target="candidate")
        m.edit_config(
            target="candidate",
            config="<config><configuration><interfaces><interface><name>et-0/0/48</name><mtu>9200</mtu></interface></interfaces></configuration></config>",
        )
        m.validate(source="candidate")
        m.commit(confirmed=True, timeout="600")
        assert dev.pending_confirm
        m.commit()
        m.unlock(target="candidate")
        assert _mtu(dev) == "9200" and not dev.pending_confirm
        data = m.get_config(source="running").data_xml
        assert "<mtu>9200</mtu>" in data


def test_a_wrong_host_key_is_refused(dev: JunosDevice, tmp_path: Path) -> None:
    with JunosDevice() as other:
        (tmp_path / "known_hosts").write_text(other.host_key.known_hosts_line(dev.host, dev.port) + "\n")
        cfg = tmp_path / "ssh_config"
        cfg.write_text(f"Host *\n  UserKnownHostsFile {tmp_path / 'known_hosts'}\n")
        with pytest.raises(SSHError, match="Unknown host key"):
            manager.connect(
                host=dev.host, port=dev.port, username=dev.username, password=dev.password,
                hostkey_verify=True, ssh_config=str(cfg), look_for_keys=False, allow_agent=False, timeout=5,
            )


def test_many_devices_in_one_process(tmp_path: Path) -> None:
    devices = [JunosDevice(f"system {{ host-name d{i}; }}").start() for i in range(20)]
    try:
        assert len({d.port for d in devices}) == 20
        drv = _napalm(devices[7])
        drv.load_merge_candidate(config="set system host-name changed")
        drv.commit_config()
        drv.close()
        assert "host-name changed;" in devices[7].running_text()
        assert all(f"host-name d{i};" in d.running_text() for i, d in enumerate(devices) if i != 7)
    finally:
        for d in devices:
            d.stop()


# ------------------------------------------------------------------ faults


def test_refused_commit(dev: JunosDevice) -> None:
    dev.faults.refuse_commit = "commit failed: (injected) statement not supported"
    drv = _napalm(dev)
    try:
        drv.load_merge_candidate(config="set interfaces et-0/0/48 mtu 9100")
        with pytest.raises(CommitError, match="injected"):
            drv.commit_config(revert_in=60)
        assert _mtu(dev) == "9216" and not dev.pending_confirm
    finally:
        drv.close()


@pytest.mark.parametrize("when", ["before", "after"])
def test_connection_dropped_mid_commit(fast: JunosDevice, when: str) -> None:
    dev = fast
    dev.faults.drop_on_commit = when
    drv = _napalm(dev)
    drv.load_merge_candidate(config="set interfaces et-0/0/48 mtu 9100")
    with pytest.raises(Exception):  # noqa: B017 - PyEZ/ncclient surface the closed session in several ways
        drv.commit_config(revert_in=60)
    assert any(_mtu_of(r.tree) == "9100" for r in dev.history) is (when == "after")
    deadline = time.time() + 10
    while (dev.lock_owner is not None or dev.pending_confirm) and time.time() < deadline:
        time.sleep(0.05)
    assert dev.lock_owner is None  # the dropped session's lock went with it
    assert _mtu(dev) == "9216"  # an unconfirmed commit reverted on its own


def test_lock_held_by_someone_else(dev: JunosDevice) -> None:
    dev.faults.hold_lock = True
    drv = _napalm(dev)
    try:
        with pytest.raises(LockError, match="locked by"):
            drv.load_merge_candidate(config="set interfaces et-0/0/48 mtu 9100")
        dev.faults.hold_lock = False
        drv.load_merge_candidate(config="set interfaces et-0/0/48 mtu 9100")
        drv.discard_config()
    finally:
        drv.close()


def test_rejected_line_at_load_and_at_commit(dev: JunosDevice) -> None:
    dev.faults.reject_line = "set protocols bgp group underlay neighbor 10.0.2.9"
    drv = _napalm(dev)
    try:
        with pytest.raises(MergeConfigException, match=r"10\.0\.2\.9"):
            drv.load_merge_candidate(config="set protocols bgp group underlay neighbor 10.0.2.9 peer-as 65000")
        with pytest.raises(ReplaceConfigException, match=r"10\.0\.2\.9"):
            drv.load_replace_candidate(config=LEAF1.replace("neighbor 10.0.2.2 {", "neighbor 10.0.2.9 {"))
        assert drv.compare_config() == ""
        dev.faults.reject_at = "commit"
        drv.load_merge_candidate(config="set protocols bgp group underlay neighbor 10.0.2.9 peer-as 65000")
        with pytest.raises(CommitError, match=r"10\.0\.2\.9"):
            drv.commit_config()
        drv.discard_config()
    finally:
        drv.close()
    assert "10.0.2.9" not in dev.running_text()


def test_latency_is_added_to_every_rpc(dev: JunosDevice, tmp_path: Path) -> None:
    dev.faults.latency = 0.2
    with _nc(dev, tmp_path) as m:
        start = time.monotonic()
        m.lock()
        m.unlock()
        assert time.monotonic() - start >= 0.4


def test_lost_management_address_after_commit(fast: JunosDevice, tmp_path: Path) -> None:
    dev = fast
    dev.faults.lose_address_after_commit = True
    m = _nc(dev, tmp_path, timeout=1)
    m.load_configuration(action="set", config="set interfaces et-0/0/48 mtu 9100")
    m.commit(confirmed=True, timeout="60")  # the answer still arrives
    assert not dev.reach.up and any(_mtu_of(r.tree) == "9100" for r in dev.history)
    with pytest.raises(TimeoutExpiredError):
        m.commit()  # the confirmation never arrives
    # the device's own timer keeps running while it is unreachable
    deadline = time.time() + 10
    while dev.pending_confirm and time.time() < deadline:
        time.sleep(0.05)
    assert _mtu(dev) == "9216"
    m._session.close()
    with socket.create_connection((dev.host, dev.port), timeout=1) as sock:
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            sock.recv(100)  # no SSH banner: nothing answers on the address
    dev.restore_address()
    with _nc(dev, tmp_path) as m:
        assert "mtu 9216;" in m.get_configuration(format="text").xpath("//configuration-text")[0].text


def test_sessions_down_after_commit(dev: JunosDevice, tmp_path: Path) -> None:
    with _nc(dev, tmp_path) as m:
        states = m.rpc(to_ele("<get-bgp-summary-information/>")).xpath("//peer-state/text()")
        assert states and set(states) == {"Established"}
        dev.faults.sessions_down_after_commit = True
        m.load_configuration(action="set", config="set interfaces et-0/0/48 mtu 9100")
        m.commit()
        states = m.rpc(to_ele("<get-bgp-summary-information/>")).xpath("//peer-state/text()")
        assert set(states) == {"Active"}
