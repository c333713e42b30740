"""The live-fabric CLI's wiring: ``deploy --lab`` joins an existing ``deploy`` instead of
replacing it, and ``validate`` without ``--lab`` reads the switches."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.testing import CliRunner

from fabric.cli import main
from fabric.cli_lab import register

ROOT = Path(__file__).resolve().parents[2]


def test_lab_option_joins_an_existing_deploy_command() -> None:
    @click.group()
    def group() -> None: ...

    @group.command("deploy")
    @click.argument("inventory")
    @click.option("--parallel", default=1)
    def engine(inventory: str, parallel: int) -> None:
        click.echo(f"engine {inventory} {parallel}")

    register(group)
    assert group.commands["deploy"].callback is not None
    assert [p.name for p in group.commands["deploy"].params] == ["inventory", "parallel", "lab_name"]
    result = CliRunner().invoke(group, ["deploy", "inv", "--parallel", "3"])
    assert result.exit_code == 0 and result.output == "engine inv 3\n"
    assert {"lab", "validate"} <= set(group.commands)


def test_fabric_has_lab_deploy_and_validate() -> None:
    assert {"lab", "deploy", "validate"} <= set(main.commands)
    assert "--lab" in CliRunner().invoke(main, ["deploy", "--help"]).output
    lab = main.commands["lab"]
    assert isinstance(lab, click.Group) and {"up", "down", "status"} <= set(lab.commands)


def test_validate_without_a_lab_reads_the_switches() -> None:
    """Without --lab the switches are read through their deploy drivers: here inventories/lab's
    FRR routers, which do not run outside a lab, so every check fails with the cause."""
    result = CliRunner().invoke(main, ["validate", str(ROOT / "inventories" / "lab"), "--json", "--device", "leaf1"])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.output)
    assert doc["lab"] is None and not doc["ok"] and doc["checks"]
    assert {c["device"] for c in doc["checks"]} == {"leaf1"}
    assert all(c["status"] == "fail" for c in doc["checks"])
    scoped = CliRunner().invoke(main, ["validate", str(ROOT / "inventories" / "lab"), "--lab", "x", "--role", "leaf"])
    assert scoped.exit_code == 2 and "do not apply to --lab" in scoped.output
