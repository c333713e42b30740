"""`fabric plan`: writes the ledger, --frozen for CI, --json, --prune."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fabric.cli import main

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / "tests" / "errors" / "base"


@pytest.fixture
def inv(tmp_path: Path) -> Path:
    d = tmp_path / "inv"
    shutil.copytree(BASE, d)
    return d


def test_plan_writes_then_frozen_passes(inv: Path) -> None:
    r = CliRunner().invoke(main, ["plan", str(inv), "--frozen"])
    assert r.exit_code == 1 and "not up to date" in r.output
    assert not (inv / "allocations.yaml").exists()
    r = CliRunner().invoke(main, ["plan", str(inv)])
    assert r.exit_code == 0, r.output
    assert "+ loopback spine1 = 10.0.0.1" in r.output
    assert "written" in r.output
    text = (inv / "allocations.yaml").read_text()
    r = CliRunner().invoke(main, ["plan", str(inv), "--frozen"])
    assert r.exit_code == 0 and "up to date" in r.output
    assert (inv / "allocations.yaml").read_text() == text


def test_plan_json_and_prune(inv: Path) -> None:
    assert CliRunner().invoke(main, ["plan", str(inv)]).exit_code == 0
    fabric_yaml = inv / "fabric.yaml"
    fabric_yaml.write_text(fabric_yaml.read_text().replace(
        "  - {name: border1, role: border, platform: junos, model: qfx5120-48y, mgmt: 192.168.0.31/24, site: dc1}\n", ""))
    r = CliRunner().invoke(main, ["plan", str(inv), "--json", "--dry-run"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["changed"] is False  # stale entries stay: the file would not change
    stale = {(c["section"], c["key"]) for c in doc["changes"] if c["action"] == "stale"}
    assert ("loopback", "border1") in stale and ("p2p", "border1--spine2") in stale
    assert doc["counts"]["loopback"]["stale"] == 1
    r = CliRunner().invoke(main, ["plan", str(inv), "--prune", "--frozen", "--json"])
    assert r.exit_code == 1
    r = CliRunner().invoke(main, ["plan", str(inv), "--prune"])
    assert r.exit_code == 0 and "(freed)" in r.output
    assert "border1" not in (inv / "allocations.yaml").read_text()


@pytest.mark.parametrize("name", ["shownet2024", "lab"])
def test_example_inventories_are_planned(name: str) -> None:
    r = CliRunner().invoke(main, ["plan", str(REPO / "inventories" / name), "--frozen"])
    assert r.exit_code == 0, r.output
