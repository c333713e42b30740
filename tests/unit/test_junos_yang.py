"""Every Junos device's XML validates against Juniper's published QFX YANG (23.4R1).

All files go to ONE ``yanglint`` run (it validates each data file separately unless told
to merge them), so the schema is loaded once: a few seconds for every example fabric.

The schema is read from ``../shared/reference`` beside the project (``LEAFSPINE_SHARED``
names another folder, e.g. ``/work/shared`` for a worktree one level deeper). Where that
folder is absent the tests skip with the reason, except in CI (``CI=true``), where it is
always present: there they fail. A folder that is there but broken (no ``.yang`` module in
it) or a missing ``yanglint`` (installed by ``make setup``) always fails.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import fabric
from fabric.render.junos import JunosRenderer

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("LEAFSPINE_SHARED") or ROOT.parent / "shared")
YANG = SHARED / "reference" / "junos-yang-qfx-23.4R1"
IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")
INVENTORIES = ["shownet2024", "shownet2024-dci"]


def _write_junos_xml(inventory: Path, out: Path, prefix: str) -> list[Path]:
    renderer = JunosRenderer()
    written = []
    for name, intent in fabric.load(inventory).design().items():
        if intent.platform != "junos":
            continue
        path = out / f"{prefix}-{name}.xml"
        path.write_text(renderer.render(intent)["xml"], encoding="utf-8")
        written.append(path)
    return written


def _junos_only_inventory(out: Path) -> Path:
    """A small all-Junos fabric: the only example with Junos spines."""
    path = ROOT / "tests" / "bench" / "gen_fabric.py"
    spec = importlib.util.spec_from_file_location("gen_fabric", path)
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_fabric", gen)
    spec.loader.exec_module(gen)
    gen.write(out, spines=2, leaves=4, svis=3, vrfs=2, tenants=1, platforms=["junos"])
    return out


def _yanglint(files: list[Path]) -> subprocess.CompletedProcess[str]:
    modules = sorted(str(p) for p in YANG.glob("*.yang"))
    return subprocess.run(
        ["yanglint", "-p", str(YANG), *modules, *(str(f) for f in files)],
        capture_output=True, text=True, timeout=300, check=False,
    )


@pytest.fixture
def yang() -> Path:
    """The YANG folder: skip where it is absent (fail in CI), fail where it is broken."""
    if not YANG.exists():
        why = f"Juniper's YANG is not at {YANG} (../shared/reference beside the project, or LEAFSPINE_SHARED)"
        if IN_CI:
            pytest.fail(f"{why}; CI always has it")
        pytest.skip(why)
    if not any(YANG.glob("*.yang")):
        pytest.fail(f"{YANG} is there but holds no .yang module")
    if shutil.which("yanglint") is None:
        pytest.fail("yanglint (Debian package libyang2-tools, installed by `make setup`) is missing")
    return YANG


def test_every_junos_xml_validates_against_juniper_yang(yang: Path, tmp_path: Path) -> None:
    files: list[Path] = []
    for name in INVENTORIES:
        files += _write_junos_xml(ROOT / "inventories" / name, tmp_path, name)
    files += _write_junos_xml(_junos_only_inventory(tmp_path / "junos-only"), tmp_path, "junos-only")
    names = {f.name for f in files}
    # the examples' Junos devices: server leaves, border leaves (with and without DCI), spines
    assert {"shownet2024-leaf1.xml", "shownet2024-border1.xml", "shownet2024-dci-dc1-border1.xml",
            "junos-only-spine1.xml"} <= names
    result = _yanglint(files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "err" not in result.stderr.lower(), result.stderr


def test_yanglint_rejects_xml_off_the_schema(yang: Path, tmp_path: Path) -> None:
    """The check above can fail: an element the schema lacks is an error."""
    good = _write_junos_xml(ROOT / "inventories" / "shownet2024", tmp_path, "x")[0]
    bad = tmp_path / "bad.xml"
    bad.write_text(good.read_text().replace("<no-nexthop-change/>", "<no-next-hop-change/>", 1))
    assert bad.read_text() != good.read_text()
    result = _yanglint([bad])
    assert result.returncode != 0
    assert "no-next-hop-change" in result.stderr
