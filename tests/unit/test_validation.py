"""Every validation rule has a golden bad-inventory case (tests/errors/<case>/)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.errors.regen import ROOT, cases, run_case

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("case", cases())
def test_error_case(case: str, tmp_path: Path) -> None:
    expected = (ROOT / case / "expected.txt").read_text()
    assert expected.strip() and expected != "NO ERROR\n", f"case {case} must expect errors"
    assert run_case(case, tmp_path) == expected


def test_every_case_has_expectations() -> None:
    for case in cases():
        assert (ROOT / case / "expected.txt").exists(), case


def test_base_is_valid(tmp_path: Path) -> None:
    from fabric.inventory import load_inventory

    inv = load_inventory(ROOT / "base").inventory
    assert [s.name for s in inv.spines] == ["spine1", "spine2"]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fabric.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("command", ["check", "plan"])
def test_cli_reports_all_problems_exit_2_no_traceback_nothing_written(command: str, tmp_path: Path) -> None:
    case = "many_problems_at_once"
    run_case(case, tmp_path)  # leaves tmp_path/inv in place
    r = _cli(command, "inv", cwd=tmp_path)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr + r.stdout
    expected = (ROOT / case / "expected.txt").read_text().splitlines()
    lines = r.stderr.splitlines()
    assert lines[: len(expected)] == expected
    assert "problem(s)" in lines[-1]
    assert not (tmp_path / "inv" / "allocations.yaml").exists()


def test_missing_folder_is_an_input_error(tmp_path: Path) -> None:
    r = _cli("check", str(tmp_path / "nope"), cwd=tmp_path)
    assert r.returncode == 2
    assert "inventory folder does not exist" in r.stderr
