"""``fabric build``: determinism, minimal rewrites, stale files, the ledger gate, and the
acceptance rule "changing one network's VLAN changes only the files of the leaves that
carry it"."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import fabric
from fabric.build import CONFIG_DIR, INTENT_DIR
from fabric.buildcache import MANIFEST
from fabric.cli import main
from fabric.errors import LedgerError
from fabric.files import write_if_changed
from fabric.render.base import RendererRegistry, render_all, render_each, select_renderers

ROOT = Path(__file__).resolve().parents[2]
INVENTORIES = ROOT / "inventories"


def snapshot(folder: Path) -> dict[str, str]:
    """relative path -> sha256 of every file under ``folder``, but the build cache's
    manifest (it records this folder's file stamps, so no two folders share it)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def copy_inventory(name: str, tmp: Path) -> Path:
    dst = tmp / name
    shutil.copytree(INVENTORIES / name, dst)
    return dst


def replan(path: Path) -> None:
    fab = fabric.load(path)
    fab.write_plan(fab.plan())


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("name", ["shownet2024", "lab"])
def test_two_builds_are_byte_identical_and_a_rebuild_writes_nothing(tmp_path: Path, name: str) -> None:
    a = fabric.load(INVENTORIES / name).build(tmp_path / "a")
    fabric.load(INVENTORIES / name).build(tmp_path / "b")
    sa, sb = snapshot(tmp_path / "a"), snapshot(tmp_path / "b")
    assert sa == sb and sa
    assert any(k.startswith(f"{CONFIG_DIR}/") for k in sa) and any(k.startswith(f"{INTENT_DIR}/") for k in sa)
    assert a.files > 0 and a.lines > 0 and not a.skipped
    # configs and intent are rewritten only when they change (exports write their own files)
    mtimes = {p: p.stat().st_mtime_ns for sub in (CONFIG_DIR, INTENT_DIR) for p in (tmp_path / "a" / sub).iterdir()}
    again = fabric.load(INVENTORIES / name).build(tmp_path / "a")
    assert again.written == [] and again.removed == []
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    assert snapshot(tmp_path / "a") == sa


def test_build_writes_every_device_and_format(tmp_path: Path) -> None:
    fab = fabric.load(INVENTORIES / "shownet2024")
    fab.build(tmp_path)
    names = [s.name for s in fab.inventory.switches()]
    assert sorted(p.name for p in (tmp_path / INTENT_DIR).iterdir()) == sorted(f"{n}.json" for n in names)
    configs = {p.name for p in (tmp_path / CONFIG_DIR).iterdir()}
    rendered = fab.render()
    assert configs == {f"{d}.{ext}" for d, r in rendered.items() for ext in r.files}
    assert rendered["leaf1"].text == (tmp_path / CONFIG_DIR / f"leaf1.{rendered['leaf1'].main}").read_text()


def test_files_of_removed_devices_are_removed(tmp_path: Path) -> None:
    inv = copy_inventory("lab", tmp_path)
    out = tmp_path / "out"
    fabric.load(inv).build(out)
    assert (out / INTENT_DIR / "leaf4.json").exists()
    fab_yaml = inv / "fabric.yaml"
    # leaf4 goes, and with it the external router cabled to it (the last section of the file)
    text = fab_yaml.read_text().split("\nexternal_routers:")[0]
    fab_yaml.write_text("\n".join(line for line in text.splitlines() if "name: leaf4" not in line) + "\n")
    k8s = inv / "kubernetes.yaml"
    k8s.write_text("\n".join(line for line in k8s.read_text().splitlines() if "leaf: leaf4" not in line) + "\n")
    replan(inv)
    result = fabric.load(inv).build(out)
    assert not list(out.glob("*/leaf4.*")) and not list((out / CONFIG_DIR).glob(".*"))
    assert {p.name for p in result.removed} >= {"leaf4.json"}
    assert (out / INTENT_DIR / "leaf3.json").exists()


def test_write_if_changed(tmp_path: Path) -> None:
    p = tmp_path / "x" / "f.txt"
    assert write_if_changed(p, "a\n") is True
    assert write_if_changed(p, "a\n") is False
    assert write_if_changed(p, "b\n") is True
    assert p.read_text() == "b\n" and [q.name for q in p.parent.iterdir()] == ["f.txt"]


def test_platforms_without_renderer_are_skipped_not_failed() -> None:
    intents = fabric.load(INVENTORIES / "lab").design()
    rendered, skipped = render_all(intents, RendererRegistry(builtin={}, group=None))
    assert rendered == {} and set(skipped) == set(intents)
    assert all("no renderer for platform frr" in why for why in skipped.values())


# --------------------------------------------------------------------------- the ledger gate and the CLI


def test_build_refuses_a_ledger_that_plan_would_change(tmp_path: Path) -> None:
    inv = copy_inventory("lab", tmp_path)
    t = inv / "tenants.yaml"
    t.write_text(t.read_text() + "      - {name: extra, vrf: blue, gateway4: 10.1.30.1/24}\n")
    out = tmp_path / "out"
    with pytest.raises(LedgerError, match=r"not up to date \(2 added\): run `fabric plan"):
        fabric.load(inv).build(out)
    assert not out.exists()
    r = CliRunner().invoke(main, ["build", str(inv), "-o", str(out)])
    assert r.exit_code == 2 and "fabric plan" in r.output and not out.exists()
    replan(inv)
    r = CliRunner().invoke(main, ["build", str(inv), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert re.search(r"lab: 6 devices \(6 frr\), 6 config files, \d+ lines", r.output)


def test_cli_build_on_a_broken_inventory_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    inv = copy_inventory("lab", tmp_path)
    f = inv / "fabric.yaml"
    f.write_text(f.read_text().replace("mtu: 9216", "mtu: 9216\n  colour: blue"))
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["build", str(inv), "-o", str(out)])
    assert r.exit_code == 2
    assert "fabric.colour: unknown key" in r.output and "nothing was written" in r.output
    assert not out.exists()


# --------------------------------------------------------------------------- one network's VLAN


def test_changing_one_networks_vlan_changes_only_the_files_of_its_leaves(tmp_path: Path) -> None:
    inv = copy_inventory("shownet2024", tmp_path)
    before, after = tmp_path / "before", tmp_path / "after"
    fabric.load(inv).build(before)
    t = inv / "tenants.yaml"
    text = t.read_text()
    assert "      - name: exh-storage\n" in text
    t.write_text(text.replace("      - name: exh-storage\n", "      - name: exh-storage\n        vlan: 3000\n"))
    replan(inv)
    fab = fabric.load(inv)
    carriers = {d for d, i in fab.design().items() if any(v.name == "exh-storage" for v in i.vnis)}
    assert carriers == {"leaf3", "leaf4"}
    fab.build(after)
    a, b = snapshot(before), snapshot(after)
    assert set(a) == set(b)
    changed = {k for k in a if a[k] != b[k]}
    per_device = {k for k in changed if k.startswith((f"{CONFIG_DIR}/", f"{INTENT_DIR}/"))}
    assert per_device, "the VLAN change did not reach any config"
    devices = {Path(k).name.split(".")[0] for k in per_device}
    assert devices == carriers
    # both leaves changed in every format they have
    for d in carriers:
        assert {k for k in a if Path(k).name.split(".")[0] == d and k.startswith(CONFIG_DIR)} <= changed
    # exports may change their fabric-wide pages, never another device's page
    docs = {Path(k).stem for k in changed if k.startswith("docs/")}
    assert docs <= carriers | {"index"}


def test_a_failure_half_way_changes_nothing(tmp_path: Path) -> None:
    from fabric.build import write_build
    from fabric.design.intent import DeviceIntent

    class Flaky:
        platform = "frr"
        formats = ("frr.conf",)

        def render(self, intent: DeviceIntent) -> dict[str, str]:
            if intent.device.name == "leaf3":
                raise RuntimeError("template bug")
            return {"frr.conf": f"new {intent.device.name}\n"}

        def render_main(self, intent: DeviceIntent) -> str:
            return self.render(intent)["frr.conf"]

    fab = fabric.load(INVENTORIES / "lab")
    out = tmp_path / "out"
    fab.build(out)
    before = snapshot(out)
    reg = RendererRegistry(builtin={}, group=None)
    reg.register(Flaky())
    with pytest.raises(RuntimeError, match="template bug"):
        designed = fab.designed()
        renderers, skipped = select_renderers(designed.devices, reg)
        write_build(designed, render_each(designed.devices, renderers), out, skipped)
    assert snapshot(out) == before  # no temp file left, no file replaced


def test_cli_build_design_error_exits_2(tmp_path: Path) -> None:
    from tests.bench.gen_fabric import write

    inv = tmp_path / "inv"
    write(inv, spines=2, leaves=4, svis=2, vrfs=1, platforms=("junos", "nxos"))
    replan(inv)
    ledger = inv / "allocations.yaml"
    ledger.write_text(ledger.read_text().replace('"leaf4": 4\n', '"leaf4": 40\n'))
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["build", str(inv), "-o", str(out)])
    assert r.exit_code == 2, r.output
    # located like every input problem: FILE:LINE: path: message (the spine's model)
    line = next(ln for ln in r.output.splitlines() if "has no downlink number 40" in ln)
    assert re.fullmatch(r".*fabric\.yaml:\d+: spines\[0\]\.model: default cabling: spine1 \(n9k-9332c\) has no "
                        r"downlink number 40 .*", line), line
    assert not out.exists()


def test_cli_build_stale_ledger_is_one_located_problem(tmp_path: Path) -> None:
    from tests.bench.gen_fabric import write

    inv = tmp_path / "inv"
    write(inv, spines=2, leaves=4, svis=2, vrfs=1, platforms=("junos", "nxos"))
    replan(inv)
    ledger = inv / "allocations.yaml"
    ledger.write_text(ledger.read_text().replace('  "leaf4": 4\n', ""))
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["build", str(inv), "-o", str(out), "--json"])
    assert r.exit_code == 2, r.output
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and len(doc["problems"]) == 1
    p = doc["problems"][0]
    assert p["file"] == str(ledger) and "not up to date (1 added)" in p["message"]
    assert f"{ledger}: <root>: not up to date (1 added): run `fabric plan" in r.stderr
    assert not out.exists()
