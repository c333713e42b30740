"""Targets: addresses, drivers and credentials from the deploy section, env and a file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import fabric
from fabric.deploy.targets import resolve_targets, select
from fabric.errors import DeployError, InventoryError

ROOT = Path(__file__).resolve().parents[2]


def _inv(tmp_path: Path, deploy_yaml: str) -> Path:
    inv = tmp_path / "inv"
    shutil.copytree(ROOT / "inventories/shownet2024", inv)
    (inv / "deploy.yaml").write_text(deploy_yaml, encoding="utf-8")
    return inv


def test_password_in_the_inventory_is_refused(tmp_path: Path) -> None:
    inv = _inv(tmp_path, "deploy:\n  devices:\n    leaf1:\n      host: 127.0.0.1\n      options:\n        password: hunter22\n")
    with pytest.raises(InventoryError) as e:
        fabric.load(inv)
    text = str(e.value)
    assert "deploy.yaml:1: deploy: devices.leaf1.options.password: credentials never go in the inventory" in text
    assert "hunter22" not in text


def test_defaults_env_and_credentials_file(tmp_path: Path) -> None:
    inv = _inv(tmp_path, (
        "deploy:\n  credentials: ../creds.yaml\n  known_hosts: kh\n  timeout: 7\n  drivers:\n    junos: netconf\n"
        "  devices:\n    leaf1:\n      host: 127.0.0.1\n      port: 8301\n      driver: napalm\n"
    ))
    (tmp_path / "creds.yaml").write_text(
        "username: ops\npassword: file-secret\ndevices:\n  spine1:\n    password: spine-secret\n", encoding="utf-8")
    fab = fabric.load(inv)
    t = resolve_targets(fab.inventory, fab.path, env={})
    assert (t["leaf1"].connection.host, t["leaf1"].connection.port, t["leaf1"].driver) == ("127.0.0.1", 8301, "napalm")
    assert (t["leaf2"].connection.host, t["leaf2"].driver) == ("172.16.0.22", "netconf")
    assert t["spine1"].driver == "napalm" and t["spine1"].connection.password == "spine-secret"
    assert t["spine1"].connection.username == "ops"
    assert t["leaf2"].connection.password == "file-secret" and t["leaf2"].connection.timeout == 7
    assert t["leaf2"].connection.known_hosts == "kh"
    assert (t["leaf1"].role, t["border1"].role, t["spine1"].role) == ("leaf", "border", "spine")
    assert (t["leaf1"].pair, t["leaf1"].rack, t["leaf1"].pod) == ("leaf2", "r1", "pod1")
    assert "file-secret" not in repr(t) and "spine-secret" not in repr(t)
    env = resolve_targets(fab.inventory, fab.path, env={"FABRIC_PASSWORD": "env-secret"}, host_key_check=False)
    assert env["leaf2"].connection.password == "env-secret" and env["leaf2"].connection.username == "ops"
    assert env["leaf2"].connection.known_hosts is None


def test_missing_credentials_file_names_the_file_not_a_secret(tmp_path: Path) -> None:
    inv = _inv(tmp_path, "deploy:\n  credentials: nope.yaml\n")
    fab = fabric.load(inv)
    with pytest.raises(DeployError, match=r"credentials file .*nope\.yaml: cannot read it"):
        resolve_targets(fab.inventory, fab.path, env={})


def test_select_by_device_and_role() -> None:
    fab = fabric.load(ROOT / "inventories/shownet2024")
    t = resolve_targets(fab.inventory, fab.path, env={})
    assert list(select(t, devices=["leaf3"])) == ["leaf3"]
    assert list(select(t, roles=["spine"])) == ["spine1", "spine2"]
    assert list(select(t, devices=["leaf1"], roles=["border"])) == ["leaf1", "border1", "border2"]
    with pytest.raises(DeployError, match="unknown device"):
        select(t, devices=["nope"])
