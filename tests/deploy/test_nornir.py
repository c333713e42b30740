"""The Nornir inventory plugin, found through its entry point like any Nornir plugin."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from nornir import InitNornir
from nornir.core.filter import F

ROOT = Path(__file__).resolve().parents[2]


def test_nornir_sees_the_fabric(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inv = tmp_path / "inv"
    shutil.copytree(ROOT / "inventories/shownet2024", inv)
    (inv / "deploy.yaml").write_text("deploy:\n  devices:\n    leaf3:\n      port: 8443\n      options:\n"
                                     "        transport: http\n", encoding="utf-8")
    monkeypatch.setenv("FABRIC_USERNAME", "ops")
    monkeypatch.setenv("FABRIC_PASSWORD", "nornir-secret")
    nr = InitNornir(inventory={"plugin": "LeafspineInventory", "options": {"inventory": str(inv)}},
                    runner={"plugin": "serial"}, logging={"enabled": False})
    hosts = nr.inventory.hosts
    assert len(hosts) == 10
    leaf3 = hosts["leaf3"]
    assert (leaf3.hostname, leaf3.port, leaf3.platform, leaf3.username) == ("172.16.0.23", 8443, "nxos", "ops")
    assert leaf3.password == "nornir-secret"
    assert {k: leaf3[k] for k in ("role", "pod", "rack", "pair")} == {"role": "leaf", "pod": "pod1", "rack": "r2",
                                                                       "pair": "leaf4"}
    assert leaf3.get_connection_parameters("napalm").extras["optional_args"] == {"transport": "http", "port": 8443}
    assert hosts["leaf1"].get_connection_parameters("netconf").extras["device_params"] == {"name": "junos"}
    assert sorted(nr.filter(role="spine").inventory.hosts) == ["spine1", "spine2"]
    assert sorted(nr.filter(F(groups__contains="role:border")).inventory.hosts) == ["border1", "border2"]
    assert hosts["border1"]["pair"] == "border2"
